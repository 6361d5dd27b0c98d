"""Registration and profile rules."""

from __future__ import annotations

import pytest

from bot.services import Services
from bot.services.errors import InvalidInput, NotRegistered
from tests.conftest import COORDINATOR_ID, RegisterUser


async def test_register_validates_and_keeps_profile(
    services: Services, register: RegisterUser
) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    building = await services.admin.add_building(coordinator, "1号楼")
    user = await register(
        7, "  王   奶奶 ", building_id=building.id, room="3-201", phone="+86 138 0000 0000"
    )
    assert user.display_name == "王 奶奶"
    assert (user.building_id, user.room, user.phone) == (building.id, "3-201", "+86 138 0000 0000")


@pytest.mark.parametrize(
    "fields",
    [
        {"display_name": "x" * 33},
        {"display_name": "   "},
        {"room": "r" * 17},
        {"phone": "call me maybe"},
        {"building_id": 999},
        {"language": "fr"},
    ],
)
async def test_bad_profile_input_changes_nothing(
    services: Services, register: RegisterUser, fields: dict[str, object]
) -> None:
    before = await register(7, "Wang")
    with pytest.raises(InvalidInput):
        await services.users.update_profile(7, **fields)  # type: ignore[arg-type]
    assert await services.users.require(7) == before


async def test_unregistered_user_cannot_change_a_profile(services: Services) -> None:
    with pytest.raises(NotRegistered):
        await services.users.update_profile(404, display_name="Ghost")
