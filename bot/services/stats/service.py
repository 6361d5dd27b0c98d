"""The figures of a place and a period (`/stats`, and the summary sheet of `/export`), for a
coordinator at or above that place. Each area is counted by storage.stats in the database;
this only checks who asks about what, and puts the areas together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.models import Figures, Node, NodeKind, Period, PeriodKind, TwinningTotals, User
from bot.services.passbook import quarter_of
from bot.services.scope import require_coordinator
from bot.services.stats.period import bounds, reach_within
from bot.services.stats.period import quarter_of as quarter_around
from storage import org
from storage import stats as repo
from storage import twinning as twinning_repo
from storage.store import Store


@dataclass
class StatsService:
    store: Store
    settings: Settings
    clock: Clock

    async def figures(self, actor: User, node: Node | None, period: Period) -> Figures:
        """Everything `/stats` shows for `node` (None: the coordinator's own) over `period`.
        Refused (NotAllowed) for anyone but a coordinator, and as not found for a node that
        is not at or below theirs. One read, off the event loop: a year of a district is a
        long read, and the bot answers everyone else meanwhile."""
        require_coordinator(actor)
        start, end = bounds(period, self.settings.zone)
        now = self.clock.now()
        async with self.store.read(off_loop=True) as conn:
            reach = await reach_within(conn, actor, node)
            places, building = reach.community_ids, reach.building_id
            name = await org.node_name(conn, reach.node)
            wishes, urgent = await repo.wish_figures(conn, places, building, start, end)
            quarters, ranges = _quarters_and_rest(period, self.settings.zone)
            active, leaders = await repo.passbook_figures(conn, places, building, quarters, ranges)
            counted = await twinning_repo.totals(
                conn,
                community_ids=places,
                building_id=building,
                start=period.first_day,
                end=period.last_day,
                from_moment=start,
                until_moment=end,
            )
            patrol = await repo.patrol_figures(conn, places, building, start, end, now)
            study = await repo.study_figures(conn, places, building, start, end, now)
            suggestions = await repo.suggestion_figures(conn, places, building, start, end)
        one_community = reach.node.kind in (NodeKind.COMMUNITY, NodeKind.BUILDING)
        return Figures(
            node=reach.node,
            node_name=name,
            period=period,
            zone=self.settings.zone.key,
            wishes=wishes,
            urgent=urgent,
            active_members=active,
            twinning=TwinningTotals(
                start=period.first_day,
                end=period.last_day,
                community_id=reach.only_community if one_community else None,
                building_id=building,
                **counted,
            ),
            patrol=patrol,
            study=study,
            suggestions=suggestions,
            leaders=leaders,
        )

    async def nodes(self, actor: User) -> list[tuple[Node, str]]:
        """The places a coordinator may ask figures of, with their names: their own node
        first, then what lies below it — a district's streets and communities, a street's
        communities; the buildings only when the node holds one community (a street's or a
        district's buildings are too many to pick from)."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            found: list[tuple[Node, str]] = [(reach.node, await org.node_name(conn, reach.node))]
            if reach.building_id is not None:
                return found
            communities = await org.list_communities(conn, reach.community_ids)
            if reach.node.kind is NodeKind.DISTRICT:
                peopled = {community.street_id for community in communities}
                for street in await org.list_streets(conn, reach.node.id):
                    if street.id in peopled:  # an empty street has no figures to show
                        found.append((Node(kind=NodeKind.STREET, id=street.id), street.name))
            if reach.node.kind is not NodeKind.COMMUNITY:
                for community in communities:
                    found.append((Node(kind=NodeKind.COMMUNITY, id=community.id), community.name))
            if len(communities) == 1:
                for building in await org.list_buildings(conn, communities[0].id):
                    found.append((Node(kind=NodeKind.BUILDING, id=building.id), building.name))
        return found


def _quarters_and_rest(
    period: Period, zone: ZoneInfo
) -> tuple[list[str], list[tuple[datetime, datetime]]]:
    """The whole quarters in the period ("2026Q4", as the passbook's totals name them) and the
    instants of the days around them: a year is four quarters, a month none and one range."""
    quarters: list[str] = []
    ranges: list[tuple[datetime, datetime]] = []
    day = period.first_day
    while day <= period.last_day:
        quarter = quarter_around(day)
        last = min(quarter.last_day, period.last_day)
        if quarter.first_day == day and quarter.last_day == last:
            quarters.append(quarter_of(bounds(quarter, zone)[0], zone))
        else:
            ranges.append(
                bounds(Period(kind=PeriodKind.CUSTOM, first_day=day, last_day=last), zone)
            )
        day = last + timedelta(days=1)
    return quarters, ranges
