"""What /stats shows: the figures of a place and a period as one short message (numbers in the
reader's style, names escaped), the buttons to move through periods and places and to export,
and the words for a period ("2026年11月", "2026年第4季度")."""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent

from bot.i18n import Translate, babel_locale, esc
from bot.models import (
    NODE_LABELS,
    WISH_CATEGORY_LABELS,
    Figures,
    Node,
    Period,
    PeriodKind,
)
from bot.services.stats.period import (
    FIRST_YEAR,
    month_of,
    of_kind,
    quarter_of,
    shifted,
    year_of,
)
from handlers.common import Buttons
from handlers.periods import month_label, quarter_label
from handlers.stats.buttons import (
    ExportCsv,
    ExportExcel,
    PickPlace,
    PlacesPage,
    ShowStats,
    TypePeriod,
    period_word,
)

LEADERS_LISTED = 5


# --- numbers -------------------------------------------------------------------------------


def number(value: float, language: str) -> str:
    """A count or an amount with the reader's thousands separator (12,345)."""
    return format_decimal(value, format="#,##0.#", locale=babel_locale(language))


def money(fen: int, language: str) -> str:
    """RMB from fen: ¥1,234.50."""
    amount = format_decimal(fen / 100, format="#,##0.00", locale=babel_locale(language))
    return f"¥{amount}"


def rate(part: int, whole: int, language: str) -> str | None:
    """A share as a percentage (67%), None when there is nothing to share."""
    if not whole:
        return None
    return format_percent(part / whole, format="#,##0%", locale=babel_locale(language))


def duration(t: Translate, minutes: float | None) -> str:
    """A median time: "42 min", "3 h 5 min", "2 d 4 h"; "—" when nothing got there."""
    if minutes is None:
        return "—"
    whole = round(minutes)
    if whole < 60:
        return t("{minutes} min").format(minutes=whole)
    hours, rest = divmod(whole, 60)
    if hours < 48:
        if rest:
            return t("{hours} h {minutes} min").format(hours=hours, minutes=rest)
        return t("{hours} h").format(hours=hours)
    days, hours = divmod(hours, 24)
    return t("{days} d {hours} h").format(days=days, hours=hours)


# --- periods -------------------------------------------------------------------------------


def period_label(t: Translate, language: str, period: Period) -> str:
    """The period in words: "November 2026" / "2026年11月", "2026 Q4" / "2026年第4季度"."""
    locale = babel_locale(language)
    first, last = period.first_day, period.last_day
    if period.kind is PeriodKind.MONTH:
        return month_label(t, first)
    if period.kind is PeriodKind.QUARTER:
        return quarter_label(t, f"{first.year}Q{(first.month - 1) // 3 + 1}")
    if period.kind is PeriodKind.YEAR:
        return t("the year {year}").format(year=first.year)
    return t("{first} to {last}").format(
        first=format_skeleton("yMMMd", first, locale=locale),
        last=format_skeleton("yMMMd", last, locale=locale),
    )


def last_month(today: date) -> Period:
    return shifted(month_of(today), -1)


# --- the message ---------------------------------------------------------------------------


def figures_text(t: Translate, language: str, f: Figures) -> str:
    """The figures in a few short paragraphs; every figure of `Figures` is in it."""

    def n(value: float) -> str:
        return number(value, language)

    def with_rate(line: str, part: int, whole: int) -> str:
        share = rate(part, whole, language)
        return line if share is None else t("{figures} ({rate})").format(figures=line, rate=share)

    w, u, p, s, tw = f.wishes, f.urgent, f.patrol, f.study, f.twinning
    head = t("📊 <b>Statistics: {place}</b>").format(place=esc(f.node_name))
    lines = [head, esc(period_label(t, language, f.period))]

    lines += ["", t("<b>Micro-wishes</b>")]
    lines.append(
        t("Posted {posted} · claimed {claimed} · done {done} · confirmed {confirmed}").format(
            posted=n(w.posted), claimed=n(w.claimed), done=n(w.done), confirmed=n(w.confirmed)
        )
    )
    lines.append(with_rate(t("Done of posted"), w.done, w.posted) if w.posted else "")
    lines.append(
        t("Median time to be claimed: {claim}; to be done: {done}").format(
            claim=duration(t, w.median_minutes_to_claim),
            done=duration(t, w.median_minutes_to_done),
        )
    )
    for c in w.by_category:
        if c.posted or c.done:
            lines.append(
                t("• {category}: {posted} posted, {done} done").format(
                    category=t(WISH_CATEGORY_LABELS[c.category]),
                    posted=n(c.posted),
                    done=n(c.done),
                )
            )

    lines += ["", t("<b>Urgent help</b>")]
    lines.append(
        t("Asked {posted} · claimed {claimed} · median time to be claimed: {claim}").format(
            posted=n(u.posted), claimed=n(u.claimed), claim=duration(t, u.median_minutes_to_claim)
        )
    )

    lines += ["", t("<b>Members and twinning</b>")]
    lines.append(t("Members active: {count}").format(count=n(f.active_members)))
    lines.append(
        t(
            "Households {households} · pairs {pairs} ({formed} new) · visits {visits} · "
            "help given {help}"
        ).format(
            households=n(tw.households),
            pairs=n(tw.pairs_active),
            formed=n(tw.pairs_formed),
            visits=n(tw.visits),
            help=money(tw.help_fen, language),
        )
    )

    lines += ["", t("<b>Patrol duty</b>")]
    lines.append(
        t("Shifts {shifts} · hours served {hours} · missed {missed}").format(
            shifts=n(p.shifts), hours=n(round(p.hours, 1)), missed=n(p.missed)
        )
    )
    lines.append(
        with_rate(
            t("Findings {findings}, handled {handled}").format(
                findings=n(p.findings), handled=n(p.findings_handled)
            ),
            p.findings_handled,
            p.findings,
        )
    )

    lines += ["", t("<b>Study sessions</b>")]
    a = s.attendance
    lines.append(
        with_rate(
            t(
                "Sessions {sessions} · attended {attended} of {expected} · excused {excused}"
            ).format(
                sessions=n(s.sessions),
                attended=n(a.attended),
                expected=n(a.expected),
                excused=n(a.excused),
            ),
            a.attended,
            a.expected,
        )
    )

    lines += ["", t("<b>Suggestions</b>")]
    lines.append(
        with_rate(
            t("Received {received} · answered {answered}").format(
                received=n(f.suggestions.received), answered=n(f.suggestions.answered)
            ),
            f.suggestions.answered,
            f.suggestions.received,
        )
    )

    if f.leaders:
        lines += ["", t("<b>Most points in the love-savings passbook</b>")]
        for place, leader in enumerate(f.leaders[:LEADERS_LISTED], start=1):
            lines.append(
                t("{place}. {name}: {points} points").format(
                    place=place, name=esc(leader.display_name), points=n(leader.points)
                )
            )
    return "\n".join(line for i, line in enumerate(lines) if line or lines[i - 1])


def working_text(t: Translate) -> str:
    return t("⏳ Counting…")


def typed_prompt(t: Translate) -> str:
    return t(
        "Which period? Write a month (2026-11), a quarter (2026Q4), a year (2026) or two "
        "days (2026-10-01 2026-12-31)."
    )


# --- the buttons ---------------------------------------------------------------------------


def stats_buttons(t: Translate, node: Node, period: Period, today: date) -> Buttons:
    """The period buttons (this month, last month, this quarter, this year, typed), ◀ ▶, the
    places, and the exports; each carries the place and the period it shows."""

    def show(label: str, shown: Period) -> tuple[str, str]:
        data = ShowStats(node_kind=node.kind, node_id=node.id, period=period_word(shown))
        return label, data.pack()

    kinds = [
        show(t("This month"), of_kind(PeriodKind.MONTH, today)),
        show(t("Last month"), last_month(today)),
        show(t("This quarter"), quarter_of(today)),
        show(t("This year"), year_of(today)),
    ]
    typed = (t("Other…"), TypePeriod(node_kind=node.kind, node_id=node.id).pack())
    moves: list[tuple[str, str]] = []
    previous = shifted(period, -1)
    if previous.first_day.year >= FIRST_YEAR:
        moves.append(show("◀", previous))
    following = shifted(period, 1)
    if following.first_day <= today:
        moves.append(show("▶", following))
    word = period_word(period)
    place = (
        t("🏘 Another place"),
        PickPlace(node_kind=node.kind, node_id=node.id, period=word),
    )
    exports = [
        (t("📥 Export Excel"), ExportExcel(node_kind=node.kind, node_id=node.id, period=word)),
        (t("📥 Export CSV"), ExportCsv(node_kind=node.kind, node_id=node.id, period=word)),
    ]
    return [
        kinds[:3],
        [kinds[3], typed],
        moves,
        [(place[0], place[1].pack())],
        [(label, data.pack()) for label, data in exports],
    ]


# Places on one page of the picker: a community of many 楼院 (or a district of many
# communities) must stay within Telegram's 100 buttons of a message.
PLACES_PER_PAGE = 30


def places_buttons(
    t: Translate,
    places: list[tuple[Node, str]],
    period: Period,
    chosen: Node | None,
    page: int = 0,
) -> Buttons:
    """A button a place (its level and name), keeping the period, a page at a time with
    ‹ › between pages; « back to the figures of `chosen` (None: the first place, the
    coordinator's own)."""
    word = period_word(period)
    last = max(0, (len(places) - 1) // PLACES_PER_PAGE)
    page = min(max(page, 0), last)
    shown = places[page * PLACES_PER_PAGE : (page + 1) * PLACES_PER_PAGE]
    rows: list[list[tuple[str, str]]] = []
    for node, name in shown:
        label = f"{t(NODE_LABELS[node.kind])}: {name}"
        rows.append([(label, ShowStats(node_kind=node.kind, node_id=node.id, period=word).pack())])

    def turn(to: int) -> str:
        return PlacesPage(period=word, page=to).pack()

    pages = [("‹", turn(page - 1))] if page > 0 else []
    pages += [("›", turn(page + 1))] if page < last else []
    if pages:
        rows.append(pages)
    home = chosen or places[0][0]
    back = ShowStats(node_kind=home.kind, node_id=home.id, period=word)
    rows.append([(t("« Back"), back.pack())])
    return rows
