"""The closed quarter as an Excel workbook, in the coordinator's language: 排名 (the ranking
with points per kind of work), 明细 (every entry), 需核查 (what a person should look at). Built
in memory from the service's plain data; slow for a big quarter, so callers run it in a thread.

Every text cell is written as text: a name or a reason starting with "=" must never become a
formula in the coordinator's spreadsheet program."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bot.i18n import Translate, format_local, translator
from bot.models import N_, WISH_CATEGORY_LABELS, LedgerKind
from bot.services.passbook.quarter import (
    QUICK_CONFIRM_SECONDS,
    Flag,
    FlagKind,
    QuarterReport,
    SheetEntry,
)
from handlers.stats.workbook import xml_safe

WISH_TEXT_SHOWN = 40  # characters of a wish's words in "what for"
WIDEST = 60  # a column's width at most, in characters

KIND_LABELS: dict[LedgerKind, str] = {
    LedgerKind.WISH: N_("Wishes"),
    LedgerKind.URGENT: N_("Urgent help"),
    LedgerKind.RATING: N_("Stars"),
    LedgerKind.PATROL: N_("Patrol"),
    LedgerKind.STUDY: N_("Study"),
    LedgerKind.VISIT: N_("Visits"),
    LedgerKind.ADJUSTMENT: N_("Adjustments"),
    LedgerKind.CORRECTION: N_("Corrections"),
}

FLAG_LABELS: dict[FlagKind, str] = {
    FlagKind.SAME_POSTERS: N_("Credited mostly by the same posters"),
    FlagKind.QUICK_CONFIRM: N_("Confirmed minutes after being taken on"),
    FlagKind.PROXY_CONFIRMS: N_("Many confirmations for one proxy poster"),
    FlagKind.ADJUSTMENT_BURST: N_("Many adjustments in one day"),
}

Cell = str | int | datetime | None


def flag_details(t: Translate, flag: Flag, language: str, zone: ZoneInfo) -> str:
    """What was found, in a sentence (plain text: the caller escapes it for HTML)."""
    if flag.kind is FlagKind.SAME_POSTERS:
        return t("{count} wishes credited, {share}% of them posted by {names}.").format(
            count=flag.count, share=flag.share, names=t(", ").join(flag.others)
        )
    if flag.kind is FlagKind.QUICK_CONFIRM:
        return t("{count} wishes confirmed within {minutes} minutes of being taken on.").format(
            count=flag.count, minutes=QUICK_CONFIRM_SECONDS // 60
        )
    if flag.kind is FlagKind.PROXY_CONFIRMS:
        return t(
            "{count} wishes they posted for residents without a phone were confirmed."
        ).format(count=flag.count)
    since = format_local(flag.since, language, zone) if flag.since is not None else ""
    return t("{count} adjustments within 24 hours, from {when}.").format(
        count=flag.count, when=since
    )


def wish_numbers(flag: Flag, limit: int | None = None) -> str:
    """The wishes a check is about; `limit` keeps a message short (the sheet names them all)."""
    shown = flag.wish_ids if limit is None else flag.wish_ids[:limit]
    numbers = ", ".join(f"#{w}" for w in shown)
    return numbers + ("…" if len(shown) < len(flag.wish_ids) else "")


def what_for(t: Translate, entry: SheetEntry) -> str:
    """What an entry's points were for, in words."""
    if entry.wish_id is not None:
        said = t("Wish #{id}").format(id=entry.wish_id)
        if entry.wish_category is not None:
            said += " · " + t(WISH_CATEGORY_LABELS[entry.wish_category])
        words = " ".join((entry.wish_text or "").split())
        if words:
            cut = len(words) > WISH_TEXT_SHOWN
            said += " · " + (words[:WISH_TEXT_SHOWN] + "…" if cut else words)
        return said
    if entry.kind is LedgerKind.CORRECTION and entry.corrects_id is not None:
        return t("Correction of entry #{id}").format(id=entry.corrects_id)
    if entry.kind is LedgerKind.ADJUSTMENT:
        return t(KIND_LABELS[LedgerKind.ADJUSTMENT])
    return entry.ref


def _sheet(
    book: Workbook, title: str, headers: Sequence[str], rows: Iterable[Sequence[Cell]]
) -> None:
    sheet = book.create_sheet(title)
    table = [list(values) for values in rows]
    widths = [len(h) * 2 for h in headers]  # Chinese characters are about two wide
    for values in table:
        for n, value in enumerate(values):
            size = 17 if isinstance(value, datetime) else len(str(value or "")) + 2
            widths[n] = max(widths[n], size)
    # A write-only sheet takes its widths and frozen header before any row.
    for n, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = min(max(width, 8), WIDEST)
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, h, bold=True) for h in headers])
    for values in table:
        sheet.append([_cell(sheet, v) for v in values])


def _cell(sheet: Any, value: Cell, *, bold: bool = False) -> WriteOnlyCell:
    if isinstance(value, str):
        # Control characters, U+FFFE/U+FFFF and lone surrogates a name or a wish may carry
        # have no place in the file's XML (the whole sheet is refused for one).
        value = xml_safe(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    elif isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    if bold:
        cell.font = Font(bold=True)
    return cell


def workbook(report: QuarterReport, language: str, zone: ZoneInfo) -> bytes:
    """The .xlsx file of a closed quarter."""
    t = translator(language)
    # Write-only: rows stream to the file instead of a cell object graph (fast, small).
    book = Workbook(write_only=True)
    kinds = list(LedgerKind)
    _sheet(
        book,
        t("Ranking"),
        [t("Place"), t("Name"), t("Building"), *(t(KIND_LABELS[k]) for k in kinds), t("Total")],
        (
            [p.place, p.name, p.building or "", *(p.points.get(k, 0) for k in kinds), p.total]
            for p in report.ranked
        ),
    )
    _sheet(
        book,
        t("Entries"),
        [
            t("Date"),
            t("Member"),
            t("Kind"),
            t("What for"),
            t("Points"),
            t("Reason"),
            t("Granted by"),
        ],
        (
            [
                # Excel has no time zones: the community's local time, as people read it.
                e.at.astimezone(zone).replace(tzinfo=None),
                e.member,
                t(KIND_LABELS[e.kind]),
                what_for(t, e),
                e.points,
                e.reason or "",
                e.granted_by or "",
            ]
            for e in report.entries
        ),
    )
    _sheet(
        book,
        t("To check"),
        [t("What to check"), t("Who"), t("What was found"), t("Wishes")],
        (
            [
                t(FLAG_LABELS[f.kind]),
                f.person,
                flag_details(t, f, language, zone),
                wish_numbers(f),
            ]
            for f in report.flags
        ),
    )
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def file_name(t: Translate, report: QuarterReport) -> str:
    """爱心储蓄_南关社区_2026Q4.xlsx (the community's name without path characters)."""
    place = "".join(c for c in report.community if c not in '\\/:*?"<>|').strip()
    parts = [t("Love savings"), place, report.quarter]
    return "_".join(p.replace(" ", "_") for p in parts if p) + ".xlsx"
