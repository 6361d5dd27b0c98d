"""/join <code>: a registered user applies to become a member (skills, building)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc
from bot.models import N_, Building, Skill, User
from bot.services.errors import InvalidInput
from handlers.building_picker import BuildingPicker, PageButton
from handlers.buttons import Button, StaleButton, button
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Next, dialogue, step
from handlers.profile import SkillButton, skill_rows

# --- buttons -------------------------------------------------------------------------------


@button("join:skill")
class ToggleJoinSkill(SkillButton):
    pass


@button("join:skills:done")
class JoinSkillsDone(Button):
    pass


@button("join:bld")
class ServeInBuilding(Button):
    building_id: int


@button("join:bld:pg")
class ServeInBuildingPage(PageButton):
    pass


# --- dialogue ------------------------------------------------------------------------------


class JoinDialogue(StrEnum):
    CODE = "code"
    SKILLS = "skills"
    BUILDING = "building"


class JoinDraft(DialogueDraft):
    KEY: ClassVar[str] = "join"
    code: str = ""
    skills: list[Skill] = Field(default_factory=list)


def _draft(context: LinliContext) -> JoinDraft:
    """The application being written; a button pressed after it ended is stale."""
    draft = JoinDraft.load(context)
    if not draft.code:
        raise StaleButton()
    return draft


@step()
async def join(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    if not context.args:  # "🚩 Party member check-in" pressed: the code is asked for
        await answer(
            update,
            t(
                "🚩 <b>Party member check-in</b>\nPlease type the invite code you got from the "
                "community staff (e.g. ABCD2345)."
            ),
        )
        return JoinDialogue.CODE
    return await _with_code(update, context, user, t, context.args[0])


@step()
async def typed_code(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    return await _with_code(update, context, user, t, (update.message.text or "").strip())


async def _with_code(
    update: Update, context: LinliContext, user: User, t: Translate, typed: str
) -> Next:
    code = typed[:32]
    await context.services.membership.check_invite(user, code)
    JoinDraft(code=code, skills=sorted(user.skills)).save(context)
    await answer(
        update,
        t("Welcome! What can you help with? Choose one or more skills, then press Done."),
        skill_rows(t, set(user.skills), ToggleJoinSkill, JoinSkillsDone),
    )
    return JoinDialogue.SKILLS


@step()
async def toggled_skill(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    skill = ToggleJoinSkill.of(update).skill
    draft = _draft(context)
    chosen = set(draft.skills) ^ {skill}
    draft.skills = sorted(chosen)
    draft.save(context)
    await ack(update)
    await answer(
        update,
        t("Welcome! What can you help with? Choose one or more skills, then press Done."),
        skill_rows(t, chosen, ToggleJoinSkill, JoinSkillsDone),
        edit=True,
    )
    return JoinDialogue.SKILLS


@step()
async def skills_done(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    draft = _draft(context)
    if not draft.skills:
        raise InvalidInput(N_("Please choose at least one skill."))
    await ack(update)
    buildings = await _buildings(context, user)
    if not buildings:
        return await _submit(update, context, user, t, draft, None)
    return await _show_buildings(update, t, buildings, 0)


async def _buildings(context: LinliContext, user: User) -> list[Building]:
    if user.community_id is None:
        return []
    return await context.services.users.buildings(user.community_id)


PICKER = BuildingPicker(
    choose=lambda b: ServeInBuilding(building_id=b.id).pack(),
    turn=lambda page: ServeInBuildingPage(page=page).pack(),
)


async def _show_buildings(
    update: Update, t: Translate, buildings: list[Building], page: int
) -> Next:
    note, rows = PICKER.page(t, buildings, page)
    question = t("Which building will you serve in?")
    await answer(update, question + ("\n" + note if note else ""), rows, edit=True)
    return JoinDialogue.BUILDING


@step()
async def turned_page(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    page = ServeInBuildingPage.of(update).page
    _draft(context)
    await ack(update)
    return await _show_buildings(update, t, await _buildings(context, user), page)


@step()
async def searched_building(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    assert update.message is not None
    _draft(context)
    text, rows = PICKER.found(t, await _buildings(context, user), update.message.text or "")
    await answer(update, text, rows)
    return JoinDialogue.BUILDING


@step()
async def chose_building(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    building_id = ServeInBuilding.of(update).building_id
    draft = _draft(context)
    building = await context.services.users.building(building_id)
    if building is None or building.archived:
        raise InvalidInput(N_("Please choose a building from the list."))
    await ack(update)
    return await _submit(update, context, user, t, draft, building_id)


async def _submit(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    draft: JoinDraft,
    building_id: int | None,
) -> Next:
    await context.services.membership.apply(
        user, draft.code, skills=set(draft.skills), building_id=building_id
    )
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
    text = filters.TEXT & ~filters.COMMAND & private
    conversation = dialogue(
        "join",
        entry_points=[CommandHandler("join", join, filters=private)],
        states={
            JoinDialogue.CODE: [MessageHandler(text, typed_code)],
            JoinDialogue.SKILLS: [
                CallbackQueryHandler(toggled_skill, pattern=ToggleJoinSkill.pattern()),
                CallbackQueryHandler(skills_done, pattern=JoinSkillsDone.pattern()),
            ],
            JoinDialogue.BUILDING: [
                CallbackQueryHandler(chose_building, pattern=ServeInBuilding.pattern()),
                CallbackQueryHandler(turned_page, pattern=ServeInBuildingPage.pattern()),
                MessageHandler(text, searched_building),
            ],
        },
        drafts=[JoinDraft],
        reentry=[CommandHandler("join", join, filters=private)],
    )
    return [conversation]
