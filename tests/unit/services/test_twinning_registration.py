"""Registering a household twice: the same coordinator's second save (a double-tapped button,
or five presses at once) gets the household already registered; another coordinator, or the
same one much later, is told it is registered already; and nothing is made twice."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.models import Node, NodeKind
from bot.services import Services
from bot.services.errors import InvalidInput
from bot.services.twinning import HouseholdDraft, HouseholdExists
from storage.schema import households
from tests.conftest import COORDINATOR_ID, RegisterUser


async def _count(services: Services) -> int:
    async with services.store.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(households)) or 0)


@pytest.fixture
async def building(services: Services, register: RegisterUser) -> int:
    await register(COORDINATOR_ID, "李书记")
    coordinator = await services.users.require(COORDINATOR_ID)
    added = await services.admin.add_building(coordinator, "3号楼", services.default_community_id)
    return added.id


def _draft(building: int, **changes: object) -> HouseholdDraft:
    values: dict[str, object] = {
        "name": "张奶奶家",
        "building_id": building,
        "room": "2-101",
        "consent": True,
    }
    values.update(changes)
    return HouseholdDraft.model_validate(values)


async def test_a_second_save_by_the_same_coordinator_returns_the_same_household(
    services: Services, building: int
) -> None:
    coordinator = await services.users.require(COORDINATOR_ID)
    first = await services.twinning.register_household(coordinator, _draft(building))
    again = await services.twinning.register_household(coordinator, _draft(building))
    assert again.id == first.id and await _count(services) == 1


async def test_five_saves_at_once_make_one_household(services: Services, building: int) -> None:
    coordinator = await services.users.require(COORDINATOR_ID)
    made = await asyncio.gather(
        *(services.twinning.register_household(coordinator, _draft(building)) for _ in range(5))
    )
    assert len({h.id for h in made}) == 1 and await _count(services) == 1


async def test_the_same_household_later_or_by_another_coordinator_is_refused(
    services: Services, building: int, register: RegisterUser, clock: ManualClock
) -> None:
    coordinator = await services.users.require(COORDINATOR_ID)
    await services.twinning.register_household(coordinator, _draft(building))
    await register(400, "楼长")
    keeper = await services.admin.appoint(
        coordinator, 400, Node(kind=NodeKind.BUILDING, id=building)
    )
    with pytest.raises(HouseholdExists):
        await services.twinning.register_household(keeper, _draft(building))
    clock.advance(hours=1)
    with pytest.raises(HouseholdExists):
        await services.twinning.register_household(coordinator, _draft(building))
    assert await _count(services) == 1


async def test_another_room_or_name_is_another_household(
    services: Services, building: int
) -> None:
    coordinator = await services.users.require(COORDINATOR_ID)
    await services.twinning.register_household(coordinator, _draft(building))
    await services.twinning.register_household(coordinator, _draft(building, room="2-102"))
    await services.twinning.register_household(coordinator, _draft(building, room=None))
    await services.twinning.register_household(coordinator, _draft(building, name="李爷爷家"))
    assert await _count(services) == 4


async def test_a_phone_or_room_no_resident_could_have_is_refused_and_nothing_made(
    services: Services, building: int
) -> None:
    coordinator = await services.users.require(COORDINATOR_ID)
    for bad in ({"phone": "不知道"}, {"phone": "1" * 40}, {"room": "房" * 40}):
        with pytest.raises(InvalidInput):
            await services.twinning.register_household(coordinator, _draft(building, **bad))
    assert await _count(services) == 0


async def test_saving_again_with_a_phone_put_right_is_refused_not_silently_dropped(
    services: Services, building: int
) -> None:
    coordinator = await services.users.require(COORDINATOR_ID)
    first = await services.twinning.register_household(
        coordinator, _draft(building, phone="13800000001")
    )
    with pytest.raises(HouseholdExists):  # changes go through 修改, audited
        await services.twinning.register_household(
            coordinator, _draft(building, phone="13800000002")
        )
    assert (await services.twinning.contact(coordinator, first.id)).phone == "13800000001"
    assert await _count(services) == 1
