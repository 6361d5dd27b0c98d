"""The 📚 学习 section of /admin for coordinators: the sessions to come, scheduling one in a
few steps (title, topic, local date and time, how long or until when, place or online link,
material — a document sent here or a link —, audience, once / weekly / monthly, then a card
to check and save), and a session's card: the attendance, the check-in code to show at the
session, cancelling it.

Every step re-asks the service, which checks the role and the reach again; the draft's token
names the one scheduling, so Save pressed twice schedules once."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.i18n import Translate, esc, format_local
from bot.models import N_, STUDY_AUDIENCE_LABELS, Building, Recurrence, Role, StudyAudience, User
from bot.services.errors import InvalidInput
from bot.services.reminders import parse_local_moment
from bot.services.slots import EndBeforeStart, SlotInPast
from bot.services.study import REPEATS, SessionDraft
from handlers.building_picker import BuildingPicker, page_button
from handlers.buttons import Button, StaleButton
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import (
    END,
    AnyHandler,
    Callback,
    DialogueDraft,
    Next,
    dialogue,
    presses,
    step,
)
from handlers.study.buttons import (
    AdminCard,
    CancelConfirmed,
    CancelSession,
    ChooseAudience,
    ChooseRepeat,
    DropSession,
    Length,
    NewSession,
    SaveSession,
    SessionBuilding,
    ShowCode,
    SkipStep,
    StudyMenu,
)
from handlers.study.qr import check_in_link, qr_png
from handlers.study.views import admin_card, admin_list, repeat_label, when_text

Handlers = list[BaseHandler[Update, LinliContext, object]]
coordinator_step = step(Role.COORDINATOR)
LENGTHS = (60, 90, 120, 180)  # minutes offered on buttons
_CLOCK = re.compile(r"^(\d{1,2})\s*[:：点]\s*(\d{2})?\s*分?$")
_MINUTES = re.compile(r"^(\d{1,3})\s*(?:分钟|分|min|minutes?)?$", re.IGNORECASE)
_YEAR = re.compile(r"\d{4}")
# A date typed without its year that has passed this year is read as next year's: so far
# ahead, it is far more likely a slip (yesterday's date) than a plan, so the year is asked for.
FAR_AHEAD = timedelta(days=183)


class SessionDialogue(StrEnum):
    MENU = "menu"
    TITLE = "title"
    TOPIC = "topic"
    WHEN = "when"
    LENGTH = "length"
    WHERE = "where"
    MATERIAL = "material"
    AUDIENCE = "audience"
    BUILDING = "building"
    REPEAT = "repeat"
    CONFIRM = "confirm"


class SessionForm(DialogueDraft):
    KEY: ClassVar[str] = "study_session"
    title: str = ""
    topic: str | None = None
    starts_at: datetime | None = None
    minutes: int = 0
    place: str | None = None
    link: str | None = None
    material_file_id: str | None = None
    material_name: str | None = None
    material_link: str | None = None
    audience: StudyAudience = StudyAudience.MEMBERS
    building_id: int | None = None
    building_name: str | None = None
    recurrence: Recurrence = Recurrence.ONCE
    token: str = ""


def _cancel_row(t: Translate) -> list[tuple[str, str]]:
    return [(t("Cancel"), DropSession().pack())]


# --- the section ------------------------------------------------------------------------------


@coordinator_step
async def section(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    sessions = await context.services.study.coordinated(user, context.working_community)
    await ack(update)
    text, rows = admin_list(t, sessions, user.language, context.services.settings.zone)
    await answer(update, text, rows, edit=update.callback_query is not None)
    return SessionDialogue.MENU


@coordinator_step
async def open_card(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = AdminCard.of(update).slot_id
    await ack(update)
    await _show_card(update, context, user, t, slot_id, edit=True)
    return SessionDialogue.MENU


async def _show_card(
    update: Update, context: LinliContext, user: User, t: Translate, slot_id: int, *, edit: bool
) -> None:
    roll = await context.services.study.roll(user, slot_id)
    building = None
    if roll.session.slot.building_id is not None:
        found = await context.services.admin.all_buildings(user, roll.session.slot.community_id)
        building = next((b.name for b in found if b.id == roll.session.slot.building_id), None)
    text, rows = admin_card(t, roll, user.language, context.services.settings.zone, building)
    await answer(update, text, rows, edit=edit)


@coordinator_step
async def show_code(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    study = context.services.study
    session, code = await study.code(user, ShowCode.of(update).slot_id)
    opens, closes = study.window(session)
    zone, language = context.services.settings.zone, user.language
    await ack(update)
    text = t(
        "📚 {title}\nCheck-in code: <b>{code}</b>\n"
        "Valid from {opens} to {closes}. Show it at the session: members press Check in and "
        "type it, or send /attend {code}."
    ).format(
        title=esc(session.title),
        code=code,
        opens=format_local(opens, language, zone),
        closes=format_local(closes, language, zone),
    )
    await answer(update, text)
    chat = update.effective_chat
    if chat is not None:
        link = check_in_link(context.bot.username, session.slot.id, code)
        caption = t("Or let them scan this with their phone's camera: it checks them in.")
        await context.bot.send_photo(chat.id, qr_png(link), caption=caption)
    return SessionDialogue.MENU


@coordinator_step
async def cancel_asked(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = CancelSession.of(update).slot_id
    session = await context.services.study.session(user, slot_id)
    await ack(update)
    when = when_text(session, user.language, context.services.settings.zone)
    await answer(
        update,
        t(
            "Cancel “{title}” on {when}? Those attending and those who have not answered are told."
        ).format(title=esc(session.title), when=when),
        [
            [(t("Yes, cancel it"), CancelConfirmed(slot_id=slot_id).pack())],
            [(t("« Back"), AdminCard(slot_id=slot_id).pack())],
        ],
        edit=True,
    )
    return SessionDialogue.MENU


@coordinator_step
async def cancel_confirmed(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    slot_id = CancelConfirmed.of(update).slot_id
    await context.services.study.cancel(user, slot_id)
    await ack(update, t("The session is cancelled."))
    await _show_card(update, context, user, t, slot_id, edit=True)
    return SessionDialogue.MENU


@coordinator_step
async def dropped(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("Cancelled. Nothing was scheduled."), edit=True)
    return END


# --- scheduling ---------------------------------------------------------------------------


@coordinator_step
async def new_session(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    SessionForm(token=secrets.token_hex(4)).save(context)
    await ack(update)
    await answer(
        update,
        t("What is the session's title? For example: 小家庭党校 or 主题党日."),
        [_cancel_row(t)],
    )
    return SessionDialogue.TITLE


def _text(update: Update) -> str:
    assert update.message is not None
    return " ".join((update.message.text or "").split())


def _plain(update: Update) -> str:
    """The typed text with full-width digits and signs made plain (for dates and times)."""
    return " ".join(unicodedata.normalize("NFKC", _text(update)).split())


@coordinator_step
async def typed_title(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    title = _text(update)
    if not title or len(title) > 120:
        raise InvalidInput(N_("Please give a title of at most 120 characters."))
    SessionForm.change(context, title=title)
    await answer(
        update,
        t("What is the topic? A line or two, or press Skip."),
        [[(t("Skip"), SkipStep().pack())], _cancel_row(t)],
    )
    return SessionDialogue.TOPIC


async def _ask_when(update: Update, t: Translate) -> Next:
    await answer(
        update,
        t("When does it start? Type the date and time, like {example}.").format(
            example="12-03 19:00"
        ),
        [_cancel_row(t)],
    )
    return SessionDialogue.WHEN


@coordinator_step
async def typed_topic(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    SessionForm.change(context, topic=_text(update)[:1000] or None)
    return await _ask_when(update, t)


@coordinator_step
async def skipped_topic(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    SessionForm.change(context, topic=None)
    await ack(update)
    return await _ask_when(update, t)


@coordinator_step
async def typed_when(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    services = context.services
    typed = _plain(update)
    now = services.clock.now()
    starts_at = parse_local_moment(typed, now, services.settings.zone)
    if starts_at <= now:
        raise SlotInPast()
    if starts_at - now > FAR_AHEAD and not _YEAR.search(typed):
        raise InvalidInput(
            N_(
                "That date has passed this year. If you mean next year, please type the year "
                "too, like {example}."
            ),
            example=f"{starts_at.astimezone(services.settings.zone):%Y-%m-%d %H:%M}",
        )
    SessionForm.change(context, starts_at=starts_at)
    rows = [
        [
            (t("{hours} h").format(hours=m / 60 if m % 60 else m // 60), Length(minutes=m).pack())
            for m in LENGTHS
        ],
        _cancel_row(t),
    ]
    await answer(
        update,
        t("How long is it? Press a button, or type the end time (like 21:00)."),
        rows,
    )
    return SessionDialogue.LENGTH


async def _ask_where(update: Update, t: Translate) -> Next:
    await answer(
        update,
        t("Where is it? Type the place, or the link of an online session."),
        [_cancel_row(t)],
    )
    return SessionDialogue.WHERE


@coordinator_step
async def pressed_length(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    minutes = Length.of(update).minutes
    if minutes not in LENGTHS:
        raise StaleButton()
    SessionForm.change(context, minutes=minutes)
    await ack(update)
    return await _ask_where(update, t)


@coordinator_step
async def typed_length(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = SessionForm.load(context)
    if form.starts_at is None:
        raise StaleButton()
    typed = _plain(update)
    clock, minutes = _CLOCK.match(typed), _MINUTES.match(typed)
    if clock is not None:
        zone = context.services.settings.zone
        start = form.starts_at.astimezone(zone)
        try:
            end = start.replace(hour=int(clock.group(1)), minute=int(clock.group(2) or 0))
        except ValueError:
            raise InvalidInput(N_("There is no such date or time. Please check it.")) from None
        if end <= start:
            raise EndBeforeStart()
        length = int((end - start) / timedelta(minutes=1))
    elif minutes is not None:
        length = int(minutes.group(1))
    else:
        raise InvalidInput(N_("Please type the end time like 21:00, or press a button."))
    if not 0 < length <= 12 * 60:
        raise EndBeforeStart()
    SessionForm.change(context, minutes=length)
    return await _ask_where(update, t)


@coordinator_step
async def typed_where(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    where = _text(update)
    if not where:
        raise InvalidInput(N_("Please give a place or an online link for the session."))
    if where.lower().startswith(("http://", "https://")):
        SessionForm.change(context, link=where[:500], place=None)
    else:
        SessionForm.change(context, place=where[:200], link=None)
    await answer(
        update,
        t("Any material? Send a document, or type a link, or press Skip."),
        [[(t("Skip"), SkipStep().pack())], _cancel_row(t)],
    )
    return SessionDialogue.MATERIAL


async def _ask_audience(update: Update, t: Translate) -> Next:
    rows = [
        [(t(STUDY_AUDIENCE_LABELS[a]), ChooseAudience(audience=a).pack())] for a in StudyAudience
    ]
    rows.append(_cancel_row(t))
    await answer(update, t("Who is it for?"), rows)
    return SessionDialogue.AUDIENCE


@coordinator_step
async def sent_document(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None and update.message.document is not None
    document = update.message.document
    SessionForm.change(
        context,
        material_file_id=document.file_id,
        material_name=(document.file_name or "")[:200] or None,
        material_link=None,
    )
    return await _ask_audience(update, t)


@coordinator_step
async def typed_material(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    link = _text(update)
    if not link.lower().startswith(("http://", "https://")):
        raise InvalidInput(N_("Please send a document, or a link starting with https://."))
    SessionForm.change(context, material_link=link[:500], material_file_id=None)
    return await _ask_audience(update, t)


@coordinator_step
async def skipped_material(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    SessionForm.change(context, material_link=None, material_file_id=None, material_name=None)
    await ack(update)
    return await _ask_audience(update, t)


async def _buildings(context: LinliContext, user: User) -> list[Building]:
    found = await context.services.admin.all_buildings(user, context.working_community)
    return [b for b in found if not b.archived and user.covers(b.community_id, b.id)]


def _picker() -> BuildingPicker:
    return BuildingPicker(
        choose=lambda b: SessionBuilding(building_id=b.id).pack(),
        turn=lambda page: page_button(SessionBuilding)(page=page).pack(),
    )


async def _show_buildings(
    update: Update, context: LinliContext, user: User, t: Translate, page: int
) -> Next:
    buildings = await _buildings(context, user)
    if not buildings:
        raise InvalidInput(N_("There are no buildings yet. Add them in /admin."))
    note, rows = _picker().page(t, buildings, page, after=[_cancel_row(t)])
    text = t("Which building's members?") + ("\n" + note if note else "")
    await answer(update, text, rows, edit=update.callback_query is not None)
    return SessionDialogue.BUILDING


async def _ask_repeat(update: Update, t: Translate, *, edit: bool) -> Next:
    rows = [[(repeat_label(t, r), ChooseRepeat(recurrence=r).pack())] for r in REPEATS]
    rows.append(_cancel_row(t))
    await answer(update, t("Once, or repeated?"), rows, edit=edit)
    return SessionDialogue.REPEAT


@coordinator_step
async def chose_audience(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    audience = ChooseAudience.of(update).audience
    SessionForm.change(context, audience=audience, building_id=None, building_name=None)
    await ack(update)
    if audience is StudyAudience.BUILDING:
        return await _show_buildings(update, context, user, t, 0)
    return await _ask_repeat(update, t, edit=True)


@coordinator_step
async def turned_buildings(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    await ack(update)
    return await _show_buildings(
        update, context, user, t, page_button(SessionBuilding).of(update).page
    )


@coordinator_step
async def searched_building(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    text, rows = _picker().found(
        t, await _buildings(context, user), _text(update), after=[_cancel_row(t)]
    )
    await answer(update, text, rows)
    return None


@coordinator_step
async def chose_building(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    building_id = SessionBuilding.of(update).building_id
    building = next((b for b in await _buildings(context, user) if b.id == building_id), None)
    if building is None:
        raise InvalidInput(N_("Please choose a building from the list."))
    SessionForm.change(context, building_id=building.id, building_name=building.name)
    await ack(update)
    return await _ask_repeat(update, t, edit=True)


def _confirm_text(t: Translate, form: SessionForm, language: str, context: LinliContext) -> str:
    assert form.starts_at is not None
    zone = context.services.settings.zone
    end = form.starts_at + timedelta(minutes=form.minutes)
    lines = [
        t("<b>Please check the session</b>"),
        f"📚 <b>{esc(form.title)}</b>",
    ]
    if form.topic:
        lines.append(t("Topic: {topic}").format(topic=esc(form.topic)))
    lines.append(
        t("When: {when}").format(
            when=f"{format_local(form.starts_at, language, zone)}–{end.astimezone(zone):%H:%M}"
        )
    )
    if form.place:
        lines.append(t("Where: {place}").format(place=esc(form.place)))
    if form.link:
        lines.append(t("Online: {link}").format(link=esc(form.link)))
    if form.material_link:
        lines.append(t("Material: {link}").format(link=esc(form.material_link)))
    elif form.material_file_id:
        lines.append(
            t("Material: {name} (button below)").format(
                name=esc(form.material_name or t("a document"))
            )
        )
    audience = t(STUDY_AUDIENCE_LABELS[form.audience])
    if form.building_name:
        audience += f" ({esc(form.building_name)})"
    lines.append(t("For: {audience}").format(audience=audience))
    lines.append(t("Repeats: {repeat}").format(repeat=repeat_label(t, form.recurrence)))
    return "\n".join(lines)


@coordinator_step
async def chose_repeat(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    recurrence = ChooseRepeat.of(update).recurrence
    if recurrence not in REPEATS:
        raise StaleButton()
    form = SessionForm.change(context, recurrence=recurrence)
    await ack(update)
    rows = [[(t("💾 Save and tell them"), SaveSession(token=form.token).pack())], _cancel_row(t)]
    await answer(update, _confirm_text(t, form, user.language, context), rows, edit=True)
    return SessionDialogue.CONFIRM


@coordinator_step
async def save(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = SessionForm.load(context)
    if SaveSession.of(update).token != form.token or form.starts_at is None:
        raise StaleButton()
    draft = SessionDraft(
        title=form.title,
        topic=form.topic,
        starts_at=form.starts_at,
        ends_at=form.starts_at + timedelta(minutes=form.minutes),
        place=form.place,
        link=form.link,
        material_file_id=form.material_file_id,
        material_name=form.material_name,
        material_link=form.material_link,
        audience=form.audience,
        building_id=form.building_id,
        community_id=context.working_community,
        recurrence=form.recurrence,
    )
    sessions = await context.services.study.schedule(user, draft)
    SessionForm.clear(context)
    await ack(update, t("Scheduled."))
    text = t("✅ Scheduled: {count} session(s). The audience has been told.").format(
        count=len(sessions)
    )
    await answer(update, text, edit=True)
    await _show_card(update, context, user, t, sessions[0].slot.id, edit=False)
    return SessionDialogue.MENU


@coordinator_step
async def not_text(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    raise InvalidInput(N_("Please type it as a message, or press Cancel."))


def _buttons() -> list[AnyHandler]:
    routes: list[tuple[Callback, type[Button]]] = [
        (section, StudyMenu),
        (new_session, NewSession),
        (open_card, AdminCard),
        (show_code, ShowCode),
        (cancel_asked, CancelSession),
        (cancel_confirmed, CancelConfirmed),
    ]
    return presses(routes)


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    other = ~filters.TEXT & ~filters.COMMAND & private
    buttons = _buttons()
    drop = CallbackQueryHandler(dropped, pattern=DropSession.pattern())
    skip = SkipStep.pattern()

    def asking(*handlers: AnyHandler) -> list[AnyHandler]:
        return [drop, *handlers, *buttons]

    conversation = dialogue(
        "study_admin",
        entry_points=buttons,
        states={
            SessionDialogue.MENU: asking(),
            SessionDialogue.TITLE: asking(
                MessageHandler(text, typed_title), MessageHandler(other, not_text)
            ),
            SessionDialogue.TOPIC: asking(
                MessageHandler(text, typed_topic),
                CallbackQueryHandler(skipped_topic, pattern=skip),
                MessageHandler(other, not_text),
            ),
            SessionDialogue.WHEN: asking(
                MessageHandler(text, typed_when), MessageHandler(other, not_text)
            ),
            SessionDialogue.LENGTH: asking(
                MessageHandler(text, typed_length),
                CallbackQueryHandler(pressed_length, pattern=Length.pattern()),
                MessageHandler(other, not_text),
            ),
            SessionDialogue.WHERE: asking(
                MessageHandler(text, typed_where), MessageHandler(other, not_text)
            ),
            SessionDialogue.MATERIAL: asking(
                MessageHandler(filters.Document.ALL & private, sent_document),
                MessageHandler(text, typed_material),
                CallbackQueryHandler(skipped_material, pattern=skip),
                MessageHandler(other, not_text),
            ),
            SessionDialogue.AUDIENCE: asking(
                CallbackQueryHandler(chose_audience, pattern=ChooseAudience.pattern())
            ),
            SessionDialogue.BUILDING: asking(
                CallbackQueryHandler(chose_building, pattern=SessionBuilding.pattern()),
                CallbackQueryHandler(
                    turned_buildings, pattern=page_button(SessionBuilding).pattern()
                ),
                MessageHandler(text, searched_building),
            ),
            SessionDialogue.REPEAT: asking(
                CallbackQueryHandler(chose_repeat, pattern=ChooseRepeat.pattern())
            ),
            SessionDialogue.CONFIRM: asking(
                CallbackQueryHandler(save, pattern=SaveSession.pattern())
            ),
        },
        drafts=[SessionForm],
    )
    return [conversation]
