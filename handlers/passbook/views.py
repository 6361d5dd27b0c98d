"""The passbook's texts and keyboards: a passbook page (the member's own, or a coordinator's
look at it, with buttons to adjust and correct), the ranking, the points section of /admin, and
the notices a member gets when a coordinator changed their points."""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from bot.i18n import Translate, esc, format_local
from bot.models import N_, LedgerEntry, LedgerKind, RankedMember, User
from bot.services.passbook import (
    RULE_MAX,
    EntryCorrected,
    PassbookPage,
    PointsAdjusted,
    Ranking,
    wish_of,
)
from handlers.admin.buttons import AdminMenu
from handlers.common import Buttons, clipped
from handlers.notices import Shown, ViewEnv, notice_view
from handlers.passbook.buttons import (
    Adjust,
    Correct,
    EditRule,
    FindMember,
    LookUp,
    OpenPassbook,
    PassbookPageButton,
    PointsMenu,
    ShowRanking,
)
from handlers.periods import quarter_label
from handlers.wishes.views import category_label

Rows = list[list[tuple[str, str]]]

# What each kind of work earns, as the points section names it.
RULE_LABELS: dict[LedgerKind, str] = {
    LedgerKind.WISH: N_("A micro-wish confirmed"),
    LedgerKind.URGENT: N_("An urgent request confirmed"),
    LedgerKind.RATING: N_("Each star above 3"),
    LedgerKind.PATROL: N_("An hour of patrol duty"),
    LedgerKind.STUDY: N_("A study session attended"),
    LedgerKind.VISIT: N_("A twinning visit"),
}
MEDALS = ("🥇", "🥈", "🥉")
REASON_SHOWN = 100  # characters of a reason on a page: ten entries must fit one message
CORRECT_PER_ROW = 3


def points_text(points: int) -> str:
    return f"+{points}" if points > 0 else str(points)


def what_for(t: Translate, entry: LedgerEntry, page: PassbookPage) -> str:
    """What an entry was for, in a line (HTML: the reason and names escaped)."""
    wish_id = wish_of(entry)
    category = page.wish_categories.get(wish_id) if wish_id is not None else None
    writer = page.names.get(entry.granted_by) if entry.granted_by is not None else None
    name = esc(writer or "—")
    reason = clipped(entry.reason or "", REASON_SHOWN)
    match entry.kind:
        case LedgerKind.WISH | LedgerKind.URGENT:
            urgent = entry.kind is LedgerKind.URGENT
            if category is None:
                text = t("Urgent help #{id}") if urgent else t("Micro-wish #{id}")
                return text.format(id=wish_id)
            text = (
                t("Urgent help #{id}, {category}") if urgent else t("Micro-wish #{id}, {category}")
            )
            return text.format(id=wish_id, category=category_label(t, category))
        case LedgerKind.RATING:
            return t("Stars bonus for micro-wish #{id}").format(id=wish_id)
        case LedgerKind.PATROL:
            return t("Patrol duty")
        case LedgerKind.STUDY:
            return t("Study session")
        case LedgerKind.VISIT:
            return t("Twinning visit")
        case LedgerKind.ADJUSTMENT:
            return t("Adjusted by {name}: {reason}").format(name=name, reason=reason)
        case LedgerKind.CORRECTION:
            return t("Correction of entry {entry} by {name}: {reason}").format(
                entry=entry.corrects_id, name=name, reason=reason
            )


def entry_line(
    t: Translate, entry: LedgerEntry, page: PassbookPage, language: str, zone: ZoneInfo
) -> str:
    # The year only for entries of another year than this quarter's.
    other_year = entry.quarter[:4] != page.balance.quarter[:4]
    when = format_local(entry.created_at, language, zone, with_year=other_year)
    line = f"<code>{entry.id}</code> · {when} · <b>{points_text(entry.points)}</b> · "
    line += what_for(t, entry, page)
    if entry.id in page.corrected:
        line += t(" (corrected)")
    return line


def passbook_text(
    t: Translate, page: PassbookPage, language: str, zone: ZoneInfo, *, own: bool, first: bool
) -> str:
    balance = page.balance
    title = (
        t("<b>💝 My love-savings passbook</b>")
        if own
        else t("<b>💝 Love-savings passbook of {name}</b>").format(
            name=esc(page.member.display_name)
        )
    )
    lines = [
        title,
        t("This quarter ({quarter}): <b>{points}</b> points").format(
            quarter=quarter_label(t, balance.quarter), points=balance.this_quarter
        ),
        t("All time: <b>{points}</b> points").format(points=balance.all_time),
        "",
    ]
    if not page.entries:
        lines.append(
            t("No entries yet. Points are added when a resident confirms a wish you helped with.")
            if first
            else t("There are no earlier entries.")
        )
    else:
        lines.append(t("<b>Latest entries</b>") if first else t("<b>Earlier entries</b>"))
        lines += [entry_line(t, e, page, language, zone) for e in page.entries]
    return "\n".join(lines)


def _paging(t: Translate, page: PassbookPage, first: bool) -> list[tuple[str, str]]:
    row = []
    if not first:
        row.append((t("‹ Newest"), PassbookPageButton(member_id=page.member.id, before=0).pack()))
    if page.next_before is not None:
        row.append(
            (
                t("Older ›"),
                PassbookPageButton(member_id=page.member.id, before=page.next_before).pack(),
            )
        )
    return row


def passbook_view(
    t: Translate, viewer: User, page: PassbookPage, zone: ZoneInfo, *, first: bool
) -> tuple[str, Rows]:
    """The page as its reader sees it: their own passbook, or a coordinator's look at someone
    else's (with a correct button on each entry that can still be corrected, and adjust)."""
    own = page.member.id == viewer.id
    text = passbook_text(t, page, viewer.language, zone, own=own, first=first)
    rows: Rows = []
    if own:
        rows.append(_paging(t, page, first))
        rows.append([(t("🏅 This quarter's ranking"), ShowRanking().pack())])
        return text, [r for r in rows if r]
    correctable = [
        e
        for e in page.entries
        if e.kind is not LedgerKind.CORRECTION and e.id not in page.corrected and e.points
    ]
    buttons = [
        (t("↩️ Correct {entry}").format(entry=e.id), Correct(entry_id=e.id).pack())
        for e in correctable
    ]
    rows += [buttons[i : i + CORRECT_PER_ROW] for i in range(0, len(buttons), CORRECT_PER_ROW)]
    rows.append([(t("✏️ Adjust points"), Adjust(member_id=page.member.id).pack())])
    rows.append(_paging(t, page, first))
    rows.append([(t("« Points"), PointsMenu().pack())])
    return text, [r for r in rows if r]


# --- the ranking -------------------------------------------------------------------------------


def _ranked_line(t: Translate, ranked: RankedMember, *, with_building: bool) -> str:
    place = MEDALS[ranked.place - 1] if ranked.place <= len(MEDALS) else f"{ranked.place}."
    name = esc(ranked.display_name)
    if with_building and ranked.building_name:
        name = t("{name} ({building})").format(name=name, building=esc(ranked.building_name))
    return t("{place} {name}: {points} points").format(
        place=place, name=name, points=ranked.points
    )


def ranking_text(t: Translate, ranking: Ranking, *, viewer_ranked: bool = True) -> str:
    lines = [
        t("<b>🏅 This quarter's ranking</b> ({quarter})").format(
            quarter=quarter_label(t, ranking.quarter)
        ),
        "",
        t("<b>The whole community</b>"),
    ]
    if not ranking.community:
        lines.append(t("Nobody has points yet this quarter."))
    lines += [_ranked_line(t, r, with_building=True) for r in ranking.community]
    if ranking.building_name is not None:
        lines += ["", f"<b>{esc(ranking.building_name)}</b>"]
        if not ranking.building:
            lines.append(t("Nobody has points yet this quarter."))
        lines += [_ranked_line(t, r, with_building=False) for r in ranking.building]
    if viewer_ranked:
        lines.append("")
        if ranking.place is None:
            lines.append(t("You have no points yet this quarter."))
        else:
            place, points = ranking.place
            lines.append(
                t("You are number {place} in the community, with {points} points.").format(
                    place=place, points=points
                )
            )
            if ranking.building_place is not None and ranking.building_name is not None:
                lines.append(
                    t("In {building} you are number {place}.").format(
                        building=esc(ranking.building_name), place=ranking.building_place[0]
                    )
                )
    return "\n".join(lines)


# --- the coordinators' points section ----------------------------------------------------------


def points_menu_view(
    t: Translate, rules: Mapping[LedgerKind, int], ranking: Ranking
) -> tuple[str, Rows]:
    lines = [
        t("<b>Points</b> (love-savings passbook)"),
        t("Points for each kind of work (they count for new entries):"),
        *(
            "• " + t("{label}: <b>{points}</b>").format(label=t(RULE_LABELS[kind]), points=points)
            for kind, points in rules.items()
            if kind in RULE_LABELS
        ),
        "",
        t("<b>This quarter's leaders</b>"),
    ]
    lines += [_ranked_line(t, r, with_building=True) for r in ranking.community]
    if not ranking.community:
        lines.append(t("Nobody has points yet this quarter."))
    lines.append("")
    lines.append(t("Choose a member to see their passbook, adjust or correct points."))
    rules_buttons = [
        (f"✏️ {t(RULE_LABELS[kind])}", EditRule(kind=kind).pack())
        for kind in rules
        if kind in RULE_LABELS
    ]
    rows: Rows = [rules_buttons[i : i + 2] for i in range(0, len(rules_buttons), 2)]
    rows += [
        [(f"{r.display_name} · {r.points}", LookUp(member_id=r.member_id).pack())]
        for r in ranking.community
    ]
    rows.append([(t("🔎 Find a member"), FindMember().pack())])
    rows.append([(t("« Back"), AdminMenu().pack())])
    return "\n".join(lines), rows


def rule_question(t: Translate, kind: LedgerKind, points: int) -> str:
    return t(
        "How many points for “{label}” from now on? It is {points} now. "
        "Please type a whole number from 0 to {high}."
    ).format(label=t(RULE_LABELS[kind]), points=points, high=RULE_MAX)


# --- what a member is told ---------------------------------------------------------------------


def _open(t: Translate) -> Buttons:
    return (((t("💝 My love-savings passbook"), OpenPassbook().pack()),),)


@notice_view(PointsAdjusted)
async def adjusted(notice: PointsAdjusted, env: ViewEnv) -> Shown:
    t, entry = env.t, notice.entry
    text = (
        t(
            "{name} of the community staff added {points} points to your love-savings "
            "passbook. Reason: {reason}"
        )
        if entry.points > 0
        else t(
            "{name} of the community staff took {points} points from your love-savings "
            "passbook. Reason: {reason}"
        )
    )
    return Shown(
        text.format(name=esc(notice.by), points=abs(entry.points), reason=esc(entry.reason or "")),
        _open(t),
    )


@notice_view(EntryCorrected)
async def corrected(notice: EntryCorrected, env: ViewEnv) -> Shown:
    t, entry = env.t, notice.entry
    text = t(
        "{name} of the community staff corrected entry {entry} of your love-savings passbook "
        "({points} points). Reason: {reason}"
    ).format(
        name=esc(notice.by),
        entry=notice.corrected.id,
        points=points_text(entry.points),
        reason=esc(entry.reason or ""),
    )
    return Shown(text, _open(t))
