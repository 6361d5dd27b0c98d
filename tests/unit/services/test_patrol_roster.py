"""The week's patrol roster in the members' group: posted once for this week and the next
when their shifts are defined (not a month of rosters at once), and each later week once it
becomes next week. (That it is edited as shifts change: tests/e2e/test_patrol_admin.py.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.models import Recurrence, Role
from bot.services import Services
from bot.services.patrol import roster_thing
from storage import live as live_repo
from storage import outbox as outbox_repo
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID, RegisterUser, make_settings

GROUP = -100555
MORNING = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 on Tuesday 24 November, Shanghai
MONDAY = date(2026, 11, 23)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, members_group_id=GROUP)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MORNING)


async def _group_rosters(services: Services) -> list[str]:
    async with services.store.read() as conn:
        rows = await outbox_repo.rows_for_chat(conn, GROUP)
    return [str((r.params or {}).get("key")) for r in rows if r.kind == "live.show"]


async def test_the_group_gets_this_and_next_weeks_roster_then_each_week_as_it_comes(
    services: Services, register: RegisterUser, clock: ManualClock
) -> None:
    await register(COORDINATOR_ID, "李书记")
    coordinator = await services.users.require(COORDINATOR_ID)
    community = services.default_community_id
    post = await services.patrol.create_post(
        coordinator, name="东门岗", area=None, building_ids=[]
    )
    shifts = await services.patrol.define_shifts(
        coordinator,
        post.id,
        day=date(2026, 11, 25),
        start=time(19),
        end=time(21),
        capacity=2,
        recurrence=Recurrence.DAILY,
        count=30,
    )
    weeks = [MONDAY, MONDAY + timedelta(days=7)]
    assert await _group_rosters(services) == [f"{roster_thing(community, w)}:group" for w in weeks]

    # A member takes a shift: no second roster for the same week.
    await register(200, "王党员")
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, 200, Role.MEMBER, None, MORNING)
        assert await live_repo.by_key(conn, f"{roster_thing(community, MONDAY)}:group")
    await services.patrol.take(await services.users.require(200), shifts[0].slot.id)
    assert len(await _group_rosters(services)) == 2

    # A week on, the first shift of the week after next starts: that week's roster follows.
    clock.current = shifts[7].slot.starts_at + timedelta(seconds=30)
    await services.reminders.run_due()
    assert len(await _group_rosters(services)) == 3
