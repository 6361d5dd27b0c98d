"""The cadence notices as they leave, which may be hours after they were recorded (quiet
hours, a backlog): the member's "visit due" and the coordinators' "overdue" are dropped once a
visit moved the pair's anchor or the pair ended, and the member is told "since you were
paired" while there has been no visit, "since your last visit" after one."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import handlers.twinning.views  # noqa: F401  (registers twinning's notice views)
from bot.clock import ManualClock
from bot.models import Cadence, Pair, Role, User, VisitCategory
from bot.services import Services
from bot.services.twinning import HouseholdDraft, VisitDraft, VisitDue, VisitsOverdue
from handlers.notices import Shown, render_notice
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID, DAYTIME, RegisterUser

MEMBER = 200


@dataclass
class Twinned:
    coordinator: User
    member: User
    pair: Pair


@pytest.fixture
async def twinned(services: Services, register: RegisterUser) -> Twinned:
    await register(COORDINATOR_ID, "李书记")
    coordinator = await services.users.require(COORDINATOR_ID)
    building = await services.admin.add_building(
        coordinator, "3号楼", services.default_community_id
    )
    await register(MEMBER, "王党员")
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, MEMBER, Role.MEMBER, None, DAYTIME)
    household = await services.twinning.register_household(
        coordinator, HouseholdDraft(name="张奶奶家", building_id=building.id, consent=True)
    )
    pair = await services.twinning.pair(coordinator, MEMBER, household.id, Cadence.WEEKLY)
    return Twinned(coordinator, await services.users.require(MEMBER), pair)


def _due(services: Services, pair: Pair, **changes: object) -> VisitDue:
    values: dict[str, object] = {
        "community_id": pair.community_id,
        "household_name": "张奶奶家",
        "building_name": "3号楼",
        "pair_id": pair.id,
        "days": 7,
        "cadence_days": 7,
        "anchor": services.twinning.anchor(pair),
    }
    values.update(changes)
    return VisitDue.model_validate(values)


def _overdue(services: Services, pair: Pair) -> VisitsOverdue:
    due = _due(services, pair, days=14)
    return VisitsOverdue(member_name="王党员", **due.model_dump(exclude={"KIND"}))


async def _visit(services: Services, twinned: Twinned, token: str) -> Pair:
    draft = VisitDraft(
        household_id=twinned.pair.household_id, categories=frozenset({VisitCategory.CHAT})
    )
    await services.twinning.log_visit(twinned.member, draft, token=token)
    (pair,) = await services.twinning.my_pairs(twinned.member)
    return pair


def _text(shown: Shown | None) -> str:
    assert shown is not None
    return shown.text


async def test_never_visited_the_member_is_told_since_when_they_were_paired(
    services: Services, twinned: Twinned
) -> None:
    zh = _text(await render_notice(services, _due(services, twinned.pair), "zh"))
    assert zh.startswith("⏰ 您和张奶奶家（3号楼）结对已经 7 天了，还没有走访过")
    en = _text(await render_notice(services, _due(services, twinned.pair), "en"))
    assert "since you were paired with 张奶奶家" in en and "last visit" not in en


async def test_a_visit_logged_before_the_notice_leaves_drops_it(
    services: Services, twinned: Twinned, clock: ManualClock
) -> None:
    clock.advance(days=7)
    waiting = _due(services, twinned.pair)
    overdue = _overdue(services, twinned.pair)
    pair = await _visit(services, twinned, "v1")  # today: the anchor moves
    assert services.twinning.anchor(pair) != waiting.anchor
    assert await render_notice(services, waiting, "zh") is None
    assert await render_notice(services, overdue, "zh") is None
    # A reminder recorded after that visit (at its anchor) speaks of the last visit.
    later = _text(await render_notice(services, _due(services, pair), "en"))
    assert "since your last visit to 张奶奶家" in later


async def test_an_ended_pair_drops_both_notices(services: Services, twinned: Twinned) -> None:
    waiting = _due(services, twinned.pair)
    overdue = _overdue(services, twinned.pair)
    await services.twinning.end_pair(twinned.coordinator, twinned.pair.id, "搬走了")
    assert await render_notice(services, waiting, "zh") is None
    assert await render_notice(services, overdue, "zh") is None


async def test_a_notice_recorded_without_an_anchor_goes_while_the_pair_is_behind(
    services: Services, twinned: Twinned, clock: ManualClock
) -> None:
    old = _due(services, twinned.pair, anchor=None)
    assert await render_notice(services, old, "zh") is None  # paired today: not behind
    clock.advance(days=8)
    assert "还没有走访过" in _text(await render_notice(services, old, "zh"))
    await _visit(services, twinned, "v2")  # today: no longer behind
    assert await render_notice(services, old, "zh") is None
