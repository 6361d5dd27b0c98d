"""/join <code>: a registered user applies to become a member (skills, building)."""

from __future__ import annotations

from enum import IntEnum

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, esc
from bot.models import N_, Skill, User
from bot.services.errors import InvalidInput, LinliError
from handlers.callbacks import data, pattern
from handlers.common import (
    END,
    ack,
    answer,
    as_user,
    leave_for_command,
    refuse,
    require_user,
    use_buttons,
)
from handlers.context import LinliContext
from handlers.help import cancel
from handlers.profile import skill_rows


class JoinDialogue(IntEnum):
    SKILLS = 1
    BUILDING = 2


@as_user()
async def join(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    if not context.args:
        await answer(
            update, t("Please send /join followed by your invite code, e.g. /join ABCD2345.")
        )
        return END
    code = context.args[0][:32]
    try:
        await context.services.membership.check_invite(user, code)
    except LinliError as error:
        await refuse(update, t, error)
        return END
    assert context.user_data is not None
    context.user_data["join"] = {"code": code, "skills": sorted(s.value for s in user.skills)}
    await answer(
        update,
        t("Welcome! What can you help with? Choose one or more skills, then press Done."),
        skill_rows(t, set(user.skills), "join"),
    )
    return JoinDialogue.SKILLS


@as_user()
async def toggled_skill(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    assert context.matches and context.user_data is not None
    draft = context.user_data.get("join")
    await ack(update)
    if draft is None:
        return END
    try:
        skill = Skill(context.matches[0].group(1))
    except ValueError:
        return JoinDialogue.SKILLS
    chosen = set(draft["skills"]) ^ {skill.value}
    draft["skills"] = sorted(chosen)
    await answer(
        update,
        t("Welcome! What can you help with? Choose one or more skills, then press Done."),
        skill_rows(t, {Skill(s) for s in chosen}, "join"),
        edit=True,
    )
    return JoinDialogue.SKILLS


@as_user()
async def skills_done(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    assert context.user_data is not None
    draft = context.user_data.get("join")
    if draft is None:
        await ack(update)
        return END
    if not draft["skills"]:
        await refuse(update, t, InvalidInput(N_("Please choose at least one skill.")))
        return JoinDialogue.SKILLS
    await ack(update)
    buildings = await context.services.users.buildings()
    if not buildings:
        return await _submit(update, context, None)
    rows = [[(b.name, data("join", "bld", b.id))] for b in buildings]
    await answer(update, t("Which building will you serve in?"), rows, edit=True)
    return JoinDialogue.BUILDING


async def chose_building(update: Update, context: LinliContext) -> int:
    assert context.matches
    await ack(update)
    return await _submit(update, context, int(context.matches[0].group(1)))


async def _submit(update: Update, context: LinliContext, building_id: int | None) -> int:
    found = await require_user(update, context)
    if found is None:
        return END
    user, t = found
    assert context.user_data is not None
    draft = context.user_data.get("join")
    if draft is None:
        return END
    try:
        if building_id is not None and (
            (b := await context.services.users.building(building_id)) is None or b.archived
        ):
            raise InvalidInput(N_("Please choose a building from the list."))
        await context.services.membership.apply(
            user,
            draft["code"],
            skills={Skill(s) for s in draft["skills"]},
            building_id=building_id,
        )
    except LinliError as error:
        await refuse(update, t, error)
        context.user_data.pop("join", None)
        return END
    context.user_data.pop("join", None)
    await answer(
        update,
        t(
            "Thank you, {name}! Your application was sent. A coordinator will look at it soon "
            "and I will tell you the outcome."
        ).format(name=esc(user.display_name)),
        edit=True,
    )
    return END


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    private = filters.ChatType.PRIVATE
    conversation: ConversationHandler[LinliContext] = ConversationHandler(
        entry_points=[CommandHandler("join", join, filters=private)],
        states={
            JoinDialogue.SKILLS: [
                CallbackQueryHandler(toggled_skill, pattern=pattern("join", "skill", "(word)")),
                CallbackQueryHandler(skills_done, pattern=pattern("join", "skills", "done")),
            ],
            JoinDialogue.BUILDING: [
                CallbackQueryHandler(chose_building, pattern=pattern("join", "bld", "(int)"))
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CommandHandler("join", join, filters=private),
            MessageHandler(filters.COMMAND & private, leave_for_command),
            MessageHandler(private & ~filters.COMMAND, use_buttons),
        ],
        name="join",
        persistent=True,
        allow_reentry=True,
    )
    return [conversation]
