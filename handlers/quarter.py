"""/quarter for coordinators: close a finished quarter of their community (季度结算). The
quarters waiting are offered as buttons, a confirmation asked; on closing, the top members are
thanked, the other coordinators told, and the closer gets the summary and the Excel sheet.
The notices' views are here too: the thanks a member reads and the coordinators' summary."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import Translate, esc
from bot.models import Role, User
from bot.services.passbook.quarter import (
    SUMMARY_FLAGS,
    SUMMARY_TOP,
    Flag,
    Placed,
    QuarterRecognition,
    QuarterReport,
    QuarterSummary,
)
from handlers.buttons import Button, button
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import Next, step
from handlers.notices import Shown, ViewEnv, notice_view
from handlers.quarter_sheet import FLAG_LABELS, file_name, flag_details, wish_numbers, workbook

Handlers = list[BaseHandler[Update, LinliContext, object]]

# --- buttons -------------------------------------------------------------------------------


@button("qt:list")
class QuarterList(Button):
    community_id: int


@button("qt:ask")
class AskClose(Button):
    community_id: int
    quarter: str


@button("qt:do")
class CloseQuarter(Button):
    community_id: int
    quarter: str


@button("qt:sheet")
class SheetAgain(Button):
    """A closed quarter's sheet, again (for the closer, or another coordinator told of it)."""

    community_id: int
    quarter: str


coordinator_step = step(Role.COORDINATOR)
# Wishes named on a check's line in the summary: ten checks of a busy quarter stay well
# inside one message (a pair of members may share hundreds of wishes; the sheet lists them).
FLAG_WISHES_SHOWN = 5

# --- views -----------------------------------------------------------------------------------


def _placed_line(t: Translate, placed: Placed) -> str:
    where = f" ({esc(placed.building)})" if placed.building else ""
    return t("{place}. {name}{where}: {points} points").format(
        place=placed.place, name=esc(placed.name), where=where, points=placed.total
    )


def _flag_line(t: Translate, flag: Flag, language: str, zone: ZoneInfo) -> str:
    line = f"• {t(FLAG_LABELS[flag.kind])}: <b>{esc(flag.person)}</b> — "
    line += esc(flag_details(t, flag, language, zone))
    if flag.wish_ids:
        line += " " + esc(wish_numbers(flag, FLAG_WISHES_SHOWN))
    return line


def summary_text(
    t: Translate,
    language: str,
    zone: ZoneInfo,
    *,
    quarter: str,
    community: str,
    members: int,
    points: int,
    wishes: int,
    top: tuple[Placed, ...] | list[Placed],
    flags: tuple[Flag, ...],
    flag_count: int,
    closed_by: str | None = None,
) -> str:
    """A closed quarter in a few lines: for the closer and for the other coordinators alike."""
    lines = [
        t("<b>{quarter} is closed</b> — {community}").format(
            quarter=esc(quarter), community=esc(community)
        )
    ]
    if closed_by is not None:
        lines.append(t("Closed by {name}.").format(name=esc(closed_by)))
    lines += [
        t("Members credited: {count}").format(count=members),
        t("Points given: {points}").format(points=points),
        t("Wishes credited: {count}").format(count=wishes),
    ]
    if top:
        lines.append(t("<b>Top of the quarter</b>"))
        lines += [_placed_line(t, p) for p in top]
    if flag_count:
        lines.append(
            t("<b>To check ({count})</b>, nothing has been changed because of these:").format(
                count=flag_count
            )
        )
        shown = flags[:SUMMARY_FLAGS]
        lines += [_flag_line(t, f, language, zone) for f in shown]
        if flag_count > len(shown):
            more = t("…and {count} more in the sheet.")
            lines.append(more.format(count=flag_count - len(shown)))
    else:
        lines.append(t("Nothing to check."))
    return "\n".join(lines)


@notice_view(QuarterRecognition)
async def recognition(notice: QuarterRecognition, env: ViewEnv) -> Shown:
    t = env.t
    text = t(
        "🌸 Thank you for your loving service this quarter! In {quarter} you are number {place} "
        "in {community}, with {points} points. Your neighbours are grateful for your help."
    ).format(
        quarter=esc(notice.quarter),
        place=notice.rank,
        community=esc(notice.community),
        points=notice.points,
    )
    return Shown(text)


def sheet_button(t: Translate, community_id: int, quarter: str) -> tuple[str, str]:
    label = t("📎 Sheet of {quarter}").format(quarter=quarter)
    return label, SheetAgain(community_id=community_id, quarter=quarter).pack()


@notice_view(QuarterSummary)
async def summary(notice: QuarterSummary, env: ViewEnv) -> Shown:
    text = summary_text(
        env.t,
        env.language,
        env.services.settings.zone,
        quarter=notice.quarter,
        community=notice.community,
        members=notice.members,
        points=notice.points,
        wishes=notice.wishes,
        top=notice.top,
        flags=notice.flags,
        flag_count=notice.flag_count,
        closed_by=notice.closed_by,
    )
    return Shown(text, [[sheet_button(env.t, notice.community_id, notice.quarter)]])


# --- steps -----------------------------------------------------------------------------------


@coordinator_step
async def show_quarters(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """The quarters waiting to be closed, a button each."""
    pressed = update.callback_query is not None
    community_id = QuarterList.of(update).community_id if pressed else context.working_community
    closable = await context.services.quarters.closable(user, community_id)
    await ack(update)
    lines = [
        t("<b>Quarterly recognition</b> — {community}").format(community=esc(closable.community)),
        t(
            "Closing a quarter thanks its top ten members, tells the other coordinators and "
            "gives you the love-savings sheet. Each quarter is closed once."
        ),
    ]
    if not closable.quarters:
        lines.append(t("No quarter is waiting to be closed."))
    lines.append(
        t("{quarter} can be closed once it has ended.").format(quarter=esc(closable.current))
    )
    rows = [
        [
            (
                t("Close {quarter}").format(quarter=q),
                AskClose(community_id=closable.community_id, quarter=q).pack(),
            )
        ]
        for q in closable.quarters
    ]
    rows += [[sheet_button(t, closable.community_id, q)] for q in closable.closed]
    await answer(update, "\n\n".join(lines), rows, edit=pressed)
    return None


@coordinator_step
async def ask_close(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """Are you sure? (The quarter is checked again: still waiting, in the coordinator's
    community.)"""
    pressed = AskClose.of(update)
    closable = await context.services.quarters.closable(user, pressed.community_id)
    await ack(update)
    back = (t("« Back"), QuarterList(community_id=closable.community_id).pack())
    if pressed.quarter not in closable.quarters:
        text = t("{quarter} cannot be closed now: it is closed already or not over yet.")
        await answer(update, text.format(quarter=esc(pressed.quarter)), [[back]], edit=True)
        return None
    text = t(
        "Close {quarter} of {community}? Its top members are thanked at once, and it cannot be "
        "closed again."
    ).format(quarter=esc(pressed.quarter), community=esc(closable.community))
    confirm = CloseQuarter(community_id=closable.community_id, quarter=pressed.quarter)
    rows = [[(t("Yes, close {quarter}").format(quarter=pressed.quarter), confirm.pack())], [back]]
    await answer(update, text, rows, edit=True)
    return None


@coordinator_step
async def close_quarter(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """Close it: the summary in place of the question, then the sheet as a document."""
    pressed = CloseQuarter.of(update)
    services = context.services
    report = await services.quarters.close(user, pressed.quarter, pressed.community_id)
    await ack(update, t("Closed."))
    text = _report_text(t, user.language, services.settings.zone, report)
    again = [[sheet_button(t, report.community_id, report.quarter)]]
    await answer(update, text, again, edit=True)
    await _send_sheet(context, user, t, report)
    return None


@coordinator_step
async def sheet_again(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """A closed quarter's sheet once more (checked again: closed, and in the presser's reach)."""
    pressed = SheetAgain.of(update)
    report = await context.services.quarters.sheet(user, pressed.quarter, pressed.community_id)
    await ack(update)
    await _send_sheet(context, user, t, report)
    return None


async def _send_sheet(
    context: LinliContext, user: User, t: Translate, report: QuarterReport
) -> None:
    # Building the sheet of a big quarter takes a while: not on the event loop.
    data = await asyncio.to_thread(workbook, report, user.language, context.services.settings.zone)
    caption = t("The love-savings sheet of {quarter}: ranking, entries, what to check.")
    await context.bot.send_document(
        user.id,
        document=InputFile(data, filename=file_name(t, report)),
        caption=caption.format(quarter=esc(report.quarter)),
        parse_mode=ParseMode.HTML,
    )


def _report_text(t: Translate, language: str, zone: ZoneInfo, report: QuarterReport) -> str:
    text = summary_text(
        t,
        language,
        zone,
        quarter=report.quarter,
        community=report.community,
        members=report.members,
        points=report.points,
        wishes=report.wishes,
        top=[p for p in report.ranked if p.place is not None and p.place <= SUMMARY_TOP],
        flags=report.flags,
        flag_count=len(report.flags),
    )
    thanked = t("{count} members were thanked.").format(count=report.recognised)
    return text + "\n\n" + thanked


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("quarter", show_quarters, filters=private),
        CallbackQueryHandler(show_quarters, pattern=QuarterList.pattern()),
        CallbackQueryHandler(ask_close, pattern=AskClose.pattern()),
        CallbackQueryHandler(close_quarter, pattern=CloseQuarter.pattern()),
        CallbackQueryHandler(sheet_again, pattern=SheetAgain.pattern()),
    ]
