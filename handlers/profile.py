"""/profile: see and change name, building, room, phone, language, notifications, quiet hours,
and (members) skills."""

from __future__ import annotations

import dataclasses
import re
from enum import StrEnum
from typing import ClassVar

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import LANGUAGES, Translate, esc, translator
from bot.models import N_, SKILL_LABELS, Skill, User
from bot.services.errors import InvalidInput, NotAllowed
from handlers.buttons import Button, StaleButton, button
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Next, dialogue, step
from handlers.home import show_home
from handlers.person_steps import BuildingButton, PersonSteps, Who
from handlers.start import LANGUAGE_LABELS

# --- buttons -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SkillButton(Button):
    """Base of a dialogue's skill toggle button (profile, /join)."""

    skill: Skill


@button("prof:name")
class EditName(Button):
    pass


@button("prof:building")
class EditBuilding(Button):
    pass


@button("prof:room")
class EditRoom(Button):
    pass


@button("prof:phone")
class EditPhone(Button):
    pass


@button("prof:language")
class EditLanguage(Button):
    pass


@button("prof:quiet")
class EditQuietHours(Button):
    pass


@button("prof:announce")
class ToggleAnnouncements(Button):
    pass


@button("prof:skills")
class EditSkills(Button):
    pass


@button("prof:sharephone")
class ToggleSharePhone(Button):
    pass


@button("prof:close")
class CloseProfile(Button):
    pass


@button("prof:lang")
class SetLanguage(Button):
    language: str


@button("prof:bld")
class ProfileBuilding(BuildingButton):
    pass


@button("prof:clear:room")
class RemoveRoom(Button):
    pass


@button("prof:clear:phone")
class RemovePhone(Button):
    pass


@button("prof:skill")
class ToggleProfileSkill(SkillButton):
    pass


@button("prof:skills:done")
class ProfileSkillsDone(Button):
    pass


# --- dialogue ------------------------------------------------------------------------------


class ProfileDialogue(StrEnum):
    MENU = "menu"
    NAME = "name"
    BUILDING = "building"
    ROOM = "room"
    PHONE = "phone"
    QUIET = "quiet"
    SKILLS = "skills"


class ProfileDraft(DialogueDraft):
    KEY: ClassVar[str] = "profile"
    skills: list[Skill] | None = None  # None: start from the saved skills


N_QUIET = N_("Please type the hours like 22:00-07:00.")
QUIET_PATTERN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~到至]\s*(\d{1,2}):(\d{2})\s*$")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def skill_rows(
    t: Translate, selected: set[Skill], toggle: type[SkillButton], done: type[Button]
) -> list[list[tuple[str, str]]]:
    """Toggle buttons for the skills list (✓ marks chosen ones), then Done."""
    rows: list[list[tuple[str, str]]] = []
    skills = list(Skill)
    for i in range(0, len(skills), 2):
        rows.append(
            [
                (("✓ " if s in selected else "") + t(SKILL_LABELS[s]), toggle(skill=s).pack())
                for s in skills[i : i + 2]
            ]
        )
    rows.append([(t("Done"), done().pack())])
    return rows


async def _card(update: Update, context: LinliContext, user: User, *, edit: bool = False) -> Next:
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
        lines.append(
            t("Phone shown to residents I help: {value}").format(
                value=t("on") if user.share_phone else t("off")
            )
        )
    rows = [
        [(t("Name"), EditName().pack()), (t("Building"), EditBuilding().pack())],
        [(t("Room"), EditRoom().pack()), (t("Phone"), EditPhone().pack())],
        [(t("Language"), EditLanguage().pack()), (t("Quiet hours"), EditQuietHours().pack())],
        [
            (
                t("Turn announcements off") if user.announcements else t("Turn announcements on"),
                ToggleAnnouncements().pack(),
            )
        ],
    ]
    if user.is_member:
        rows.append([(t("Skills"), EditSkills().pack())])
        share = (
            t("Stop showing my phone to residents I help")
            if user.share_phone
            else t("Show my phone to residents I help")
        )
        rows.append([(share, ToggleSharePhone().pack())])
    rows.append([(t("Close"), CloseProfile().pack())])
    await answer(update, "\n".join(lines), rows, edit=edit)
    return ProfileDialogue.MENU


@step()
async def show(update: Update, context: LinliContext, user: User, _t: Translate) -> Next:
    return await _card(update, context, user)


# --- the menu ------------------------------------------------------------------------------


@step()
async def edit_name(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await ack(update)
    await PERSON.ask_name(update, t)
    return ProfileDialogue.NAME


@step()
async def edit_building(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    if not await PERSON.ask_building(update, context, t, user.community_id):
        await answer(update, t("No buildings have been set up yet."))
        return ProfileDialogue.MENU
    return ProfileDialogue.BUILDING


@step()
async def edit_room(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await ack(update)
    await PERSON.ask_room(update, t)
    return ProfileDialogue.ROOM


@step()
async def edit_phone(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await ack(update)
    await PERSON.ask_phone(update, t)
    return ProfileDialogue.PHONE


@step()
async def edit_language(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await ack(update)
    await answer(
        update,
        t("Please choose your language."),
        [[(LANGUAGE_LABELS[code], SetLanguage(language=code).pack()) for code in LANGUAGES]],
    )
    return ProfileDialogue.MENU


@step()
async def edit_quiet_hours(
    update: Update, context: LinliContext, _user: User, t: Translate
) -> Next:
    await ack(update)
    await answer(
        update,
        t(
            "When should I not disturb you? Type it like 22:00-07:00. Urgent requests still "
            "arrive."
        ),
    )
    return ProfileDialogue.QUIET


@step()
async def toggle_announcements(
    update: Update, context: LinliContext, user: User, _t: Translate
) -> Next:
    await ack(update)
    user = await context.services.users.update_profile(
        user.id, announcements=not user.announcements
    )
    return await _card(update, context, user, edit=True)


@step()
async def toggle_share_phone(
    update: Update, context: LinliContext, user: User, _t: Translate
) -> Next:
    if not user.is_member:
        raise NotAllowed()
    await ack(update)
    user = await context.services.users.update_profile(user.id, share_phone=not user.share_phone)
    return await _card(update, context, user, edit=True)


@step()
async def edit_skills(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    if not user.is_member:
        raise NotAllowed()
    await ack(update)
    ProfileDraft(skills=sorted(user.skills)).save(context)
    await answer(
        update,
        t("Choose your skills:"),
        skill_rows(t, set(user.skills), ToggleProfileSkill, ProfileSkillsDone),
    )
    return ProfileDialogue.SKILLS


@step()
async def close(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("Profile closed."), edit=True)
    return END


# --- answers -------------------------------------------------------------------------------


async def _save(update: Update, context: LinliContext, user: User, **changes: object) -> Next:
    user = await context.services.users.update_profile(user.id, **changes)  # type: ignore[arg-type]
    await show_home(update, context, user, translator(user.language)("Saved."))
    return await _card(update, context, user)


async def _named(
    update: Update, context: LinliContext, user: User | None, _t: Translate, name: str
) -> Next:
    assert user is not None
    return await _save(update, context, user, display_name=name)


async def _housed(
    update: Update, context: LinliContext, user: User | None, _t: Translate, building: int | None
) -> Next:
    assert user is not None and building is not None  # profile offers no "not listed"
    return await _save(update, context, user, building_id=building)


async def _roomed(
    update: Update, context: LinliContext, user: User | None, _t: Translate, room: str | None
) -> Next:
    assert user is not None
    if room is None:
        return await _save(update, context, user, clear_room=True)
    return await _save(update, context, user, room=room)


async def _phoned(
    update: Update, context: LinliContext, user: User | None, _t: Translate, phone: str | None
) -> Next:
    assert user is not None
    if phone is None:
        return await _save(update, context, user, clear_phone=True)
    return await _save(update, context, user, phone=phone)


PERSON = PersonSteps(
    who=Who.SELF,
    building=ProfileBuilding,
    skip_room=RemoveRoom,
    skip_phone=RemovePhone,
    on_name=_named,
    on_building=_housed,
    on_room=_roomed,
    on_phone=_phoned,
)


@step()
async def chose_language(update: Update, context: LinliContext, user: User, _t: Translate) -> Next:
    language = SetLanguage.of(update).language
    if language not in LANGUAGES:
        raise StaleButton()
    await ack(update)
    return await _save(update, context, user, language=language)


@step()
async def typed_quiet(update: Update, context: LinliContext, user: User, _t: Translate) -> Next:
    assert update.message is not None
    match = QUIET_PATTERN.match(update.message.text or "")
    if match is None:
        raise InvalidInput(N_QUIET)
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise InvalidInput(N_QUIET)
    return await _save(update, context, user, quiet_hours=(h1 * 60 + m1, h2 * 60 + m2))


@step()
async def toggled_skill(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    skill = ToggleProfileSkill.of(update).skill
    draft = ProfileDraft.load(context)
    chosen = set(user.skills if draft.skills is None else draft.skills) ^ {skill}
    draft.skills = sorted(chosen)
    draft.save(context)
    await ack(update)
    await answer(
        update,
        t("Choose your skills:"),
        skill_rows(t, chosen, ToggleProfileSkill, ProfileSkillsDone),
        edit=True,
    )
    return ProfileDialogue.SKILLS


@step()
async def skills_done(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    if not user.is_member:
        raise NotAllowed()
    draft = ProfileDraft.load(context)
    await ack(update)
    chosen = set(user.skills if draft.skills is None else draft.skills)
    user = await context.services.users.set_skills(user.id, chosen)
    ProfileDraft.clear(context)
    await answer(update, t("Saved."), edit=True)
    return await _card(update, context, user)


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    menu = [
        CallbackQueryHandler(callback, pattern=pressed.pattern())
        for callback, pressed in (
            (edit_name, EditName),
            (edit_building, EditBuilding),
            (edit_room, EditRoom),
            (edit_phone, EditPhone),
            (edit_language, EditLanguage),
            (edit_quiet_hours, EditQuietHours),
            (toggle_announcements, ToggleAnnouncements),
            (edit_skills, EditSkills),
            (toggle_share_phone, ToggleSharePhone),
            (close, CloseProfile),
            (chose_language, SetLanguage),
        )
    ]
    conversation = dialogue(
        "profile",
        entry_points=[CommandHandler("profile", show, filters=private)],
        states={
            ProfileDialogue.MENU: menu,
            ProfileDialogue.NAME: PERSON.name_handlers(),
            ProfileDialogue.BUILDING: PERSON.building_handlers(),
            ProfileDialogue.ROOM: PERSON.room_handlers(),
            ProfileDialogue.PHONE: PERSON.phone_handlers(),
            ProfileDialogue.QUIET: [MessageHandler(text, typed_quiet)],
            ProfileDialogue.SKILLS: [
                CallbackQueryHandler(toggled_skill, pattern=ToggleProfileSkill.pattern()),
                CallbackQueryHandler(skills_done, pattern=ProfileSkillsDone.pattern()),
            ],
        },
        drafts=[ProfileDraft],
        reentry=[CommandHandler("profile", show, filters=private)],
    )
    return [conversation]
