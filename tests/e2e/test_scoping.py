"""Two communities of one street, through the bot: A's coordinator can neither see nor act on
anything of B's — by command, by the buttons they were shown, or by buttons forged with B's
ids — and the street's coordinator sees and runs both."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.models import AudienceKind, Node, NodeKind, Role, Skill, User, WishCategory
from bot.services import Services
from bot.services.wishes import WishDraft
from handlers.admin.buttons import (
    AdminMenu,
    ApproveApplication,
    BuildingDetail,
    RevokeInvite,
    SwitchCommunity,
)
from handlers.broadcast.buttons import AudienceBuilding
from handlers.wishes.buttons import ShowWish
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeUser

COORDINATOR_A, STREET, RESIDENT_B, MEMBER_A, APPLICANT_B = 101, 103, 202, 301, 402
PHONE_B = "13922223333"


@dataclass
class Street:
    a: FakeUser  # A's coordinator
    street: FakeUser  # the street's coordinator
    member_a: FakeUser
    wish_b: int
    application_b: int
    invite_b: int
    building_a: int
    building_b: int
    community_b: int


async def _person(
    services: Services, user_id: int, name: str, community: int, building: int | None = None
) -> User:
    return await services.users.register(
        user_id,
        display_name=name,
        language="en",
        building_id=building,
        community_id=community,
        room="2-202",
        phone=PHONE_B,
    )


@pytest.fixture
async def world(bot: RunningBot, fake: FakeBotApi) -> Street:
    services = bot.services
    assert services is not None
    a = services.default_community_id
    district = await _person(services, COORDINATOR_ID, "District", a)
    (street,) = await services.admin.streets(district)
    b = (await services.admin.add_community(district, street.id, "Riverside")).id
    district = await services.users.require(COORDINATOR_ID)
    building_a = (await services.admin.add_building(district, "Block A1", a)).id
    building_b = (await services.admin.add_building(district, "Block B1", b)).id
    await _person(services, COORDINATOR_A, "Coordinator A", a)
    await services.admin.appoint(district, COORDINATOR_A, Node(kind=NodeKind.COMMUNITY, id=a))
    await _person(services, STREET, "Street", a)
    await services.admin.appoint(district, STREET, Node(kind=NodeKind.STREET, id=street.id))
    member_a = await _person(services, MEMBER_A, "Member A", a, building_a)
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, member_a.id, Role.MEMBER, None, services.clock.now())
        await users_repo.set_skills(conn, member_a.id, {Skill.REPAIRS})
    resident_b = await _person(services, RESIDENT_B, "Granny B", b, building_b)
    wish_b = await services.wishes.post(
        resident_b, WishDraft(category=WishCategory.REPAIRS, text="The lamp in B is broken")
    )
    coordinator_b = await _person(services, 102, "Coordinator B", b)
    await services.admin.appoint(district, coordinator_b.id, Node(kind=NodeKind.COMMUNITY, id=b))
    coordinator_b = await services.users.require(102)
    invite_b = await services.membership.create_invite(coordinator_b, days=7, max_uses=5)
    applicant = await _person(services, APPLICANT_B, "Applicant B", b, building_b)
    application_b = await services.membership.apply(
        applicant, invite_b.code, skills={Skill.REPAIRS}, building_id=building_b
    )
    return Street(
        a=fake.user(COORDINATOR_A, "Coordinator A", language_code="en"),
        street=fake.user(STREET, "Street", language_code="en"),
        member_a=fake.user(MEMBER_A, "Member A", language_code="en"),
        wish_b=wish_b.id,
        application_b=application_b.id,
        invite_b=invite_b.id,
        building_a=building_a,
        building_b=building_b,
        community_b=b,
    )


async def test_a_coordinator_of_community_a_can_neither_see_nor_act_on_community_b(
    bot: RunningBot, fake: FakeBotApi, world: Street
) -> None:
    services = bot.services
    assert services is not None
    a = world.a
    await a.send("/admin")
    menu = await a.wait_for("Administration")
    assert "北气象巷社区" in menu.text and "Applications (0)" in str(menu.buttons)
    assert "Communities" not in str(menu.buttons)  # one community: nothing to switch to

    await a.press(menu, "Buildings")
    listing = await a.wait_for(lambda m: "Block A1" in m.text)
    assert "Block B1" not in listing.text

    # Buttons forged with B's ids: each refused, nothing changed, nothing of B's shown.
    gone, no_wish = "That no longer exists.", "There is no wish with that number."
    forged = [
        (BuildingDetail(building_id=world.building_b), gone),
        (ShowWish(wish_id=world.wish_b), no_wish),
        (ApproveApplication(application_id=world.application_b), gone),
        (RevokeInvite(invite_id=world.invite_b), gone),
        (SwitchCommunity(community_id=world.community_b), gone),
    ]
    before = len(a.inbox)
    for button, refusal in forged:
        alert = await a.press_data(None, button.pack())
        assert alert == refusal, button
    await fake.wait_idle(quiet=0.3)
    shown = " ".join(m.text or "" for m in a.inbox[before:])
    assert "Block B1" not in shown and "lamp" not in shown and PHONE_B not in shown
    applicant = await services.users.require(APPLICANT_B)
    assert not applicant.is_member
    assert (await services.membership.pending_count(await services.users.require(102))) == 1

    # A broadcast of A's, pointed by a forged button at B's building.
    coordinator_a = await services.users.require(COORDINATOR_A)
    draft = await services.broadcasts.create_draft(coordinator_a, text="Water off tomorrow")
    alert = await a.press_data(
        None,
        AudienceBuilding(broadcast_id=draft.broadcast.id, building_id=world.building_b).pack(),
    )
    assert alert == "Please choose a building from the list."
    unchanged = await services.broadcasts.draft(coordinator_a, draft.broadcast.id)
    assert unchanged.broadcast.audience is AudienceKind.EVERYONE

    # A member of A is neither offered B's wish nor able to claim it by its number.
    member = world.member_a
    await member.send("/wishes")
    await member.wait_for("No open wishes here right now.")  # B's one open wish is not A's
    assert all("lamp" not in (m.text or "") for m in member.inbox)
    await member.send(f"/claim {world.wish_b}")
    await member.wait_for("There is no wish with that number.")
    wish = await services.wishes.view(await services.users.require(RESIDENT_B), world.wish_b)
    assert wish.claimed_by is None


async def test_the_streets_coordinator_sees_and_runs_both_communities(
    bot: RunningBot, fake: FakeBotApi, world: Street
) -> None:
    services = bot.services
    assert services is not None
    street = world.street
    await street.send("/admin")
    menu = await street.wait_for("Administration")
    assert "Applications (1)" in str(menu.buttons)  # B's applicant, from the street above

    await street.press(menu, "Communities")
    communities = await street.wait_for(lambda m: "Riverside" in m.text)
    assert "北气象巷社区" in communities.text
    toast = await street.press(communities, "Riverside（古城台街道）")
    assert toast == "Now managing Riverside."
    menu = await street.wait_for(lambda m: "Administration" in m.text and "Riverside" in m.text)
    await street.press(menu, "Buildings")
    listing = await street.wait_for(lambda m: "Block B1" in m.text)
    assert "Block A1" not in listing.text  # one community at a time

    await street.press_data(None, ShowWish(wish_id=world.wish_b).pack())
    card = await street.wait_for(lambda m: "lamp in B" in m.text)
    assert PHONE_B in card.text  # a coordinator above the wish sees how to reach her

    await street.press_data(None, AdminMenu().pack())
    menu = await street.wait_for(lambda m: "Applications (1)" in str(m.buttons), since=0)
    toast = await street.press_data(
        None, ApproveApplication(application_id=world.application_b).pack()
    )
    assert toast == "Approved. The applicant is now a member."
    assert (await services.users.require(APPLICANT_B)).is_member
