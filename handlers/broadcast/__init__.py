"""/broadcast for coordinators: compose (text, or photo/document with caption), choose the
audience, preview exactly as recipients see it, send now or at a local time; list and cancel
scheduled broadcasts; delivery reports."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from enum import StrEnum
from typing import ClassVar

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc, format_local
from bot.models import AudienceKind, Broadcast, BroadcastStatus, Role, User
from bot.services.broadcast import AUDIENCE_LABELS, Draft
from bot.services.errors import InvalidInput
from bot.services.reminders import parse_local_moment
from handlers.broadcast.buttons import (
    AskWhen,
    AudienceBuilding,
    AudienceBuildings,
    AudienceBuildingsPage,
    AudienceSession,
    AudienceSessions,
    AudienceTeam,
    AudienceTeams,
    ChangeAudience,
    ChooseAudience,
    DropBroadcast,
    ListScheduled,
    ListSent,
    SendNow,
    ShowReport,
    ToggleUrgent,
)
from handlers.broadcast.views import announcement, audience_text, report_text
from handlers.building_picker import BuildingPicker, recall, remember
from handlers.buttons import Button
from handlers.common import Buttons, ack, answer, clipped
from handlers.context import LinliContext
from handlers.dialogue import END, AnyHandler, Callback, DialogueDraft, Next, dialogue, step
from handlers.sending import refusal_reason, send_outgoing

# --- dialogue ------------------------------------------------------------------------------


class BroadcastDialogue(StrEnum):
    COMPOSE = "compose"
    CHOOSE = "choose"
    BUILDING = "building"  # the building picker is shown: a typed number finds one
    WHEN = "when"


class ScheduleDraft(DialogueDraft):
    """The announcement whose sending time is being typed."""

    KEY: ClassVar[str] = "broadcast_draft"
    broadcast_id: int | None = None


coordinator_step = step(Role.COORDINATOR)
SIMPLE_AUDIENCES = (
    AudienceKind.EVERYONE,
    AudienceKind.RESIDENTS,
    AudienceKind.MEMBERS,
    AudienceKind.COORDINATORS,
)
SNIPPET = 40


def _snippet(broadcast: Broadcast, t: Translate) -> str:
    if broadcast.text:
        plain = html.unescape(re.sub(r"<[^>]*>", "", broadcast.text)).replace("\n", " ")
        return plain[:SNIPPET] + ("…" if len(plain) > SNIPPET else "")
    return t("(photo)") if broadcast.photo_file_id else t("(document)")


# --- start and compose ---------------------------------------------------------------------


@coordinator_step
async def start(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    typed = update.message.text if update.message and update.message.text else ""
    parts = typed.split(None, 1)
    if len(parts) == 2 and update.callback_query is None:
        # "/broadcast the text": composed in one go (line breaks kept)
        return await _created(update, context, user, t, text=esc(parts[1].strip()))
    await answer(
        update,
        t(
            "<b>New announcement</b>\nSend me the announcement now: text, or a photo or a "
            "document with a caption. /cancel stops."
        ),
        [
            [(t("Scheduled and running"), ListScheduled().pack())],
            [(t("Delivery reports"), ListSent().pack())],
        ],
    )
    return BroadcastDialogue.COMPOSE


@coordinator_step
async def composed_text(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    return await _created(update, context, user, t, text=update.message.text_html)


@coordinator_step
async def composed_media(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    message = update.message
    assert message is not None
    caption = message.caption_html if message.caption else None
    if message.photo:
        return await _created(
            update, context, user, t, text=caption, photo_file_id=message.photo[-1].file_id
        )
    assert message.document is not None
    return await _created(
        update, context, user, t, text=caption, document_file_id=message.document.file_id
    )


@coordinator_step
async def other_content(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await answer(update, t("Please send text, a photo or a document."))
    return BroadcastDialogue.COMPOSE


async def _created(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    *,
    text: str | None,
    photo_file_id: str | None = None,
    document_file_id: str | None = None,
) -> Next:
    draft = await context.services.broadcasts.create_draft(
        user, text=text, photo_file_id=photo_file_id, document_file_id=document_file_id
    )
    await _ask_audience(update, t, draft.broadcast.id, edit=False)
    return BroadcastDialogue.CHOOSE


# --- audience ------------------------------------------------------------------------------


async def _ask_audience(update: Update, t: Translate, broadcast_id: int, *, edit: bool) -> None:
    rows: list[list[tuple[str, str]]] = [
        [(t(AUDIENCE_LABELS[kind]), ChooseAudience(broadcast_id=broadcast_id, kind=kind).pack())]
        for kind in SIMPLE_AUDIENCES
    ]
    rows.append(
        [
            (
                t(AUDIENCE_LABELS[AudienceKind.BUILDING]),
                AudienceBuildings(broadcast_id=broadcast_id).pack(),
            ),
            (
                t(AUDIENCE_LABELS[AudienceKind.TEAM]),
                AudienceTeams(broadcast_id=broadcast_id).pack(),
            ),
        ]
    )
    rows.append(
        [
            (
                t(AUDIENCE_LABELS[AudienceKind.SESSION]),
                AudienceSessions(broadcast_id=broadcast_id).pack(),
            )
        ]
    )
    rows.append([(t("Cancel"), DropBroadcast(broadcast_id=broadcast_id).pack())])
    await answer(update, t("Who should receive this announcement?"), rows, edit=edit)


@coordinator_step
async def change_audience(
    update: Update, context: LinliContext, _user: User, t: Translate
) -> Next:
    await ack(update)
    await _ask_audience(update, t, ChangeAudience.of(update).broadcast_id, edit=True)
    return BroadcastDialogue.CHOOSE


@coordinator_step
async def chose_audience(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = ChooseAudience.of(update)
    if pressed.kind not in SIMPLE_AUDIENCES:
        raise InvalidInput()
    return await _set_audience(update, context, user, t, pressed.broadcast_id, pressed.kind, None)


@coordinator_step
async def list_buildings(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    broadcast_id = AudienceBuildings.of(update).broadcast_id
    return await _show_buildings(update, context, user, t, broadcast_id, 0)


@coordinator_step
async def turned_buildings(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    pressed = AudienceBuildingsPage.of(update)
    return await _show_buildings(update, context, user, t, pressed.broadcast_id, pressed.page)


async def _show_buildings(
    update: Update, context: LinliContext, user: User, t: Translate, broadcast_id: int, page: int
) -> Next:
    buildings = await context.services.broadcasts.buildings(user)
    if not buildings:
        await ack(update, t("There are no buildings yet. Add them in /admin."), alert=True)
        return BroadcastDialogue.CHOOSE
    await ack(update)
    remember(context, AudienceBuilding.PREFIX, broadcast_id)
    note, rows = _picker(broadcast_id).page(t, buildings, page, after=_back_to(t, broadcast_id))
    question = t("Which building?") + ("\n" + note if note else "")
    await answer(update, question, rows, edit=True)
    return BroadcastDialogue.BUILDING


@coordinator_step
async def searched_building(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    assert update.message is not None
    broadcast_id = recall(context, AudienceBuilding.PREFIX)
    if broadcast_id is None:
        await answer(update, t("Please choose with the buttons above."))
        return None
    buildings = await context.services.broadcasts.buildings(user)
    picker = _picker(broadcast_id)
    text, rows = picker.found(
        t, buildings, update.message.text or "", after=_back_to(t, broadcast_id)
    )
    await answer(update, text, rows)
    return None


def _picker(broadcast_id: int) -> BuildingPicker:
    return BuildingPicker(
        choose=lambda b: AudienceBuilding(broadcast_id=broadcast_id, building_id=b.id).pack(),
        turn=lambda page: AudienceBuildingsPage(broadcast_id=broadcast_id, page=page).pack(),
    )


def _back_to(t: Translate, broadcast_id: int) -> Buttons:
    return [[(t("« Back"), ChangeAudience(broadcast_id=broadcast_id).pack())]]


@coordinator_step
async def chose_building(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = AudienceBuilding.of(update)
    return await _set_audience(
        update, context, user, t, pressed.broadcast_id, AudienceKind.BUILDING, pressed.building_id
    )


@coordinator_step
async def list_teams(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    broadcast_id = AudienceTeams.of(update).broadcast_id
    teams = await context.services.broadcasts.teams(user)
    if not teams:
        await ack(update, t("There are no service teams yet."), alert=True)
        return BroadcastDialogue.CHOOSE
    await ack(update)
    rows = [
        [(team.name, AudienceTeam(broadcast_id=broadcast_id, team_id=team.id).pack())]
        for team in teams
    ]
    rows.append([(t("« Back"), ChangeAudience(broadcast_id=broadcast_id).pack())])
    await answer(update, t("Which service team?"), rows, edit=True)
    return BroadcastDialogue.CHOOSE


@coordinator_step
async def chose_team(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = AudienceTeam.of(update)
    return await _set_audience(
        update, context, user, t, pressed.broadcast_id, AudienceKind.TEAM, pressed.team_id
    )


@coordinator_step
async def list_sessions(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    broadcast_id = AudienceSessions.of(update).broadcast_id
    sessions = [s for s in await context.services.study.coordinated(user) if s.slot.open]
    if not sessions:
        await ack(update, t("There are no study sessions to come."), alert=True)
        return BroadcastDialogue.CHOOSE
    await ack(update)
    zone = context.services.settings.zone
    rows = [
        [
            (
                f"{format_local(s.slot.starts_at, user.language, zone)} {clipped(s.title, 24)}",
                AudienceSession(broadcast_id=broadcast_id, slot_id=s.slot.id).pack(),
            )
        ]
        for s in sessions
    ]
    rows.append([(t("« Back"), ChangeAudience(broadcast_id=broadcast_id).pack())])
    await answer(update, t("The audience of which study session?"), rows, edit=True)
    return BroadcastDialogue.CHOOSE


@coordinator_step
async def chose_session(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = AudienceSession.of(update)
    return await _set_audience(
        update, context, user, t, pressed.broadcast_id, AudienceKind.SESSION, pressed.slot_id
    )


async def _set_audience(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    broadcast_id: int,
    kind: AudienceKind,
    ref: int | None,
) -> Next:
    draft = await context.services.broadcasts.choose_audience(user, broadcast_id, kind, ref)
    await ack(update)
    await answer(
        update, t("Audience: {audience}").format(audience=audience_text(t, draft)), edit=True
    )
    if not await _preview(update, context, user, t, broadcast_id):
        return BroadcastDialogue.CHOOSE
    await answer(update, _confirm_text(t, draft), _confirm_buttons(t, draft))
    return BroadcastDialogue.CHOOSE


async def _preview(
    update: Update, context: LinliContext, user: User, t: Translate, broadcast_id: int
) -> bool:
    """Send the draft to the coordinator exactly as recipients will get it."""
    broadcast, community = await context.services.broadcasts.preview(user, broadcast_id)
    message = announcement(t, broadcast, community).to(user.id)
    await answer(update, t("<b>Preview</b> — this is how it will look:"))
    try:
        await send_outgoing(context.bot, message)
    except TelegramError as error:
        await answer(
            update,
            t("Telegram refused this announcement: {error}. Please send it again.").format(
                error=refusal_reason(t, error)
            ),
        )
        return False
    return True


def _confirm_text(t: Translate, draft: Draft) -> str:
    lines = [
        t("It will go to {count} people ({audience}).").format(
            count=draft.recipients, audience=audience_text(t, draft)
        )
    ]
    if draft.broadcast.urgent:
        lines.append(t("Marked urgent: it also reaches people who turned announcements off."))
    return "\n".join(lines)


def _confirm_buttons(t: Translate, draft: Draft) -> Buttons:
    broadcast_id = draft.broadcast.id
    urgent = draft.broadcast.urgent
    return [
        [
            (t("Send now"), SendNow(broadcast_id=broadcast_id).pack()),
            (t("Schedule…"), AskWhen(broadcast_id=broadcast_id).pack()),
        ],
        [
            (
                t("Not urgent") if urgent else t("Mark urgent"),
                ToggleUrgent(broadcast_id=broadcast_id, urgent=not urgent).pack(),
            ),
            (t("Change audience"), ChangeAudience(broadcast_id=broadcast_id).pack()),
        ],
        [(t("Cancel"), DropBroadcast(broadcast_id=broadcast_id).pack())],
    ]


@coordinator_step
async def toggle_urgent(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = ToggleUrgent.of(update)
    draft = await context.services.broadcasts.set_urgent(
        user, pressed.broadcast_id, urgent=pressed.urgent
    )
    await ack(update)
    urgent = draft.broadcast.urgent
    await answer(
        update,
        t("Marked urgent.") if urgent else t("No longer marked urgent."),
        edit=True,
    )
    # The header changes with urgency: show again exactly what recipients will get.
    if await _preview(update, context, user, t, draft.broadcast.id):
        await answer(update, _confirm_text(t, draft), _confirm_buttons(t, draft))
    return BroadcastDialogue.CHOOSE


# --- send, schedule, cancel ----------------------------------------------------------------


@coordinator_step
async def send_now(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    broadcast_id = SendNow.of(update).broadcast_id
    count = await context.services.broadcasts.send_now(user, broadcast_id)
    await ack(update)
    await show_progress(
        update,
        context,
        broadcast_id,
        t("Sending the announcement to {count} people. This message shows the progress.").format(
            count=count
        ),
    )
    return END


async def show_progress(
    update: Update, context: LinliContext, broadcast_id: int, text: str
) -> None:
    """Put `text` in place of the pressed message and keep that message as the announcement's
    progress, which the sender then edits as deliveries go out."""
    progress = await answer(update, text, edit=True)
    if isinstance(progress, Message):
        await context.services.broadcasts.set_progress_message(
            broadcast_id, progress.chat_id, progress.message_id
        )


@coordinator_step
async def ask_when(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    broadcast_id = AskWhen.of(update).broadcast_id
    await context.services.broadcasts.draft(user, broadcast_id)
    ScheduleDraft(broadcast_id=broadcast_id).save(context)
    await ack(update)
    zone = context.services.settings.zone
    tomorrow = (context.services.clock.now() + timedelta(days=1)).astimezone(zone)
    await answer(
        update,
        t(
            "When should it go out? Type the local date and time, for example {example}, "
            "or just a time like 18:30."
        ).format(example=tomorrow.strftime("%Y-%m-%d 09:00")),
    )
    return BroadcastDialogue.WHEN


@coordinator_step
async def typed_when(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None and update.message.text is not None
    broadcast_id = ScheduleDraft.load(context).broadcast_id
    if broadcast_id is None:  # the draft expired: start again
        return await start(update, context)
    services = context.services
    at = parse_local_moment(update.message.text, services.clock.now(), services.settings.zone)
    draft = await services.broadcasts.schedule(user, broadcast_id, at)
    await answer(
        update,
        t(
            "Scheduled for {when} ({count} people now). /broadcast shows it and can cancel it."
        ).format(
            when=format_local(at, user.language, services.settings.zone, with_year=True),
            count=draft.recipients,
        ),
    )
    return END


@coordinator_step
async def drop(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    broadcast_id = DropBroadcast.of(update).broadcast_id
    before = (await context.services.broadcasts.draft(user, broadcast_id)).broadcast
    await context.services.broadcasts.cancel(user, broadcast_id)
    await ack(update)
    if before.status is BroadcastStatus.DRAFT:
        await answer(update, t("Cancelled. Nothing was sent."), edit=True)
        return END
    if before.status is BroadcastStatus.SENDING:
        text = t("Announcement #{id} stopped. Messages already sent stay sent.")
    else:
        text = t("Scheduled announcement #{id} cancelled. Nothing was sent.")
    await answer(update, text.format(id=broadcast_id))
    return None


# --- lists and reports ---------------------------------------------------------------------


@coordinator_step
async def list_scheduled(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    zone = context.services.settings.zone
    drafts = await context.services.broadcasts.scheduled(user)
    if not drafts:
        await answer(update, t("No announcements are scheduled or being sent."))
        return None
    lines = [t("<b>Scheduled and running announcements</b>")]
    rows: list[list[tuple[str, str]]] = []
    for draft in drafts:
        b = draft.broadcast
        if b.status is BroadcastStatus.SCHEDULED and b.scheduled_at is not None:
            when = format_local(b.scheduled_at, user.language, zone, with_year=True)
            rows.append(
                [(t("Cancel #{id}").format(id=b.id), DropBroadcast(broadcast_id=b.id).pack())]
            )
        else:
            when = t("sending now")
            rows.append(
                [
                    (t("Report #{id}").format(id=b.id), ShowReport(broadcast_id=b.id).pack()),
                    (t("Stop #{id}").format(id=b.id), DropBroadcast(broadcast_id=b.id).pack()),
                ]
            )
        lines.append(
            t("#{id} {when} — {audience}, {count} people — {text}").format(
                id=b.id,
                when=when,
                audience=audience_text(t, draft),
                count=draft.recipients,
                text=esc(_snippet(b, t)),
            )
        )
    await answer(update, "\n".join(lines), rows)
    return None


@coordinator_step
async def list_sent(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    zone = context.services.settings.zone
    sent = await context.services.broadcasts.recent(user)
    if not sent:
        await answer(update, t("No announcements have been sent yet."))
        return None
    lines = [t("<b>Sent announcements</b>")]
    rows: list[list[tuple[str, str]]] = []
    for b in sent:
        started = b.started_at or b.created_at
        lines.append(
            t("#{id} {when} — {text}").format(
                id=b.id,
                when=format_local(started, user.language, zone),
                text=esc(_snippet(b, t)),
            )
        )
        rows.append([(t("Report #{id}").format(id=b.id), ShowReport(broadcast_id=b.id).pack())])
    await answer(update, "\n".join(lines), rows)
    return None


@coordinator_step
async def show_report(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    broadcast_id = ShowReport.of(update).broadcast_id
    broadcast, report = await context.services.broadcasts.report(user, broadcast_id)
    await ack(update)
    await answer(
        update,
        t("<b>Delivery report, announcement #{id}</b>").format(id=broadcast.id)
        + "\n"
        + report_text(t, report),
    )
    return None


def _buttons() -> list[AnyHandler]:
    """Broadcast buttons work from any message, inside or outside the dialogue."""
    routes: list[tuple[Callback, type[Button]]] = [
        (list_scheduled, ListScheduled),
        (list_sent, ListSent),
        (change_audience, ChangeAudience),
        (chose_audience, ChooseAudience),
        (list_buildings, AudienceBuildings),
        (turned_buildings, AudienceBuildingsPage),
        (chose_building, AudienceBuilding),
        (list_teams, AudienceTeams),
        (chose_team, AudienceTeam),
        (list_sessions, AudienceSessions),
        (chose_session, AudienceSession),
        (toggle_urgent, ToggleUrgent),
        (send_now, SendNow),
        (ask_when, AskWhen),
        (drop, DropBroadcast),
        (show_report, ShowReport),
    ]
    return [
        CallbackQueryHandler(callback, pattern=pressed.pattern()) for callback, pressed in routes
    ]


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    media = (filters.PHOTO | filters.Document.ALL) & private
    buttons = _buttons()
    conversation = dialogue(
        "broadcast",
        entry_points=[CommandHandler("broadcast", start, filters=private), *buttons],
        states={
            BroadcastDialogue.COMPOSE: [
                MessageHandler(text, composed_text),
                MessageHandler(media, composed_media),
                MessageHandler(private & ~filters.COMMAND, other_content),
                *buttons,
            ],
            BroadcastDialogue.CHOOSE: buttons,
            BroadcastDialogue.BUILDING: [MessageHandler(text, searched_building), *buttons],
            BroadcastDialogue.WHEN: [MessageHandler(text, typed_when), *buttons],
        },
        drafts=[ScheduleDraft],
        reentry=[CommandHandler("broadcast", start, filters=private)],
    )
    return [conversation]
