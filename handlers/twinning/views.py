"""Twinning's notices as texts: a pair made or ended (to the member; to the household's
linked resident), a member behind their visits, the coordinators told of a pair twice
behind. No contact details: the member reads those in /twins, where they are checked."""

from __future__ import annotations

from bot.i18n import Translate, esc
from bot.models import CADENCE_LABELS, Cadence
from bot.services.twinning import (
    PairEndedForHousehold,
    PairEndedNotice,
    PairMade,
    PairMadeForHousehold,
    TwinningNotice,
    VisitDue,
    VisitsOverdue,
)
from handlers.notices import Shown, ViewEnv, notice_view
from handlers.twinning.visit_buttons import DueVisit


def cadence_label(t: Translate, days: int) -> str:
    if days in {c.value for c in Cadence}:
        return t(CADENCE_LABELS[Cadence(days)])
    return t("Every {days} days").format(days=days)


def _where(notice: TwinningNotice) -> dict[str, str]:
    return {"household": esc(notice.household_name), "building": esc(notice.building_name)}


@notice_view(PairMade)
async def paired(notice: PairMade, env: ViewEnv) -> Shown:
    t = env.t
    text = t(
        "🤝 You are now twinned with {household} ({building}). How often to visit: "
        "{cadence}. You find them in /twins, and log each visit there."
    ).format(cadence=cadence_label(t, notice.cadence_days), **_where(notice))
    return Shown(text)


@notice_view(PairMadeForHousehold)
async def paired_household(notice: PairMadeForHousehold, env: ViewEnv) -> Shown:
    text = env.t(
        "🤝 From now on {member}, a member of the community, is twinned with your household "
        "({household}) and will visit you regularly."
    ).format(member=esc(notice.member_name), **_where(notice))
    return Shown(text)


@notice_view(PairEndedNotice)
async def ended(notice: PairEndedNotice, env: ViewEnv) -> Shown:
    text = env.t("Your twinning with {household} ({building}) has ended. Reason: {reason}").format(
        reason=esc(notice.reason), **_where(notice)
    )
    return Shown(text)


@notice_view(PairEndedForHousehold)
async def ended_household(notice: PairEndedForHousehold, env: ViewEnv) -> Shown:
    text = env.t(
        "{member}'s twinning with your household ({household}) has ended. The community "
        "staff will be in touch."
    ).format(member=esc(notice.member_name), **_where(notice))
    return Shown(text)


@notice_view(VisitDue)
async def visit_due(notice: VisitDue, env: ViewEnv) -> Shown | None:
    t, twinning = env.t, env.services.twinning
    pair = await twinning.reminded_pair(notice.pair_id, notice.anchor)
    if pair is None:
        return None  # visited or ended while the reminder waited (quiet hours, a backlog)
    if pair.last_visited_on is not None and pair.last_visited_on == twinning.anchor(pair):
        text = t(
            "⏰ It has been {days} days since your last visit to {household} ({building}); you "
            "planned one every {cadence} days. Please drop by, and log the visit with the "
            "button below."
        )
    else:
        text = t(
            "⏰ It has been {days} days since you were paired with {household} ({building}), "
            "and there has been no visit yet; you planned one every {cadence} days. Please "
            "drop by, and log the visit with the button below."
        )
    text = text.format(days=notice.days, cadence=notice.cadence_days, **_where(notice))
    # The button names the pair; the visit dialogue checks it is still the reader's.
    return Shown(text, [[(t("📝 Log a visit"), DueVisit(pair_id=notice.pair_id).pack())]])


@notice_view(VisitsOverdue)
async def overdue(notice: VisitsOverdue, env: ViewEnv) -> Shown | None:
    if await env.services.twinning.reminded_pair(notice.pair_id, notice.anchor) is None:
        return None  # visited or ended while the notice waited: nothing to arrange
    text = env.t(
        "⚠️ {member} has not visited {household} ({building}) for {days} days (planned every "
        "{cadence} days). Please get in touch with the member, or arrange for someone else to "
        "visit."
    ).format(
        member=esc(notice.member_name),
        days=notice.days,
        cadence=notice.cadence_days,
        **_where(notice),
    )
    return Shown(text)
