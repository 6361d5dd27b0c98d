"""/profile: see and change name, building, room, phone, language, notifications, quiet hours,
and (members) skills."""

from __future__ import annotations

import re
from enum import IntEnum

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import LANGUAGES, Translate, esc, translator
from bot.models import N_, SKILL_LABELS, Skill, User
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
    viewer,
)
from handlers.context import LinliContext
from handlers.help import cancel
from handlers.start import LANGUAGE_LABELS


class ProfileDialogue(IntEnum):
    MENU = 1
    NAME = 2
    BUILDING = 3
    ROOM = 4
    PHONE = 5
    QUIET = 6
    SKILLS = 7


N_QUIET = N_("Please type the hours like 22:00-07:00.")
QUIET_PATTERN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~到至]\s*(\d{1,2}):(\d{2})\s*$")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def skill_rows(t: Translate, selected: set[Skill], prefix: str) -> list[list[tuple[str, str]]]:
    """Toggle buttons for the skills list (✓ marks chosen ones); `prefix` names the dialogue."""
    rows: list[list[tuple[str, str]]] = []
    skills = list(Skill)
    for i in range(0, len(skills), 2):
        rows.append(
            [
                (
                    ("✓ " if s in selected else "") + t(SKILL_LABELS[s]),
                    data(prefix, "skill", s.value),
                )
                for s in skills[i : i + 2]
            ]
        )
    rows.append([(t("Done"), data(prefix, "skills", "done"))])
    return rows


async def _card(update: Update, context: LinliContext, user: User, *, edit: bool = False) -> int:
    t = translator(user.language)
    building = (
        await context.services.users.building(user.building_id) if user.building_id else None
    )
    lines = [
        t("<b>Your profile</b>"),
        t("Name: {value}").format(value=esc(user.display_name)),
        t("Building: {name}").format(name=esc(building.name) if building else "—"),
        t("Room: {value}").format(value=esc(user.room) if user.room else "—"),
        t("Phone: {value}").format(value=esc(user.phone) if user.phone else "—"),
        t("Language: {value}").format(value=LANGUAGE_LABELS.get(user.language, user.language)),
        t("Announcements: {value}").format(value=t("on") if user.announcements else t("off")),
        t("Quiet hours: {start}–{end}").format(
            start=_hhmm(user.quiet_start), end=_hhmm(user.quiet_end)
        ),
    ]
    if user.is_member:
        skills = ", ".join(t(SKILL_LABELS[s]) for s in sorted(user.skills)) or "—"
        lines.append(t("Skills: {value}").format(value=skills))
    rows = [
        [(t("Name"), data("prof", "name")), (t("Building"), data("prof", "building"))],
        [(t("Room"), data("prof", "room")), (t("Phone"), data("prof", "phone"))],
        [(t("Language"), data("prof", "language")), (t("Quiet hours"), data("prof", "quiet"))],
        [
            (
                t("Turn announcements off") if user.announcements else t("Turn announcements on"),
                data("prof", "announce"),
            )
        ],
    ]
    if user.is_member:
        rows.append([(t("Skills"), data("prof", "skills"))])
    rows.append([(t("Close"), data("prof", "close"))])
    await answer(update, "\n".join(lines), rows, edit=edit)
    return ProfileDialogue.MENU


async def show(update: Update, context: LinliContext) -> int:
    found = await require_user(update, context)
    if found is None:
        return END
    return await _card(update, context, found[0])


@as_user()
async def menu(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert context.matches
    choice = context.matches[0].group(1)
    await ack(update)
    if choice == "name":
        await answer(update, t("Please type your new name."))
        return ProfileDialogue.NAME
    if choice == "building":
        rows = [
            [(b.name, data("prof", "bld", b.id))] for b in await context.services.users.buildings()
        ]
        if not rows:
            await answer(update, t("No buildings have been set up yet."))
            return ProfileDialogue.MENU
        await answer(update, t("Which building do you live in?"), rows)
        return ProfileDialogue.BUILDING
    if choice == "room":
        await answer(
            update,
            t("Please type your room number, for example 3-201."),
            [[(t("Remove my room number"), data("prof", "clear", "room"))]],
        )
        return ProfileDialogue.ROOM
    if choice == "phone":
        markup = ReplyKeyboardMarkup(
            [[KeyboardButton(t("Share my phone number"), request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        chat = update.effective_chat
        assert chat is not None
        await chat.send_message(
            t("Share your number with the button, or type it."),
            reply_markup=markup,
            parse_mode=ParseMode.HTML,
        )
        await answer(
            update,
            t("Or remove it:"),
            [[(t("Remove my phone number"), data("prof", "clear", "phone"))]],
        )
        return ProfileDialogue.PHONE
    if choice == "language":
        await answer(
            update,
            t("Please choose your language."),
            [[(LANGUAGE_LABELS[code], data("prof", "lang", code)) for code in LANGUAGES]],
        )
        return ProfileDialogue.MENU
    if choice == "quiet":
        await answer(
            update,
            t(
                "When should I not disturb you? Type it like 22:00-07:00. Urgent requests still "
                "arrive."
            ),
        )
        return ProfileDialogue.QUIET
    if choice == "announce":
        user = await context.services.users.update_profile(
            user.id, announcements=not user.announcements
        )
        return await _card(update, context, user, edit=True)
    if choice == "skills" and user.is_member:
        assert context.user_data is not None
        context.user_data["profile_skills"] = sorted(s.value for s in user.skills)
        await answer(update, t("Choose your skills:"), skill_rows(t, set(user.skills), "prof"))
        return ProfileDialogue.SKILLS
    if choice == "close":
        await answer(update, t("Profile closed."), edit=True)
        return END
    return ProfileDialogue.MENU


async def _save(update: Update, context: LinliContext, **changes: object) -> int:
    found = await require_user(update, context)
    if found is None:
        return END
    user, t = found
    try:
        user = await context.services.users.update_profile(user.id, **changes)  # type: ignore[arg-type]
    except LinliError as error:
        await refuse(update, t, error)
        return _state_for(changes)
    await answer(update, translator(user.language)("Saved."), remove_keyboard=True)
    return await _card(update, context, user)


def _state_for(changes: dict[str, object]) -> int:
    if "display_name" in changes:
        return ProfileDialogue.NAME
    if "room" in changes:
        return ProfileDialogue.ROOM
    if "phone" in changes:
        return ProfileDialogue.PHONE
    if "quiet_hours" in changes:
        return ProfileDialogue.QUIET
    return ProfileDialogue.MENU


async def typed_name(update: Update, context: LinliContext) -> int:
    assert update.message is not None and update.message.text is not None
    return await _save(update, context, display_name=update.message.text)


async def chose_building(update: Update, context: LinliContext) -> int:
    assert context.matches
    await ack(update)
    return await _save(update, context, building_id=int(context.matches[0].group(1)))


async def typed_room(update: Update, context: LinliContext) -> int:
    assert update.message is not None and update.message.text is not None
    return await _save(update, context, room=update.message.text)


async def cleared(update: Update, context: LinliContext) -> int:
    assert context.matches
    await ack(update)
    field = context.matches[0].group(1)
    return await _save(update, context, **{f"clear_{field}": True})


async def typed_phone(update: Update, context: LinliContext) -> int:
    assert update.message is not None and update.message.text is not None
    return await _save(update, context, phone=update.message.text)


async def shared_contact(update: Update, context: LinliContext) -> int:
    assert update.message is not None and update.message.contact is not None
    contact = update.message.contact
    if update.effective_user is None or contact.user_id != update.effective_user.id:
        _, t = await viewer(update, context)
        await answer(update, t("Please share your own number with the button below."))
        return ProfileDialogue.PHONE
    return await _save(update, context, phone=contact.phone_number)


async def chose_language(update: Update, context: LinliContext) -> int:
    assert context.matches
    await ack(update)
    return await _save(update, context, language=context.matches[0].group(1))


async def typed_quiet(update: Update, context: LinliContext) -> int:
    assert update.message is not None and update.message.text is not None
    match = QUIET_PATTERN.match(update.message.text)
    if match is None:
        _, t = await viewer(update, context)
        await refuse(update, t, InvalidInput(N_QUIET))
        return ProfileDialogue.QUIET
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        _, t = await viewer(update, context)
        await refuse(update, t, InvalidInput(N_QUIET))
        return ProfileDialogue.QUIET
    return await _save(update, context, quiet_hours=(h1 * 60 + m1, h2 * 60 + m2))


@as_user()
async def toggled_skill(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    assert context.matches and context.user_data is not None
    try:
        skill = Skill(context.matches[0].group(1))
    except ValueError:
        await ack(update)
        return ProfileDialogue.SKILLS
    chosen = set(context.user_data.get("profile_skills", []))
    chosen ^= {skill.value}
    context.user_data["profile_skills"] = sorted(chosen)
    await ack(update)
    await answer(
        update,
        t("Choose your skills:"),
        skill_rows(t, {Skill(s) for s in chosen}, "prof"),
        edit=True,
    )
    return ProfileDialogue.SKILLS


@as_user()
async def skills_done(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert context.user_data is not None
    await ack(update)
    if not user.is_member:
        await refuse(update, t, LinliError())
        return END
    chosen = {Skill(s) for s in context.user_data.pop("profile_skills", [])}
    user = await context.services.users.set_skills(user.id, chosen)
    await answer(update, t("Saved."), edit=True)
    return await _card(update, context, user)


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    conversation: ConversationHandler[LinliContext] = ConversationHandler(
        entry_points=[CommandHandler("profile", show, filters=private)],
        states={
            ProfileDialogue.MENU: [
                CallbackQueryHandler(chose_language, pattern=pattern("prof", "lang", "(word)")),
                CallbackQueryHandler(menu, pattern=pattern("prof", "(word)")),
            ],
            ProfileDialogue.NAME: [MessageHandler(text, typed_name)],
            ProfileDialogue.BUILDING: [
                CallbackQueryHandler(chose_building, pattern=pattern("prof", "bld", "(int)"))
            ],
            ProfileDialogue.ROOM: [
                MessageHandler(text, typed_room),
                CallbackQueryHandler(cleared, pattern=r"^prof:clear:(room|phone)$"),
            ],
            ProfileDialogue.PHONE: [
                MessageHandler(filters.CONTACT & private, shared_contact),
                MessageHandler(text, typed_phone),
                CallbackQueryHandler(cleared, pattern=r"^prof:clear:(room|phone)$"),
            ],
            ProfileDialogue.QUIET: [MessageHandler(text, typed_quiet)],
            ProfileDialogue.SKILLS: [
                CallbackQueryHandler(toggled_skill, pattern=pattern("prof", "skill", "(word)")),
                CallbackQueryHandler(skills_done, pattern=pattern("prof", "skills", "done")),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CommandHandler("profile", show, filters=private),
            MessageHandler(filters.COMMAND & private, leave_for_command),
            MessageHandler(private & ~filters.COMMAND, use_buttons),
        ],
        name="profile",
        persistent=True,
        allow_reentry=True,
    )
    return [conversation]
