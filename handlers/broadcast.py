"""/broadcast for coordinators: compose (text, or photo/document with caption), choose the
audience, preview exactly as recipients see it, send now or at a local time; list and cancel
scheduled broadcasts; delivery reports."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Coroutine
from datetime import timedelta
from enum import IntEnum
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, esc, format_local
from bot.models import AudienceKind, Broadcast, BroadcastStatus, Role, User
from bot.services.broadcast import AUDIENCE_LABELS, Draft
from bot.services.errors import InvalidInput, LinliError
from bot.services.reminders import parse_local_moment
from handlers.broadcast_views import announcement, audience_text, report_text
from handlers.callbacks import data, pattern
from handlers.common import (
    END,
    Buttons,
    ack,
    answer,
    as_user,
    leave_for_command,
    refuse,
    use_buttons,
)
from handlers.context import LinliContext
from handlers.help import cancel
from handlers.sending import send_outgoing


class BroadcastDialogue(IntEnum):
    COMPOSE = 1
    CHOOSE = 2
    WHEN = 3


DRAFT_KEY = "broadcast_draft"
SIMPLE_AUDIENCES = (
    AudienceKind.EVERYONE,
    AudienceKind.RESIDENTS,
    AudienceKind.MEMBERS,
    AudienceKind.COORDINATORS,
)
SNIPPET = 40
Route = Callable[[Update, LinliContext], Coroutine[Any, Any, int | None]]


def _id(context: LinliContext, group: int = 1) -> int:
    assert context.matches
    return int(context.matches[0].group(group))


def _snippet(broadcast: Broadcast, t: Translate) -> str:
    if broadcast.text:
        plain = html.unescape(re.sub(r"<[^>]*>", "", broadcast.text)).replace("\n", " ")
        return plain[:SNIPPET] + ("…" if len(plain) > SNIPPET else "")
    return t("(photo)") if broadcast.photo_file_id else t("(document)")


# --- start and compose ---------------------------------------------------------------------


@as_user(Role.COORDINATOR)
async def start(update: Update, context: LinliContext, user: User, t: Translate) -> int:
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
            [(t("Scheduled and running"), data("bc", "list"))],
            [(t("Delivery reports"), data("bc", "sent"))],
        ],
    )
    return BroadcastDialogue.COMPOSE


@as_user(Role.COORDINATOR)
async def composed_text(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert update.message is not None
    return await _created(update, context, user, t, text=update.message.text_html)


@as_user(Role.COORDINATOR)
async def composed_media(update: Update, context: LinliContext, user: User, t: Translate) -> int:
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


@as_user(Role.COORDINATOR)
async def other_content(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
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
) -> int:
    try:
        draft = await context.services.broadcasts.create_draft(
            user, text=text, photo_file_id=photo_file_id, document_file_id=document_file_id
        )
    except LinliError as error:
        await refuse(update, t, error)
        return BroadcastDialogue.COMPOSE
    await _ask_audience(update, t, draft.broadcast.id, edit=False)
    return BroadcastDialogue.CHOOSE


# --- audience ------------------------------------------------------------------------------


async def _ask_audience(update: Update, t: Translate, broadcast_id: int, *, edit: bool) -> None:
    rows: list[list[tuple[str, str]]] = [
        [(t(AUDIENCE_LABELS[kind]), data("bc", "aud", broadcast_id, kind.value))]
        for kind in SIMPLE_AUDIENCES
    ]
    rows.append(
        [
            (t(AUDIENCE_LABELS[AudienceKind.BUILDING]), data("bc", "blds", broadcast_id)),
            (t(AUDIENCE_LABELS[AudienceKind.TEAM]), data("bc", "teams", broadcast_id)),
        ]
    )
    rows.append([(t("Cancel"), data("bc", "drop", broadcast_id))])
    await answer(update, t("Who should receive this announcement?"), rows, edit=edit)


@as_user(Role.COORDINATOR)
async def change_audience(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    await ack(update)
    await _ask_audience(update, t, _id(context), edit=True)
    return BroadcastDialogue.CHOOSE


@as_user(Role.COORDINATOR)
async def chose_audience(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert context.matches
    broadcast_id, kind = _id(context), context.matches[0].group(2)
    if kind not in {k.value for k in SIMPLE_AUDIENCES}:
        await refuse(update, t, InvalidInput())
        return BroadcastDialogue.CHOOSE
    return await _set_audience(update, context, user, t, broadcast_id, AudienceKind(kind), None)


@as_user(Role.COORDINATOR)
async def list_buildings(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    broadcast_id = _id(context)
    buildings = await context.services.broadcasts.buildings(user)
    if not buildings:
        await ack(update, t("There are no buildings yet. Add them in /admin."), alert=True)
        return BroadcastDialogue.CHOOSE
    await ack(update)
    rows = [[(b.name, data("bc", "bld", broadcast_id, b.id))] for b in buildings]
    rows.append([(t("« Back"), data("bc", "aud", broadcast_id))])
    await answer(update, t("Which building?"), rows, edit=True)
    return BroadcastDialogue.CHOOSE


@as_user(Role.COORDINATOR)
async def chose_building(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    return await _set_audience(
        update, context, user, t, _id(context), AudienceKind.BUILDING, _id(context, 2)
    )


@as_user(Role.COORDINATOR)
async def list_teams(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    broadcast_id = _id(context)
    teams = await context.services.broadcasts.teams(user)
    if not teams:
        await ack(update, t("There are no service teams yet."), alert=True)
        return BroadcastDialogue.CHOOSE
    await ack(update)
    rows = [[(team.name, data("bc", "team", broadcast_id, team.id))] for team in teams]
    rows.append([(t("« Back"), data("bc", "aud", broadcast_id))])
    await answer(update, t("Which service team?"), rows, edit=True)
    return BroadcastDialogue.CHOOSE


@as_user(Role.COORDINATOR)
async def chose_team(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    return await _set_audience(
        update, context, user, t, _id(context), AudienceKind.TEAM, _id(context, 2)
    )


async def _set_audience(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    broadcast_id: int,
    kind: AudienceKind,
    ref: int | None,
) -> int:
    try:
        draft = await context.services.broadcasts.choose_audience(user, broadcast_id, kind, ref)
    except LinliError as error:
        await refuse(update, t, error)
        return BroadcastDialogue.CHOOSE
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
                error=esc(error)
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
            (t("Send now"), data("bc", "go", broadcast_id)),
            (t("Schedule…"), data("bc", "when", broadcast_id)),
        ],
        [
            (
                t("Not urgent") if urgent else t("Mark urgent"),
                data("bc", "urg", broadcast_id, 0 if urgent else 1),
            ),
            (t("Change audience"), data("bc", "aud", broadcast_id)),
        ],
        [(t("Cancel"), data("bc", "drop", broadcast_id))],
    ]


@as_user(Role.COORDINATOR)
async def toggle_urgent(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    try:
        draft = await context.services.broadcasts.set_urgent(
            user, _id(context), urgent=_id(context, 2) == 1
        )
    except LinliError as error:
        await refuse(update, t, error)
        return END
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


@as_user(Role.COORDINATOR)
async def send_now(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    broadcast_id = _id(context)
    try:
        count = await context.services.broadcasts.send_now(user, broadcast_id)
    except LinliError as error:
        await refuse(update, t, error)
        return END
    await ack(update)
    progress = await answer(
        update,
        t("Sending the announcement to {count} people. This message shows the progress.").format(
            count=count
        ),
        edit=True,
    )
    if isinstance(progress, Message):
        await context.services.broadcasts.set_progress_message(
            broadcast_id, progress.chat_id, progress.message_id
        )
    return END


@as_user(Role.COORDINATOR)
async def ask_when(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    broadcast_id = _id(context)
    try:
        await context.services.broadcasts.draft(user, broadcast_id)
    except LinliError as error:
        await refuse(update, t, error)
        return END
    assert context.user_data is not None
    context.user_data[DRAFT_KEY] = broadcast_id
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


@as_user(Role.COORDINATOR)
async def typed_when(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert update.message is not None and update.message.text is not None
    assert context.user_data is not None
    broadcast_id = context.user_data.get(DRAFT_KEY)
    if not isinstance(broadcast_id, int):
        return await start(update, context)
    services = context.services
    try:
        at = parse_local_moment(update.message.text, services.clock.now(), services.settings.zone)
        draft = await services.broadcasts.schedule(user, broadcast_id, at)
    except LinliError as error:
        await refuse(update, t, error)
        return BroadcastDialogue.WHEN
    context.user_data.pop(DRAFT_KEY, None)
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


@as_user(Role.COORDINATOR)
async def drop(update: Update, context: LinliContext, user: User, t: Translate) -> int | None:
    broadcast_id = _id(context)
    try:
        before = (await context.services.broadcasts.draft(user, broadcast_id)).broadcast
        await context.services.broadcasts.cancel(user, broadcast_id)
    except LinliError as error:
        await refuse(update, t, error)
        return None
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


@as_user(Role.COORDINATOR)
async def list_scheduled(
    update: Update, context: LinliContext, user: User, t: Translate
) -> int | None:
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
            rows.append([(t("Cancel #{id}").format(id=b.id), data("bc", "drop", b.id))])
        else:
            when = t("sending now")
            rows.append(
                [
                    (t("Report #{id}").format(id=b.id), data("bc", "rep", b.id)),
                    (t("Stop #{id}").format(id=b.id), data("bc", "drop", b.id)),
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


@as_user(Role.COORDINATOR)
async def list_sent(update: Update, context: LinliContext, user: User, t: Translate) -> int | None:
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
        rows.append([(t("Report #{id}").format(id=b.id), data("bc", "rep", b.id))])
    await answer(update, "\n".join(lines), rows)
    return None


@as_user(Role.COORDINATOR)
async def show_report(
    update: Update, context: LinliContext, user: User, t: Translate
) -> int | None:
    try:
        broadcast, report = await context.services.broadcasts.report(user, _id(context))
    except LinliError as error:
        await refuse(update, t, error)
        return None
    await ack(update)
    await answer(
        update,
        t("<b>Delivery report, announcement #{id}</b>").format(id=broadcast.id)
        + "\n"
        + report_text(t, report),
    )
    return None


def _buttons() -> list[BaseHandler[Update, LinliContext, object]]:
    """Broadcast buttons work from any message, inside or outside the dialogue."""
    routes: list[tuple[Route, re.Pattern[str]]] = [
        (list_scheduled, pattern("bc", "list")),
        (list_sent, pattern("bc", "sent")),
        (change_audience, pattern("bc", "aud", "(int)")),
        (chose_audience, pattern("bc", "aud", "(int)", "(word)")),
        (list_buildings, pattern("bc", "blds", "(int)")),
        (chose_building, pattern("bc", "bld", "(int)", "(int)")),
        (list_teams, pattern("bc", "teams", "(int)")),
        (chose_team, pattern("bc", "team", "(int)", "(int)")),
        (toggle_urgent, pattern("bc", "urg", "(int)", "(int)")),
        (send_now, pattern("bc", "go", "(int)")),
        (ask_when, pattern("bc", "when", "(int)")),
        (drop, pattern("bc", "drop", "(int)")),
        (show_report, pattern("bc", "rep", "(int)")),
    ]
    return [CallbackQueryHandler(callback, pattern=regex) for callback, regex in routes]


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    media = (filters.PHOTO | filters.Document.ALL) & private
    buttons = _buttons()
    conversation: ConversationHandler[LinliContext] = ConversationHandler(
        entry_points=[CommandHandler("broadcast", start, filters=private), *buttons],
        states={
            BroadcastDialogue.COMPOSE: [
                MessageHandler(text, composed_text),
                MessageHandler(media, composed_media),
                MessageHandler(private & ~filters.COMMAND, other_content),
                *buttons,
            ],
            BroadcastDialogue.CHOOSE: buttons,
            BroadcastDialogue.WHEN: [MessageHandler(text, typed_when), *buttons],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CommandHandler("broadcast", start, filters=private),
            MessageHandler(filters.COMMAND & private, leave_for_command),
            MessageHandler(private & ~filters.COMMAND, use_buttons),
        ],
        name="broadcast",
        persistent=True,
        allow_reentry=True,
    )
    return [conversation]
