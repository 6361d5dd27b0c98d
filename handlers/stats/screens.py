"""/stats and /export for coordinators: the figures of a place and a period, with charts, and
the same as a file.

/stats shows the coordinator's own place this month (or a typed period: /stats 2026-11,
/stats 2026Q4); its buttons pick another period (this month, last month, this quarter, this
year, typed, ◀ ▶) or another place below theirs, and export. Each press names a place and a
period; the period is rebuilt and checked here, the place in the service (a forged button for
a place out of reach is refused there). The figures come from the database without blocking
the bot; the charts are drawn in a worker thread, so others are answered meanwhile."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import ClassVar

from telegram import InputFile, Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc
from bot.models import Node, NodeKind, Period, Role, User
from bot.services.errors import LinliError
from bot.services.stats.period import month_of, parse
from handlers.common import ack, answer, keyboard
from handlers.context import LinliApplication, LinliContext
from handlers.dialogue import END, Callback, DialogueDraft, Handlers, Next, dialogue, step
from handlers.stats.buttons import (
    ExportCsv,
    ExportExcel,
    PickPlace,
    PlacesPage,
    ShowStats,
    StatsButton,
    TypePeriod,
    period_of,
)
from handlers.stats.charts import render_charts
from handlers.stats.export import BegunExport, ExportFormat, begin_export, finish_export
from handlers.stats.views import (
    figures_text,
    number,
    period_label,
    places_buttons,
    stats_buttons,
    typed_prompt,
    working_text,
)

coordinator_step = step(Role.COORDINATOR)


EXPORTS_KEY = "stats.exports"  # bot_data: the files being made, for `stop_exports`


class StatsDialogue(StrEnum):
    PERIOD = "period"  # the period is typed


class TypedFor(DialogueDraft):
    """The place a typed period is for."""

    KEY: ClassVar[str] = "stats_typed"
    node_kind: NodeKind | None = None
    node_id: int | None = None


# --- the figures -----------------------------------------------------------------------------


async def show(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    node: Node | None,
    period: Period,
) -> None:
    """The figures of `node` (None: the coordinator's own) over `period`, then the charts.

    A typed /stats is answered at once with "counting…", which becomes the figures. A press
    is asked of the service first (so a refused one leaves nothing but the refusal), then
    the pressed message becomes the figures. Drawing the charts runs in a worker thread."""
    services = context.services
    pressed = update.callback_query is not None
    working: Message | None = None
    if pressed:
        figures = await services.stats.figures(user, node, period)
        await ack(update, working_text(t))
    else:
        working = await answer(update, working_text(t))
        try:
            figures = await services.stats.figures(user, node, period)
        except LinliError as error:
            if working is not None:
                await working.delete()
            raise error
    charts = await asyncio.to_thread(render_charts, figures, user.language)
    text = figures_text(t, user.language, figures)
    buttons = stats_buttons(t, figures.node, figures.period, context.today)
    if working is not None:
        await working.edit_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(buttons),
            disable_web_page_preview=True,
        )
    else:
        await answer(update, text, buttons, edit=pressed)
    for index, png in enumerate(charts, start=1):
        await context.bot.send_photo(user.id, photo=InputFile(png, filename=f"stats-{index}.png"))


@coordinator_step
async def stats_command(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """/stats, /stats 2026-11, /stats 2026Q4, /stats 2026-10-01 2026-12-31."""
    typed = " ".join(context.args or ()).strip()
    today = context.today
    period = parse(typed, today) if typed else month_of(today)
    await show(update, context, user, t, None, period)
    return END


@coordinator_step
async def pressed_show(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = ShowStats.of(update)
    period = period_of(pressed.period, context.today)
    await show(update, context, user, t, pressed.node, period)
    return END


@coordinator_step
async def pick_place(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """The places this coordinator may look at (their own and those below it)."""
    chosen: Node | None = None
    data = update.callback_query.data if update.callback_query is not None else None
    if PickPlace.pattern().fullmatch(data or ""):
        pressed = PickPlace.of(update)
        chosen, word, page = pressed.node, pressed.period, 0
    else:
        turned = PlacesPage.of(update)
        word, page = turned.period, turned.page
    period = period_of(word, context.today)
    places = await context.services.stats.nodes(user)
    await ack(update)
    text = t("Which place? The figures of {period} for:").format(
        period=esc(period_label(t, user.language, period))
    )
    await answer(update, text, places_buttons(t, places, period, chosen, page), edit=True)
    return END


# --- a typed period ----------------------------------------------------------------------------


@coordinator_step
async def ask_period(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = TypePeriod.of(update)
    TypedFor(node_kind=pressed.node_kind, node_id=pressed.node_id).save(context)
    await ack(update)
    await answer(update, typed_prompt(t))
    return StatsDialogue.PERIOD


@coordinator_step
async def typed_period(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """The typed period: refused (and asked again) when unreadable, too long, to come."""
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    period = parse(text, context.today)
    draft = TypedFor.load(context)
    node = None
    if draft.node_kind is not None and draft.node_id is not None:
        node = Node(kind=draft.node_kind, id=draft.node_id)
    await show(update, context, user, t, node, period)
    return END


# --- exports -----------------------------------------------------------------------------------


async def send_export(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    node: Node | None,
    period: Period,
    fmt: ExportFormat,
) -> None:
    """Check the export and answer at once (a refusal is the answer); the file is made in
    the background and sent as a document when ready. Made inline, a year of a district
    (minutes) would hold this person's later updates, which go one by one, and one of the few
    updates handled at once. A failure in the background reaches the error handlers with the
    update, so the coordinator is answered as for any refusal or fault."""
    begun = await begin_export(context.services, user, node, period, fmt)
    await ack(update, t("Preparing the file…"))
    await answer(update, t("⏳ Making the file; it comes here when it is ready."))
    making: set[asyncio.Task[None]] = context.bot_data.setdefault(EXPORTS_KEY, set())
    task = context.application.create_task(_deliver(context, user, t, begun), update=update)
    making.add(task)
    task.add_done_callback(making.discard)


async def _deliver(context: LinliContext, user: User, t: Translate, begun: BegunExport) -> None:
    """Make the file and send it; the temporary file is deleted once sent (or not)."""
    await context.bot.send_chat_action(user.id, ChatAction.UPLOAD_DOCUMENT)
    try:
        exported = await finish_export(context.services, begun)
    except asyncio.CancelledError:
        # The bot is stopping (`stop_exports`): the writer is killed and its file removed.
        await context.bot.send_message(
            user.id, t("The bot is restarting and your file was not finished. Please ask again.")
        )
        raise
    try:
        caption = t("📥 The statistics of {period}: {rows} rows of detail.").format(
            period=esc(period_label(t, user.language, begun.period)),
            rows=number(exported.rows, user.language),
        )
        with exported.path.open("rb") as handle:
            await context.bot.send_document(
                user.id,
                document=InputFile(handle, filename=exported.filename),
                caption=caption,
                parse_mode=ParseMode.HTML,
            )
    finally:
        exported.path.unlink(missing_ok=True)


async def stop_exports(app: LinliApplication) -> None:
    """At a stop: the files still being made are given up (their writers killed, the
    coordinators told), instead of holding the stop for minutes — the Application waits for
    the tasks it started before it stops."""
    making: set[asyncio.Task[None]] = app.bot_data.get(EXPORTS_KEY, set())
    for task in list(making):
        task.cancel()
    await asyncio.gather(*making, return_exceptions=True)


@coordinator_step
async def export_command(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """/export, /export 2026-11, /export 2026Q4 csv: this month's workbook by default."""
    words = list(context.args or ())
    fmt = ExportFormat.XLSX
    if words and words[-1].lower() in ("csv", "xlsx", "excel"):
        fmt = ExportFormat.CSV if words.pop().lower() == "csv" else ExportFormat.XLSX
    today = context.today
    typed = " ".join(words).strip()
    period = parse(typed, today) if typed else month_of(today)
    await send_export(update, context, user, t, None, period, fmt)
    return END


def _exporter(kind: type[StatsButton], fmt: ExportFormat) -> Callback:
    @coordinator_step
    async def pressed_export(
        update: Update, context: LinliContext, user: User, t: Translate
    ) -> Next:
        pressed = kind.of(update)
        period = period_of(pressed.period, context.today)
        await send_export(update, context, user, t, pressed.node, period, fmt)
        return END

    return pressed_export


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    excel = _exporter(ExportExcel, ExportFormat.XLSX)
    csv = _exporter(ExportCsv, ExportFormat.CSV)
    buttons: Handlers = [
        CallbackQueryHandler(pressed_show, pattern=ShowStats.pattern()),
        CallbackQueryHandler(pick_place, pattern=PickPlace.pattern()),
        CallbackQueryHandler(pick_place, pattern=PlacesPage.pattern()),
        CallbackQueryHandler(excel, pattern=ExportExcel.pattern()),
        CallbackQueryHandler(csv, pattern=ExportCsv.pattern()),
    ]
    typed = dialogue(
        "stats_period",
        entry_points=[CallbackQueryHandler(ask_period, pattern=TypePeriod.pattern())],
        states={StatsDialogue.PERIOD: [MessageHandler(text, typed_period), *buttons]},
        drafts=[TypedFor],
    )
    return [
        typed,
        CommandHandler("stats", stats_command, filters=private),
        CommandHandler("export", export_command, filters=private),
        *buttons,
    ]
