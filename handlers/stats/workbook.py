"""The layout of `/export`'s files: a summary sheet, then one sheet per area, with their
headers, widths and cells in the coordinator's language; written as an .xlsx workbook
(openpyxl's write-only mode: rows go to the file as they come) or as a .zip of CSV files.

Every text cell is written as text: a name starting with "=" must never become a formula in
the coordinator's spreadsheet program (in the workbook the cell's type says so; a CSV file
has no types, so there a text that a spreadsheet would read as a formula — starting with =,
+, -, @, a tab or a carriage return, also behind spaces or full-width — gets a leading
apostrophe, the usual mark for "this is text"). Characters XML cannot hold are removed.
Times are the community's local time (Excel has no time zones); money is a number of yuan.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bot.i18n import Translate
from bot.models import (
    N_,
    SUGGESTION_STATUS_LABELS,
    SUGGESTION_TOPIC_LABELS,
    WISH_CATEGORY_LABELS,
    WISH_STATUS_LABELS,
    Figures,
    FindingRow,
    FindingStatus,
    PassbookRow,
    Period,
    PeriodKind,
    ReportArea,
    SessionRow,
    ShiftRow,
    SuggestionRow,
    SuggestionStatus,
    SuggestionTopic,
    VisitRow,
    WishCategory,
    WishRow,
    WishStatus,
)

# Excel's rows per sheet, the header's included: a longer area goes on in "Wishes (2)".
MAX_ROWS = 1_048_576
WIDEST = 60

Value = str | int | float | datetime | date | None

FINDING_STATUS_LABELS: dict[FindingStatus, str] = {
    FindingStatus.NEW: N_("Not handled yet"),
    FindingStatus.HANDLED: N_("Handled"),
    FindingStatus.WISHED: N_("Made a wish"),
}


@dataclass(frozen=True)
class Column:
    title: str  # a message id
    width: int  # characters


AREA_TITLES: dict[ReportArea, str] = {
    ReportArea.WISHES: N_("Wishes"),
    ReportArea.VISITS: N_("Twinning visits"),
    ReportArea.PATROL: N_("Patrol shifts"),
    ReportArea.FINDINGS: N_("Patrol findings"),
    ReportArea.STUDY: N_("Study sessions"),
    ReportArea.SUGGESTIONS: N_("Suggestions"),
    ReportArea.PASSBOOK: N_("Passbook"),
}
SUMMARY_TITLE = N_("Summary")

WISH_COLUMNS = [
    Column(N_("Wish"), 9),
    Column(N_("Posted at"), 19),
    Column(N_("Building"), 12),
    Column(N_("Kind of help"), 14),
    Column(N_("Urgent"), 8),
    Column(N_("Status"), 14),
    Column(N_("Claimed at"), 19),
    Column(N_("Done at"), 19),
    Column(N_("Confirmed at"), 19),
    Column(N_("Minutes to claim"), 10),
    Column(N_("Helper or team"), 16),
]
CONTACT_COLUMNS = [
    Column(N_("Resident"), 14),
    Column(N_("Room"), 10),
    Column(N_("Phone"), 14),
]

COLUMNS: dict[ReportArea, list[Column]] = {
    ReportArea.WISHES: WISH_COLUMNS,
    ReportArea.VISITS: [
        Column(N_("Date"), 12),
        Column(N_("Member"), 14),
        Column(N_("Household"), 14),
        Column(N_("Building"), 12),
        Column(N_("Help (RMB)"), 12),
    ],
    ReportArea.PATROL: [
        Column(N_("Post"), 16),
        Column(N_("Start"), 19),
        Column(N_("End"), 19),
        Column(N_("Members on the shift"), 9),
        Column(N_("Hours served"), 10),
        Column(N_("Missed"), 8),
    ],
    ReportArea.FINDINGS: [
        Column(N_("Finding"), 9),
        Column(N_("Reported at"), 19),
        Column(N_("Post"), 16),
        Column(N_("Building"), 12),
        Column(N_("Reported by"), 14),
        Column(N_("Status"), 12),
        Column(N_("Handled at"), 19),
        Column(N_("Wish"), 9),
    ],
    ReportArea.STUDY: [
        Column(N_("Title"), 30),
        Column(N_("Start"), 19),
        Column(N_("Attended"), 9),
        Column(N_("Excused"), 9),
        Column(N_("Absent"), 9),
    ],
    ReportArea.SUGGESTIONS: [
        Column(N_("Suggestion"), 9),
        Column(N_("Topic"), 16),
        Column(N_("Date"), 19),
        Column(N_("Status"), 12),
        Column(N_("Answered at"), 19),
        Column(N_("Replies"), 8),
        Column(N_("Author"), 14),
    ],
    ReportArea.PASSBOOK: [Column(N_("Member"), 16), Column(N_("Points"), 10)],
}


def columns(area: ReportArea, contacts: bool) -> list[Column]:
    """The area's columns; the wishes' contact columns only in a coordinator's export."""
    if area is ReportArea.WISHES and contacts:
        return WISH_COLUMNS + CONTACT_COLUMNS
    return COLUMNS[area]


# --- rows to cells ----------------------------------------------------------------------------

Cells = Callable[[Any], list[Value]]


def cells_of(area: ReportArea, t: Translate, zone: ZoneInfo, contacts: bool) -> Cells:
    """The function that turns one of the area's rows into its cells."""

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(zone).replace(tzinfo=None) if moment is not None else None

    yes, no = t("Yes"), t("No")
    categories = {c.value: t(WISH_CATEGORY_LABELS[c]) for c in WishCategory}
    statuses = {s.value: t(WISH_STATUS_LABELS[s]) for s in WishStatus}
    topics = {s.value: t(SUGGESTION_TOPIC_LABELS[s]) for s in SuggestionTopic}
    suggestion_statuses = {s.value: t(SUGGESTION_STATUS_LABELS[s]) for s in SuggestionStatus}
    finding_statuses = {s.value: t(FINDING_STATUS_LABELS[s]) for s in FindingStatus}
    anonymous = t("Anonymous")

    def wish(w: WishRow) -> list[Value]:
        minutes = (
            round((w.claimed_at - w.posted_at).total_seconds() / 60)
            if w.claimed_at is not None
            else None
        )
        values: list[Value] = [
            w.id,
            local(w.posted_at),
            w.building,
            categories.get(w.category, w.category),
            yes if w.urgent else no,
            statuses.get(w.status, w.status),
            local(w.claimed_at),
            local(w.done_at),
            local(w.confirmed_at),
            minutes,
            w.helper,
        ]
        if contacts:
            values += [w.resident, w.room, w.phone]
        return values

    def visit(v: VisitRow) -> list[Value]:
        return [v.visited_on, v.member, v.household, v.building, v.help_fen / 100]

    def shift(s: ShiftRow) -> list[Value]:
        hours = s.minutes_served / 60  # not rounded: the column adds up to the figures' hours
        return [s.post, local(s.starts_at), local(s.ends_at), s.members, hours, s.missed]

    def finding(f: FindingRow) -> list[Value]:
        return [
            f.id,
            local(f.reported_at),
            f.post,
            f.building,
            f.reporter,
            finding_statuses.get(f.status, f.status),
            local(f.handled_at),
            f.wish_id,
        ]

    def session(s: SessionRow) -> list[Value]:
        return [s.title, local(s.starts_at), s.attended, s.excused, s.absent]

    def suggestion(s: SuggestionRow) -> list[Value]:
        return [
            s.id,
            topics.get(s.topic, s.topic),
            local(s.created_at),
            suggestion_statuses.get(s.status, s.status),
            local(s.answered_at),
            s.replies,
            s.author if s.author is not None else anonymous,
        ]

    def passbook(p: PassbookRow) -> list[Value]:
        return [p.member, p.points]

    by_area: dict[ReportArea, Cells] = {
        ReportArea.WISHES: wish,
        ReportArea.VISITS: visit,
        ReportArea.PATROL: shift,
        ReportArea.FINDINGS: finding,
        ReportArea.STUDY: session,
        ReportArea.SUGGESTIONS: suggestion,
        ReportArea.PASSBOOK: passbook,
    }
    return by_area[area]


# --- names --------------------------------------------------------------------------------


def period_in_file_name(t: Translate, period: Period) -> str:
    """2026-11, 2026年第4季度 / 2026Q4, 2026, 2026-10-01–2026-12-31."""
    first = period.first_day
    if period.kind is PeriodKind.MONTH:
        return f"{first.year}-{first.month:02d}"
    if period.kind is PeriodKind.QUARTER:
        return t("{year}Q{quarter}").format(year=first.year, quarter=(first.month - 1) // 3 + 1)
    if period.kind is PeriodKind.YEAR:
        return str(first.year)
    return f"{first.isoformat()}_{period.last_day.isoformat()}"


def file_name(t: Translate, place: str, period: Period, extension: str) -> str:
    """统计_南关社区_2026-11.xlsx (the place's name without path characters)."""
    place = "".join(c for c in place if c not in '\\/:*?"<>|\0').strip()
    parts: list[str] = [t("Statistics"), place, period_in_file_name(t, period)]
    return "_".join(p.replace(" ", "_") for p in parts if p) + "." + extension


def sheet_title(text: str) -> str:
    """A name Excel takes for a sheet: at most 31 characters, none of []:*?/\\."""
    return "".join(c for c in text if c not in "[]:*?/\\")[:31] or "-"


# --- writers --------------------------------------------------------------------------------


class Sheet(Protocol):
    def append(self, values: Sequence[Value]) -> None: ...


class Writer(Protocol):
    def sheet(self, title: str, headers: Sequence[Column], t: Translate) -> Sheet: ...

    def close(self) -> None: ...


# What XML cannot hold: openpyxl's control characters, and U+FFFE and U+FFFF (lxml refuses
# the whole file) and lone surrogates (UTF-8 cannot encode them). One pattern: it runs on every
# text cell of an export.
_NOT_XML = re.compile(ILLEGAL_CHARACTERS_RE.pattern + "|[\ufffe\uffff\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """A text without the characters XML cannot hold (they mean nothing in a cell): one in a
    name would fail every export that name is in."""
    return _NOT_XML.sub("", text)


class _XlsxSheet:
    def __init__(self, book: Workbook, title: str, headers: Sequence[str], widths: list[int]):
        self._book, self._title = book, title
        self._headers, self._widths = headers, widths
        self._part = 0
        self._rows = 0
        self._open()

    def _open(self) -> None:
        self._part += 1
        title = self._title if self._part == 1 else sheet_title(f"{self._title} ({self._part})")
        # A write-only sheet takes its widths and frozen header before any row.
        self._sheet = self._book.create_sheet(title)
        for n, width in enumerate(self._widths, start=1):
            self._sheet.column_dimensions[get_column_letter(n)].width = width
        self._sheet.freeze_panes = "A2"
        header = []
        for text in self._headers:
            cell = WriteOnlyCell(self._sheet, value=xml_safe(text))
            cell.data_type = "s"
            cell.font = Font(bold=True)
            header.append(cell)
        self._sheet.append(header)
        self._rows = 1

    def append(self, values: Sequence[Value]) -> None:
        if self._rows >= MAX_ROWS:
            self._open()
        row: list[Any] = list(values)
        for n, value in enumerate(row):
            if isinstance(value, str):
                value = xml_safe(value)
                if value.startswith("="):
                    # openpyxl takes a text starting with "=" for a formula; a typed cell
                    # is text whatever it says.
                    cell = WriteOnlyCell(self._sheet, value=value)
                    cell.data_type = "s"
                    row[n] = cell
                else:
                    row[n] = value
        self._sheet.append(row)
        self._rows += 1


class XlsxWriter:
    """An .xlsx workbook, written as the rows come (openpyxl's write-only mode keeps each
    sheet in a temporary file, not in memory)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._book = Workbook(write_only=True)

    def sheet(self, title: str, headers: Sequence[Column], t: Translate) -> Sheet:
        titles = [t(c.title) for c in headers]
        widths = [
            min(max(c.width, len(title) * 2, 8), WIDEST)
            for c, title in zip(headers, titles, strict=True)
        ]
        return _XlsxSheet(self._book, sheet_title(title), titles, widths)

    def close(self) -> None:
        self._book.save(self._path)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _formula_like(text: str) -> bool:
    """Whether a spreadsheet could read `text` as a formula: it starts with one of
    `_FORMULA_STARTS`, also behind spaces or line breaks, or in full-width letters (＝, ＋)."""
    if text.startswith(_FORMULA_STARTS):
        return True
    first = text.lstrip()[:1]
    return unicodedata.normalize("NFKC", first).startswith(_FORMULA_STARTS)


def csv_text(value: Value) -> str:
    """A cell as CSV text: the same values the workbook holds, in the same local time."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        value = xml_safe(value)
        return "'" + value if _formula_like(value) else value
    return str(value)


class _CsvSheet:
    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def append(self, values: Sequence[Value]) -> None:
        self._writer.writerow([csv_text(v) for v in values])


class CsvWriter:
    """A .zip of CSV files, one per sheet, in UTF-8 with a byte-order mark (so that Excel
    reads Chinese right), numbered in the workbook's order. Each file is written as it
    comes; one at a time (a zip takes one entry at a time)."""

    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self._open: io.TextIOWrapper | None = None
        self._count = 0

    def sheet(self, title: str, headers: Sequence[Column], t: Translate) -> Sheet:
        self._finish()
        self._count += 1
        name = f"{self._count}_{sheet_title(title)}.csv"
        entry = self._zip.open(name, "w", force_zip64=True)
        self._open = io.TextIOWrapper(entry, encoding="utf-8-sig", newline="")
        # Every field quoted: a ";" in a name stays in its cell where ";" separates fields.
        writer = csv.writer(self._open, quoting=csv.QUOTE_ALL)
        writer.writerow([csv_text(t(c.title)) for c in headers])
        return _CsvSheet(writer)

    def _finish(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None

    def close(self) -> None:
        self._finish()
        self._zip.close()


def write_rows(sheet: Sheet, rows: Iterable[Any], cells: Cells) -> int:
    """Append each row's cells; how many."""
    count = 0
    for row in rows:
        sheet.append(cells(row))
        count += 1
    return count


# --- the summary sheet ------------------------------------------------------------------------

SUMMARY_COLUMNS = [Column(N_("Figure"), 36), Column(N_("Value"), 24)]


def summary_rows(
    t: Translate,
    *,
    place: str,
    period: Period,
    zone: ZoneInfo,
    made_at: datetime,
    figures: Figures | None,
) -> list[list[Value]]:
    """The summary sheet: what the file covers, then the figures `/stats` shows for the same
    place and period (the detail sheets add up to them)."""
    rows: list[list[Value]] = [
        [t("Covering"), place],
        [t("Period"), f"{period.first_day.isoformat()} – {period.last_day.isoformat()}"],
        [t("Time zone"), str(zone)],
        [t("Made at"), made_at.astimezone(zone).replace(tzinfo=None)],
    ]
    if figures is None:
        return rows
    w, u, p, s = figures.wishes, figures.urgent, figures.patrol, figures.study
    twin, sug = figures.twinning, figures.suggestions
    rows += [
        [t("Wishes posted"), w.posted],
        [t("Wishes claimed"), w.claimed],
        [t("Wishes done"), w.done],
        [t("Wishes confirmed"), w.confirmed],
        [t("Median minutes to claim"), w.median_minutes_to_claim],
        [t("Median minutes to done"), w.median_minutes_to_done],
    ]
    rows += [
        [
            t("Wishes posted: {category}").format(category=t(WISH_CATEGORY_LABELS[c.category])),
            c.posted,
        ]
        for c in w.by_category
    ]
    rows += [
        [t("Urgent requests posted"), u.posted],
        [t("Urgent requests claimed"), u.claimed],
        [t("Median minutes to claim an urgent request"), u.median_minutes_to_claim],
        [t("Active members"), figures.active_members],
        [t("Households"), twin.households],
        [t("Pairs active"), twin.pairs_active],
        [t("Pairs formed"), twin.pairs_formed],
        [t("Visits"), twin.visits],
        [t("Help given (RMB)"), twin.help_fen / 100],
        [t("Patrol shifts"), p.shifts],
        [t("Patrol hours"), round(p.hours, 2)],
        [t("Places missed"), p.missed],
        [t("Findings"), p.findings],
        [t("Findings handled"), p.findings_handled],
        [t("Study sessions"), s.sessions],
        [t("Attended"), s.attendance.attended],
        [t("Excused"), s.attendance.excused],
        [t("Absent"), s.attendance.absent],
        [t("Suggestions received"), sug.received],
        [t("Suggestions answered"), sug.answered],
    ]
    rows += [
        [
            t("Suggestions received: {topic}").format(topic=t(SUGGESTION_TOPIC_LABELS[x.topic])),
            x.received,
        ]
        for x in sug.by_topic
    ]
    return rows
