"""Buildings and coordinators: every change audited, bad names refused."""

from __future__ import annotations

import pytest

from bot.services import Services
from bot.services.errors import Conflict, InvalidInput, NotAllowed
from tests.conftest import COORDINATOR_ID, RegisterUser


async def test_buildings_add_rename_archive_are_audited(
    services: Services, register: RegisterUser
) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    building = await services.admin.add_building(coordinator, " 3号楼 ")
    assert building.name == "3号楼"
    with pytest.raises(Conflict):
        await services.admin.add_building(coordinator, "3号楼")
    renamed = await services.admin.rename_building(coordinator, building.id, "三号楼")
    assert renamed.name == "三号楼"
    await services.admin.set_building_archived(coordinator, building.id, True)
    assert (
        await services.users.buildings(services.default_community_id) == []
    )  # archived ones are not offered
    log = await services.admin.audit_log(coordinator)
    assert [e.action for e in log][:3] == ["building.archive", "building.rename", "building.add"]
    assert log[1].before == {"name": "3号楼"} and log[1].after == {"name": "三号楼"}


async def test_over_long_building_name_is_refused(
    services: Services, register: RegisterUser
) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    with pytest.raises(InvalidInput):
        await services.admin.add_building(coordinator, "楼" * 41)
    assert await services.admin.all_buildings(coordinator) == []


async def test_promote_and_demote_coordinators(services: Services, register: RegisterUser) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    await register(5, "Chen")
    promoted = await services.admin.set_coordinator(coordinator, 5, True)
    assert promoted.is_coordinator
    with pytest.raises(NotAllowed):
        await services.admin.set_coordinator(coordinator, COORDINATOR_ID, False)
    demoted = await services.admin.set_coordinator(promoted, COORDINATOR_ID, False)
    assert not demoted.is_coordinator


async def test_residents_cannot_administer(services: Services, register: RegisterUser) -> None:
    resident = await register(1, "Wang")
    with pytest.raises(NotAllowed):
        await services.admin.add_building(resident, "1号楼")
    with pytest.raises(NotAllowed):
        await services.admin.set_coordinator(resident, 1, True)
