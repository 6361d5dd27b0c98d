"""Many communities in one deployment, read as the organisation tree: a district (the settings'
coordinator's), street 1 holding communities A and B, street 2 holding community C. Each
coordinator sees and acts only below the node they are appointed to; residents and members
belong to one community; wishes are offered within it; alerts go to the coordinators above the
thing, not to all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.models import (
    AudienceKind,
    Building,
    Community,
    Node,
    NodeKind,
    Role,
    Skill,
    User,
    WishCategory,
)
from bot.services import Services
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.membership import InviteElsewhere
from bot.services.notify import coordinators_above
from bot.services.wishes import NotYourTask, NotYourWish, WishDraft, WishFilter
from storage import membership
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID
from tests.support.rendering import outbox_rows

MORNING = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MORNING)


@dataclass
class World:
    district: User  # the settings' coordinator, appointed to the district
    a: Community
    b: Community
    c: Community
    a1: Building
    b1: Building
    coordinator_a: User
    coordinator_b: User
    street: User  # street 1: communities A and B
    keeper_a1: User  # a building's coordinator: building A1 only
    resident_a: User
    resident_b: User
    member_a: User
    member_b: User


async def _person(
    services: Services, user_id: int, name: str, community: Community, building: Building | None
) -> User:
    return await services.users.register(
        user_id,
        display_name=name,
        language="zh",
        building_id=building.id if building else None,
        community_id=community.id,
        room="1-101",
        phone="13800000001",
    )


async def _member(services: Services, user: User) -> User:
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, user.id, Role.MEMBER, None, MORNING)
        await users_repo.set_skills(conn, user.id, {Skill.REPAIRS})
    return await services.users.require(user.id)


@pytest.fixture
async def world(services: Services) -> World:
    users, admin = services.users, services.admin
    a = await users.community(services.default_community_id)
    assert a is not None
    district = await _person(services, COORDINATOR_ID, "区书记", a, None)
    assert district.reach is not None and district.reach.node.kind is NodeKind.DISTRICT
    (street_1,) = await admin.streets(district)
    b = await admin.add_community(district, street_1.id, "B社区")
    street_2 = await admin.add_street(district, "第二街道")
    c = await admin.add_community(district, street_2.id, "C社区")
    district = await users.require(COORDINATOR_ID)  # a user is read afresh for each update
    a1 = await admin.add_building(district, "A1号楼", a.id)
    b1 = await admin.add_building(district, "B1号楼", b.id)

    async def coordinator(user_id: int, name: str, home: Community, node: Node) -> User:
        await _person(services, user_id, name, home, None)
        return await admin.appoint(district, user_id, node)

    world = World(
        district=district,
        a=a,
        b=b,
        c=c,
        a1=a1,
        b1=b1,
        coordinator_a=await coordinator(101, "A书记", a, Node(kind=NodeKind.COMMUNITY, id=a.id)),
        coordinator_b=await coordinator(102, "B书记", b, Node(kind=NodeKind.COMMUNITY, id=b.id)),
        street=await coordinator(103, "街道书记", a, Node(kind=NodeKind.STREET, id=street_1.id)),
        keeper_a1=await coordinator(104, "楼长", a, Node(kind=NodeKind.BUILDING, id=a1.id)),
        resident_a=await _person(services, 201, "A奶奶", a, a1),
        resident_b=await _person(services, 202, "B奶奶", b, b1),
        member_a=await _member(services, await _person(services, 301, "小A", a, a1)),
        member_b=await _member(services, await _person(services, 302, "小B", b, b1)),
    )
    return world


def _draft(text: str, *, urgent: bool = False) -> WishDraft:
    return WishDraft(category=WishCategory.REPAIRS, text=text, urgent=urgent)


async def test_the_tree_gives_each_coordinator_the_communities_below_them(world: World) -> None:
    reaches = {
        "district": world.district.reach,
        "a": world.coordinator_a.reach,
        "street": world.street.reach,
        "keeper": world.keeper_a1.reach,
    }
    assert all(r is not None for r in reaches.values())
    assert {k: sorted(r.community_ids) for k, r in reaches.items() if r} == {
        "district": sorted({world.a.id, world.b.id, world.c.id}),
        "a": [world.a.id],
        "street": sorted({world.a.id, world.b.id}),
        "keeper": [world.a.id],
    }
    assert world.keeper_a1.covers(world.a.id, world.a1.id)
    assert not world.keeper_a1.covers(world.a.id, None)  # not the rest of A


async def test_a_community_coordinator_cannot_see_or_act_on_another_community(
    services: Services, world: World
) -> None:
    wish_b = await services.wishes.post(world.resident_b, _draft("B的灯坏了"))
    a = world.coordinator_a
    with pytest.raises(NotFound):
        await services.wishes.view(a, wish_b.id)
    with pytest.raises(NotFound):
        await services.wishes.contact(a, wish_b.id)
    with pytest.raises(NotFound):
        await services.wishes.cancel(a, wish_b.id)
    with pytest.raises(NotFound):
        await services.admin.building(a, world.b1.id)
    with pytest.raises(NotFound):
        await services.admin.add_building(a, "X", world.b.id)
    with pytest.raises(NotFound):
        await services.admin.community(a, world.b.id)
    with pytest.raises(NotFound):
        await services.teams.all(a, community_id=world.b.id)
    with pytest.raises(NotFound):  # B's people are not A's to promote
        await services.admin.set_coordinator(a, world.resident_b.id, True)
    with pytest.raises(NotFound):  # nor to appoint above A
        await services.admin.appoint(
            a, world.resident_a.id, Node(kind=NodeKind.STREET, id=world.a.street_id)
        )
    with pytest.raises(NotAllowed):
        await services.admin.set_coordinator(a, world.street.id, False)
    assert [u.id for u in await services.admin.find_users(a, "B奶奶")] == []
    assert {c.id for c in await services.admin.communities(a)} == {world.a.id}

    draft = await services.broadcasts.create_draft(a, text="停水")
    with pytest.raises(InvalidInput):
        await services.broadcasts.choose_audience(
            a, draft.broadcast.id, AudienceKind.BUILDING, world.b1.id
        )
    assert world.b1.id not in {b.id for b in await services.broadcasts.buildings(a)}
    everyone = await services.broadcasts.choose_audience(
        a, draft.broadcast.id, AudienceKind.EVERYONE
    )
    # A's people: the resident, the member, and the four coordinators who live in A.
    assert everyone.recipients == 6
    b_draft = await services.broadcasts.create_draft(world.coordinator_b, text="B停电")
    with pytest.raises(NotFound):
        await services.broadcasts.draft(a, b_draft.broadcast.id)
    with pytest.raises(NotFound):
        await services.broadcasts.cancel(a, b_draft.broadcast.id)


async def test_a_street_coordinator_sees_and_acts_on_both_communities_of_the_street(
    services: Services, world: World
) -> None:
    wish_a = await services.wishes.post(world.resident_a, _draft("A的门坏了"))
    wish_b = await services.wishes.post(world.resident_b, _draft("B的灯坏了"))
    street = world.street
    for wish in (wish_a, wish_b):
        assert (await services.wishes.view(street, wish.id)).id == wish.id
        assert (await services.wishes.contact(street, wish.id)).phone == "13800000001"
    assert {c.id for c in await services.admin.communities(street)} == {world.a.id, world.b.id}
    assert (await services.admin.building(street, world.b1.id)).id == world.b1.id
    with pytest.raises(NotFound):  # street 2 is not theirs
        await services.admin.community(street, world.c.id)
    living_elsewhere = street.model_copy(update={"community_id": world.c.id})
    with pytest.raises(InvalidInput):  # which of the two? housekeeping needs a choice
        await services.admin.add_building(living_elsewhere, "X")

    draft = await services.broadcasts.create_draft(street, text="街道通知")
    everyone = await services.broadcasts.choose_audience(
        street, draft.broadcast.id, AudienceKind.EVERYONE
    )
    assert everyone.recipients == 9  # everyone in A (6) and B (3); nobody of street 2
    _draft_shown, sender = await services.broadcasts.preview(street, draft.broadcast.id)
    assert sender == "古城台街道"  # from the street, as its people know it

    b_coordinator = world.coordinator_b
    await services.admin.set_coordinator(street, b_coordinator.id, False)
    assert not (await services.users.require(b_coordinator.id)).is_coordinator


async def test_a_buildings_coordinator_sees_only_that_building(
    services: Services, world: World
) -> None:
    keeper = world.keeper_a1
    at_a1 = await services.wishes.post(world.resident_a, _draft("A1的水管"))
    elsewhere = await services.wishes.post(world.member_a, _draft("别处的事"))
    assert (await services.wishes.contact(keeper, at_a1.id)).room == "1-101"
    # A1 is the member's building too; a wish posted without one is A's, not A1's.
    wish_a_no_building = await services.wishes.post(world.coordinator_a, _draft("社区的事"))
    assert wish_a_no_building.building_id is None
    with pytest.raises(NotYourWish):  # they live in A: a neighbour's wish, not theirs to read
        await services.wishes.view(keeper, wish_a_no_building.id)
    with pytest.raises(NotYourTask):
        await services.wishes.contact(keeper, wish_a_no_building.id)
    assert elsewhere.building_id == world.a1.id
    with pytest.raises(NotAllowed):  # no community-wide housekeeping
        await services.admin.add_building(keeper, "X")


async def test_wishes_are_offered_and_listed_within_their_community(
    services: Services, world: World
) -> None:
    wish_b = await services.wishes.post(world.resident_b, _draft("B的灯坏了"))
    assert [r["chat_id"] for r in await outbox_rows(services, world.member_a.id)] == []
    assert len(await outbox_rows(services, world.member_b.id)) == 1
    page = await services.wishes.browse(world.member_a, WishFilter())
    assert wish_b.id not in [w.id for w in page.wishes]
    with pytest.raises(NotFound):
        await services.wishes.claim(world.member_a, wish_b.id)
    claimed = await services.wishes.claim(world.member_b, wish_b.id)
    assert claimed.claimed_by == world.member_b.id
    street_page = await services.wishes.browse(world.street, WishFilter())
    assert street_page.wishes == ()  # the one open wish is taken


async def test_alerts_go_to_the_coordinators_above_the_thing_and_climb_when_none(
    services: Services, world: World, settings: Settings, clock: ManualClock
) -> None:
    async with services.store.read() as conn:
        assert await coordinators_above(conn, world.b.id) == [world.coordinator_b.id]
        assert await coordinators_above(conn, world.a.id, world.a1.id) == sorted(
            [world.coordinator_a.id, world.keeper_a1.id]
        )
        assert await coordinators_above(conn, world.c.id) == [COORDINATOR_ID]  # none below
        assert await coordinators_above(conn, None) == [COORDINATOR_ID]  # the bot's own

    urgent = await services.wishes.post(world.resident_b, _draft("我摔倒了", urgent=True))
    clock.advance(minutes=settings.urgent_escalate_minutes * 2)
    await services.reminders.run_due()
    told = {
        uid: [r for r in await outbox_rows(services, uid) if f"#{urgent.id}" in (r["text"] or "")]
        for uid in (world.coordinator_a.id, world.coordinator_b.id, COORDINATOR_ID)
    }
    assert [len(rows) for rows in told.values()] == [0, 1, 0]

    await services.admin.set_coordinator(world.street, world.coordinator_b.id, False)
    async with services.store.read() as conn:
        assert await coordinators_above(conn, world.b.id) == [world.street.id]


async def test_an_invitation_serves_its_own_community_and_applications_stay_below(
    services: Services, world: World
) -> None:
    invite_b = await services.membership.create_invite(world.coordinator_b, days=7, max_uses=5)
    with pytest.raises(InviteElsewhere):
        await services.membership.apply(
            world.resident_a, invite_b.code, skills={Skill.REPAIRS}, building_id=None
        )
    application = await services.membership.apply(
        world.resident_b, invite_b.code, skills={Skill.REPAIRS}, building_id=world.b1.id
    )
    a, b = world.coordinator_a, world.coordinator_b
    assert await services.membership.pending_count(a) == 0
    assert await services.membership.pending_count(b) == 1
    assert await services.membership.pending_count(world.street) == 1
    assert await services.membership.active_invites(a) == []
    with pytest.raises(NotFound):
        await services.membership.decide(a, application.id, approve=True)
    with pytest.raises(NotFound):
        await services.membership.revoke_invite(a, invite_b.id)
    await services.membership.decide(world.street, application.id, approve=True)
    assert (await services.users.require(world.resident_b.id)).is_member

    notified = [r for r in await outbox_rows(services) if r["kind"] == "membership.applied"]
    assert [r["chat_id"] for r in notified] == [b.id]

    entries = await services.admin.audit_log(a)
    assert all(e.community_id == world.a.id for e in entries)
    assert any(e.action == "application.approved" for e in await services.admin.audit_log(b))
    async with services.store.read() as conn:
        found = await membership.get_invite(conn, invite_b.id)
    assert found is not None and found.community_id == world.b.id


async def test_forged_places_and_out_of_reach_coordinators_are_refused(
    services: Services, world: World
) -> None:
    invite_a = await services.membership.create_invite(world.coordinator_a, days=7, max_uses=5)
    with pytest.raises(InvalidInput):  # serving in B's building: a button B's, forged
        await services.membership.apply(
            world.resident_a, invite_a.code, skills={Skill.REPAIRS}, building_id=world.b1.id
        )
    application = await services.membership.apply(
        world.resident_a, invite_a.code, skills={Skill.REPAIRS}, building_id=world.a1.id
    )
    keeper = world.keeper_a1
    assert await services.membership.pending_count(keeper) == 1  # she lives in A1
    with pytest.raises(NotAllowed):  # membership is community-wide: not a building's to decide
        await services.membership.decide(keeper, application.id, approve=True)
    assert await services.admin.audit_log(keeper) == []

    community_wish = await services.wishes.post(world.coordinator_a, _draft("社区的事"))
    assert not (await services.wishes.access(keeper, community_wish)).coordinates
    assert (await services.wishes.access(world.coordinator_a, community_wish)).coordinates
    page = await services.wishes.browse(keeper, WishFilter())  # not a member: A1's only
    assert community_wish.id not in [w.id for w in page.wishes]

    places = await services.admin.nodes(world.coordinator_a)
    assert (Node(kind=NodeKind.BUILDING, id=world.a1.id), "A1号楼") in places


async def test_a_coordinator_living_elsewhere_posts_for_the_community_they_serve(
    services: Services, world: World
) -> None:
    a_resident_serving_b = await _person(services, 105, "B的书记", world.a, world.a1)
    serving_b = await services.admin.appoint(
        world.district, a_resident_serving_b.id, Node(kind=NodeKind.COMMUNITY, id=world.b.id)
    )
    assert services.wishes.proxy_community(serving_b) == world.b.id
    draft = WishDraft(
        category=WishCategory.REPAIRS,
        text="帮忙换灯泡",
        for_name="B的老人",
        for_building_id=world.b1.id,
        for_phone="13900000000",
    )
    wish = await services.wishes.post(serving_b, draft)
    assert (wish.community_id, wish.building_id) == (world.b.id, world.b1.id)
    assert [r["chat_id"] for r in await outbox_rows(services, world.member_a.id)] == []


async def test_coordinators_are_managed_where_they_are_appointed_not_where_they_live(
    services: Services, world: World
) -> None:
    await _person(services, 106, "住在C", world.c, None)
    await services.admin.appoint(world.district, 106, Node(kind=NodeKind.COMMUNITY, id=world.a.id))
    assert 106 in [u.id for u in await services.admin.coordinators(world.street)]
    assert 106 in [u.id for u in await services.admin.coordinators(world.coordinator_a)]
    assert 106 not in [u.id for u in await services.admin.coordinators(world.coordinator_b)]
    appointed = [e for e in await services.admin.audit_log(world.coordinator_a)]
    assert any(e.subject == "user:106" for e in appointed)  # filed under A, where appointed
    with pytest.raises(NotFound):  # A's coordinator is not B's to remove
        await services.admin.set_coordinator(world.coordinator_b, world.coordinator_a.id, False)
    with pytest.raises(NotAllowed):  # nor the street's, above them both
        await services.admin.set_coordinator(world.coordinator_a, world.street.id, False)
    demoted = await services.admin.set_coordinator(world.street, 106, False)
    assert not demoted.is_coordinator
