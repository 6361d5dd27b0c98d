"""Suggestions (社区智囊团) through the real services, on both databases: a suggestion is left
once per token, in the author's community and building; members alone record one heard face
to face; coordinators in reach list, answer, move and link it — each move looked up in the
life-cycle table, walked here row by row and gap by gap; anyone else (a resident, another
community's coordinator, another building's, a stale id) is refused with nothing changed; and
an anonymous suggestion's author is named nowhere a coordinator looks."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot.clock import ManualClock
from bot.i18n import translator
from bot.models import (
    Building,
    Community,
    Node,
    NodeKind,
    Role,
    Skill,
    Suggestion,
    SuggestionLink,
    SuggestionLinkKind,
    SuggestionReply,
    SuggestionStatus,
    SuggestionTopic,
    User,
    WishCategory,
)
from bot.services import Services
from bot.services.errors import InvalidInput, LinliError, NotAllowed, NotFound
from bot.services.lifecycle import Party
from bot.services.suggestions import (
    SUGGESTION_LIFECYCLE,
    CardPage,
    Mine,
    MinePage,
    SuggestionCard,
    SuggestionDraft,
    SuggestionEvent,
    SuggestionReceived,
    moves_from,
)
from bot.services.suggestions.rules import (
    AlreadyLinked,
    EmptySuggestion,
    NoBroadcastToLink,
    NoFindingToLink,
    NoSuchSuggestion,
    NotStaff,
    NoWishToLink,
    OnlyMembersRecord,
    WrongState,
)
from bot.services.suggestions.service import ReplyShown
from bot.services.text import TextTooLong
from bot.services.wishes import WishDraft
from handlers.buttons import REGISTRY
from storage import users as users_repo
from storage.schema import audit_log, outbox, suggestion_links, suggestion_replies, suggestions
from tests.conftest import COORDINATOR_ID, DAYTIME
from tests.support.fake_bot_api import parse_html

S, E = SuggestionStatus, SuggestionEvent
GRANNY_ID, GRANNY = 7_654_321, "匿名测试奶奶"


@dataclass
class World:
    district: User
    coordinator_a: User
    coordinator_b: User
    keeper_a1: User  # a building's coordinator: building A1 only
    keeper_a2: User  # building A2 only
    granny: User  # a resident of A1
    resident_b: User
    member_a: User
    a: Community
    b: Community
    a1: Building
    a2: Building


async def _person(
    services: Services,
    user_id: int,
    name: str,
    community: Community,
    building: Building | None,
    language: str = "zh",
) -> User:
    return await services.users.register(
        user_id,
        display_name=name,
        language=language,
        building_id=building.id if building else None,
        community_id=community.id,
        room="3-201",
        phone="13800000001",
    )


@pytest.fixture
async def world(services: Services) -> World:
    users, admin = services.users, services.admin
    a = await users.community(services.default_community_id)
    assert a is not None
    district = await _person(services, COORDINATOR_ID, "区书记", a, None)
    (street,) = await admin.streets(district)
    b = await admin.add_community(district, street.id, "B社区")
    district = await users.require(COORDINATOR_ID)
    a1 = await admin.add_building(district, "A1号楼", a.id)
    a2 = await admin.add_building(district, "A2号楼", a.id)
    b1 = await admin.add_building(district, "B1号楼", b.id)

    async def coordinator(user_id: int, name: str, home: Community, node: Node) -> User:
        await _person(services, user_id, name, home, None)
        return await admin.appoint(district, user_id, node)

    member = await _person(services, 301, "小王党员", a, a2)
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, member.id, Role.MEMBER, None, DAYTIME)
        await users_repo.set_skills(conn, member.id, {Skill.REPAIRS})
    return World(
        district=district,
        coordinator_a=await coordinator(101, "A书记", a, Node(kind=NodeKind.COMMUNITY, id=a.id)),
        coordinator_b=await coordinator(102, "B书记", b, Node(kind=NodeKind.COMMUNITY, id=b.id)),
        keeper_a1=await coordinator(104, "A1楼长", a, Node(kind=NodeKind.BUILDING, id=a1.id)),
        keeper_a2=await coordinator(105, "A2楼长", a, Node(kind=NodeKind.BUILDING, id=a2.id)),
        granny=await _person(services, GRANNY_ID, GRANNY, a, a1, language="en"),
        resident_b=await _person(services, 202, "B奶奶", b, b1),
        member_a=await services.users.require(member.id),
        a=a,
        b=b,
        a1=a1,
        a2=a2,
    )


def _draft(
    text: str | None = "楼下路灯不亮，晚上很黑", *, anonymous: bool = False, **more: object
) -> SuggestionDraft:
    return SuggestionDraft(topic=SuggestionTopic.SAFETY, text=text, anonymous=anonymous, **more)


async def _count(services: Services, table: object) -> int:
    async with services.store.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


async def _queued(
    services: Services, kind: str
) -> list[tuple[int, str | None, dict[str, object]]]:
    async with services.store.read() as conn:
        found = await conn.execute(
            select(outbox.c.chat_id, outbox.c.language, outbox.c.params).where(
                outbox.c.kind == kind
            )
        )
        return [(int(r.chat_id), r.language, dict(r.params or {})) for r in found]


async def _state(services: Services, suggestion_id: int) -> tuple[object, ...]:
    """Everything a refused action must leave as it was."""
    async with services.store.read() as conn:
        row = (
            await conn.execute(
                select(suggestions.c.status, suggestions.c.answered_at).where(
                    suggestions.c.id == suggestion_id
                )
            )
        ).one()
    return (
        tuple(row),
        await _count(services, suggestion_replies),
        await _count(services, suggestion_links),
        await _count(services, audit_log),
        await _count(services, outbox),
    )


# --- leaving one ---------------------------------------------------------------------------


async def test_a_suggestion_lies_in_the_authors_place_and_the_coordinators_over_it_are_told(
    services: Services, world: World
) -> None:
    made = await services.suggestions.submit(world.granny, _draft(), token="t1")
    assert made.status is S.NEW and made.community_id == world.a.id
    assert made.building_id == world.a1.id and made.author_id == GRANNY_ID
    told = {chat for chat, _, _ in await _queued(services, SuggestionReceived.KIND)}
    # The nearest level over the place: building A1's coordinator and community A's.
    assert told == {world.keeper_a1.id, world.coordinator_a.id}


async def test_a_double_send_makes_one_suggestion(services: Services, world: World) -> None:
    first = await services.suggestions.submit(world.granny, _draft(), token="same")
    again = await services.suggestions.submit(world.granny, _draft("改了"), token="same")
    assert first.id == again.id and again.text == first.text
    raced = await asyncio.gather(
        *(services.suggestions.submit(world.granny, _draft(), token="race") for _ in range(4))
    )
    assert len({s.id for s in raced}) == 1
    assert await _count(services, suggestions) == 2
    assert len(await _queued(services, SuggestionReceived.KIND)) == 2 * 2
    # Another author's same token is their own suggestion.
    other = await services.suggestions.submit(world.resident_b, _draft(), token="same")
    assert other.id != first.id


@pytest.mark.parametrize(
    ("draft", "error"),
    [
        (_draft(None), EmptySuggestion),
        (_draft("   \n "), EmptySuggestion),
        (_draft("\u200b \u2060\ufeff\u200d"), EmptySuggestion),  # nothing visible
        (_draft("长" * 1001), TextTooLong),
    ],
)
async def test_empty_or_over_long_words_are_refused_with_nothing_made(
    services: Services, world: World, draft: SuggestionDraft, error: type[InvalidInput]
) -> None:
    with pytest.raises(error):
        await services.suggestions.submit(world.granny, draft, token="x")
    assert await _count(services, suggestions) == 0
    assert await _count(services, outbox) == 0


async def test_an_invisible_reply_or_name_is_none(services: Services, world: World) -> None:
    """Zero-width characters alone are no reply: it would mark the suggestion answered (and
    count it so) while the author reads nothing; nor a resident's name."""
    made = await services.suggestions.submit(world.granny, _draft(), token="t")
    before = await _state(services, made.id)
    with pytest.raises(InvalidInput):
        await services.suggestions.reply(world.coordinator_a, made.id, "\u200b\u200c \u2060")
    assert await _state(services, made.id) == before
    with pytest.raises(InvalidInput):
        await services.suggestions.submit(
            world.member_a, _draft(heard_from="\u200b\ufeff"), token="x"
        )


async def test_a_photo_or_a_voice_note_alone_is_a_suggestion(
    services: Services, world: World
) -> None:
    photo = await services.suggestions.submit(
        world.granny, _draft(None, photo_file_id="P1"), token="p"
    )
    voice = await services.suggestions.submit(
        world.granny, _draft(None, voice_file_id="V1"), token="v"
    )
    assert photo.photo_file_id == "P1" and voice.voice_file_id == "V1"


async def test_only_members_record_one_heard_face_to_face(
    services: Services, world: World
) -> None:
    with pytest.raises(OnlyMembersRecord):
        await services.suggestions.submit(world.granny, _draft(heard_from="张奶奶"), token="x")
    with pytest.raises(TextTooLong):
        await services.suggestions.submit(world.member_a, _draft(heard_from="张" * 65), token="x")
    made = await services.suggestions.submit(
        world.member_a, _draft(heard_from="  张奶奶  5-302 "), token="x"
    )
    assert made.heard_from == "张奶奶 5-302" and made.author_id == world.member_a.id
    assert made.building_id == world.a2.id
    (_, _, params), *_ = await _queued(services, SuggestionReceived.KIND)
    assert params["heard_from"] == "张奶奶 5-302" and params["author_name"] == "小王党员"


async def test_the_author_reads_their_own_newest_first_a_page_at_a_time(
    services: Services, world: World
) -> None:
    for i in range(7):
        await services.suggestions.submit(world.granny, _draft(f"第{i}条"), token=f"t{i}")
    await services.suggestions.submit(world.resident_b, _draft("别人的"), token="t0")
    first = await services.suggestions.mine(world.granny)
    assert [m.suggestion.text for m in first.items] == [f"第{i}条" for i in (6, 5, 4, 3, 2)]
    assert first.more
    second = await services.suggestions.mine(world.granny, 1)
    assert [m.suggestion.text for m in second.items] == ["第1条", "第0条"] and not second.more


# --- the life cycle ------------------------------------------------------------------------


def test_the_life_cycle_table_is_for_staff_and_reaches_every_status() -> None:
    table = SUGGESTION_LIFECYCLE
    assert {t.target for t in table.transitions} >= set(S) - {S.NEW}
    assert all(t.who == frozenset({Party.COORDINATOR}) for t in table.transitions)
    assert {(t.source, t.event) for t in table.transitions} == {
        (S.NEW, E.TAKE_UP),
        (S.NEW, E.REPLY),
        (S.NEW, E.CLOSE),
        (S.IN_PROGRESS, E.REPLY),
        (S.IN_PROGRESS, E.CLOSE),
        (S.ANSWERED, E.REPLY),
        (S.ANSWERED, E.TAKE_UP),
        (S.ANSWERED, E.CLOSE),
        (S.CLOSED, E.REOPEN),
    }


async def _at(services: Services, suggestion_id: int, status: SuggestionStatus) -> None:
    async with services.store.transaction() as conn:
        await conn.execute(
            update(suggestions)
            .where(suggestions.c.id == suggestion_id)
            .values(status=status.value)
        )


@pytest.mark.parametrize("event", list(SuggestionEvent))
@pytest.mark.parametrize("source", list(SuggestionStatus))
async def test_every_move_of_the_table_and_none_other(
    services: Services, world: World, source: SuggestionStatus, event: SuggestionEvent
) -> None:
    made = await services.suggestions.submit(world.granny, _draft(), token="t")
    await _at(services, made.id, source)
    found = SUGGESTION_LIFECYCLE.find(source, event)
    coordinator = world.coordinator_a

    async def act() -> SuggestionStatus:
        if event is E.REPLY:
            card = await services.suggestions.reply(coordinator, made.id, "已联系物业")
        else:
            card = await services.suggestions.change(coordinator, made.id, event)
        return card.status

    if found is None:
        before = await _state(services, made.id)
        with pytest.raises(WrongState):
            await act()
        assert await _state(services, made.id) == before
        return
    assert await act() is found.target
    async with services.store.read() as conn:
        status = await conn.scalar(select(suggestions.c.status).where(suggestions.c.id == made.id))
    assert status == found.target.value
    kinds = {"reply": "suggestion.replied"}
    told = await _queued(services, kinds.get(event.value, "suggestion.moved"))
    assert [chat for chat, _, _ in told] == [GRANNY_ID]


async def test_the_first_reply_answers_it_and_the_author_gets_each_in_their_language(
    services: Services, world: World, clock: ManualClock
) -> None:
    made = await services.suggestions.submit(world.granny, _draft(), token="t")
    card = await services.suggestions.reply(world.keeper_a1, made.id, "  已请物业修好  ")
    assert card.status is S.ANSWERED and card.answered_at == DAYTIME
    assert [r.text for r in card.replies] == ["已请物业修好"]
    clock.current = DAYTIME + timedelta(hours=3)
    card = await services.suggestions.reply(world.coordinator_a, made.id, "今晚已亮")
    assert card.answered_at == DAYTIME  # the first reply's time stays
    told = await _queued(services, "suggestion.replied")
    assert [(chat, language) for chat, language, _ in told] == [(GRANNY_ID, "en")] * 2
    assert told[1][2]["reply"] == "今晚已亮" and told[1][2]["coordinator_name"] == "A书记"


async def test_two_coordinators_at_once_both_reply_but_only_one_closes(
    services: Services, world: World
) -> None:
    made = await services.suggestions.submit(world.granny, _draft(), token="t")
    svc = services.suggestions
    cards = await asyncio.gather(
        svc.reply(world.coordinator_a, made.id, "第一条答复"),
        svc.reply(world.keeper_a1, made.id, "第二条答复"),
    )
    assert {c.status for c in cards} == {S.ANSWERED}
    assert await _count(services, suggestion_replies) == 2
    closed = await asyncio.gather(
        svc.change(world.coordinator_a, made.id, E.CLOSE),
        svc.change(world.keeper_a1, made.id, E.CLOSE),
        return_exceptions=True,
    )
    assert sorted(type(c).__name__ for c in closed) == ["SuggestionCard", "WrongState"]
    assert len(await _queued(services, "suggestion.moved")) == 1


async def test_a_reply_late_at_night_waits_for_the_authors_morning(
    services: Services, world: World, clock: ManualClock
) -> None:
    made = await services.suggestions.submit(world.granny, _draft(), token="t")
    clock.current = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    await services.suggestions.reply(world.coordinator_a, made.id, "明天一早就修")
    async with services.store.read() as conn:
        waits = await conn.scalar(
            select(outbox.c.not_before).where(outbox.c.kind == "suggestion.replied")
        )
    assert waits == datetime(2026, 11, 25, 23, 0, tzinfo=UTC)  # 07:00 in Shanghai


# --- scope ---------------------------------------------------------------------------------


async def test_nobody_outside_the_reach_reads_or_touches_it(
    services: Services, world: World
) -> None:
    made = await services.suggestions.submit(world.granny, _draft(), token="t")
    before = await _state(services, made.id)
    svc = services.suggestions
    refusals: list[tuple[User, type[LinliError]]] = [
        (world.granny, NotStaff),  # a resident pressing a coordinator's button
        (world.member_a, NotStaff),
        (world.coordinator_b, NoSuchSuggestion),  # another community's
        (world.keeper_a2, NoSuchSuggestion),  # another building's
    ]
    for who, error in refusals:
        with pytest.raises(error):
            await svc.card(who, made.id)
        with pytest.raises(error):  # before they are asked to type a reply or a link
            await svc.check_in_reach(who, made.id)
        with pytest.raises(error):
            await svc.reply(who, made.id, "x")
        with pytest.raises(error):
            await svc.change(who, made.id, E.CLOSE)
        with pytest.raises(error):
            await svc.link(who, made.id, SuggestionLinkKind.WISH, 1)
    for stale in (made.id + 1, 0, -3, 10**14):
        with pytest.raises(NoSuchSuggestion):
            await svc.reply(world.coordinator_a, stale, "x")
        with pytest.raises(NoSuchSuggestion):
            await svc.check_in_reach(world.coordinator_a, stale)
    with pytest.raises(NotAllowed):
        await svc.listing(world.granny, S.NEW)
    assert await _state(services, made.id) == before
    assert (await svc.card(world.keeper_a1, made.id)).id == made.id
    assert (await svc.card(world.district, made.id)).id == made.id
    await svc.check_in_reach(world.keeper_a1, made.id)  # in reach: no refusal


async def test_each_coordinator_lists_their_reach_by_status_with_counts(
    services: Services, world: World
) -> None:
    mine = await services.suggestions.submit(world.granny, _draft("A1的"), token="1")
    await services.suggestions.submit(world.member_a, _draft("A2的"), token="2")
    await services.suggestions.submit(world.resident_b, _draft("B的"), token="3")
    await services.suggestions.change(world.coordinator_a, mine.id, E.TAKE_UP)
    svc = services.suggestions
    keeper = await svc.listing(world.keeper_a1, S.IN_PROGRESS)
    assert [c.text for c in keeper.cards] == ["A1的"]
    assert keeper.counts[S.NEW] == 0 and keeper.counts[S.IN_PROGRESS] == 1
    community = await svc.listing(world.coordinator_a, S.NEW)
    assert [c.text for c in community.cards] == ["A2的"]
    assert (await svc.counts(world.district))[S.NEW] == 2
    assert [c.text for c in (await svc.listing(world.coordinator_b, S.NEW)).cards] == ["B的"]


# --- links ---------------------------------------------------------------------------------


async def test_a_link_must_exist_in_reach_and_the_author_sees_it(
    services: Services, world: World
) -> None:
    made = await services.suggestions.submit(world.granny, _draft(), token="t")
    wish_a = await services.wishes.post(
        world.granny, WishDraft(category=WishCategory.REPAIRS, text="修路灯")
    )
    wish_b = await services.wishes.post(
        world.resident_b, WishDraft(category=WishCategory.REPAIRS, text="B的")
    )
    svc = services.suggestions
    coordinator = world.coordinator_a
    before = await _state(services, made.id)
    with pytest.raises(NoWishToLink):
        await svc.link(coordinator, made.id, SuggestionLinkKind.WISH, wish_b.id)
    with pytest.raises(NoWishToLink):
        await svc.link(coordinator, made.id, SuggestionLinkKind.WISH, 10**14)
    with pytest.raises(NoFindingToLink):
        await svc.link(coordinator, made.id, SuggestionLinkKind.FINDING, 1)
    other = await services.broadcasts.create_draft(world.coordinator_b, text="B社区停水")
    with pytest.raises(NoBroadcastToLink):
        await svc.link(coordinator, made.id, SuggestionLinkKind.BROADCAST, other.broadcast.id)
    assert await _state(services, made.id) == before

    card = await svc.link(coordinator, made.id, SuggestionLinkKind.WISH, wish_a.id)
    assert [(link.kind, link.ref_id) for link in card.links] == [
        (SuggestionLinkKind.WISH, wish_a.id)
    ]
    with pytest.raises(AlreadyLinked):
        await svc.link(coordinator, made.id, SuggestionLinkKind.WISH, wish_a.id)
    own = await services.broadcasts.create_draft(coordinator, text="路灯已修好")
    with pytest.raises(NoBroadcastToLink):  # a draft answered nothing yet
        await svc.link(coordinator, made.id, SuggestionLinkKind.BROADCAST, own.broadcast.id)
    await services.broadcasts.send_now(coordinator, own.broadcast.id)
    await svc.link(coordinator, made.id, SuggestionLinkKind.BROADCAST, own.broadcast.id)
    (mine,) = (await svc.mine(world.granny)).items
    assert [link.kind for link in mine.links] == [
        SuggestionLinkKind.WISH,
        SuggestionLinkKind.BROADCAST,
    ]
    told = await _queued(services, "suggestion.linked")
    assert [chat for chat, _, _ in told] == [GRANNY_ID, GRANNY_ID]


async def test_what_answered_it_lies_in_the_suggestions_community(
    services: Services, world: World
) -> None:
    """A coordinator over two communities (the district's) may not link another community's
    wish, finding or announcement to a suggestion: it answered nothing there, and the author
    would be told of it."""
    made = await services.suggestions.submit(world.granny, _draft(), token="t")
    wish_b = await services.wishes.post(
        world.resident_b, WishDraft(category=WishCategory.REPAIRS, text="B的")
    )
    to_b = await services.broadcasts.create_draft(world.coordinator_b, text="B社区停水")
    await services.broadcasts.send_now(world.coordinator_b, to_b.broadcast.id)
    svc, district = services.suggestions, world.district
    before = await _state(services, made.id)
    with pytest.raises(NoWishToLink):
        await svc.link(district, made.id, SuggestionLinkKind.WISH, wish_b.id)
    with pytest.raises(NoBroadcastToLink):
        await svc.link(district, made.id, SuggestionLinkKind.BROADCAST, to_b.broadcast.id)
    assert await _state(services, made.id) == before
    assert await _queued(services, "suggestion.linked") == []
    # An announcement to the whole district reached the suggestion's community: it may.
    to_all = await services.broadcasts.create_draft(district, text="全区路灯检修")
    await services.broadcasts.send_now(district, to_all.broadcast.id)
    card = await svc.link(district, made.id, SuggestionLinkKind.BROADCAST, to_all.broadcast.id)
    assert [link.ref_id for link in card.links] == [to_all.broadcast.id]


# --- anonymity -----------------------------------------------------------------------------


async def test_an_anonymous_authors_id_and_name_are_in_nothing_a_coordinator_reads(
    services: Services, world: World
) -> None:
    from handlers import notices as notice_views
    from handlers.admin.audit import audit_line
    from handlers.suggestions.views import coordinator_card, coordinator_list

    made = await services.suggestions.submit(
        world.granny, _draft(anonymous=True, photo_file_id="P1"), token="t"
    )
    svc = services.suggestions
    coordinator = world.coordinator_a
    wish = await services.wishes.post(
        world.member_a, WishDraft(category=WishCategory.REPAIRS, text="修路灯")
    )
    await svc.change(coordinator, made.id, E.TAKE_UP)
    await svc.reply(coordinator, made.id, "已请物业修好")
    await svc.link(coordinator, made.id, SuggestionLinkKind.WISH, wish.id)
    card = await svc.card(coordinator, made.id)
    assert card.author_name is None and card.building_name is None
    page = await svc.listing(coordinator, S.ANSWERED)

    seen: list[str] = [card.model_dump_json()]
    for language in ("zh", "en"):
        t = translator(language)
        text, rows = coordinator_card(t, card, language, services.settings.zone)
        seen += [text, json.dumps(rows)]
        text, rows = coordinator_list(t, page, language, services.settings.zone)
        seen += [text, json.dumps(rows)]
        for chat, _, params in await _queued(services, SuggestionReceived.KIND):
            notice = SuggestionReceived.model_validate(params)
            shown = await notice_views.render_notice(services, notice, language)
            assert shown is not None
            seen += [json.dumps(params), shown.text, json.dumps(shown.buttons)]
            assert chat != GRANNY_ID
    async with services.store.read() as conn:
        from storage import audit

        entries = await audit.recent(conn, coordinator.reach)  # type: ignore[arg-type]
        rows = (await conn.execute(select(audit_log))).mappings().all()
    assert {e.action for e in entries} >= {"suggestion.reply", "suggestion.status"}
    seen += [audit_line(translator("zh"), e, "zh", services.settings.zone) for e in entries]
    seen += [json.dumps({k: str(v) for k, v in row.items()}) for row in rows]
    everything = "\n".join(seen)
    assert "已请物业修好" in everything  # what was looked at is there ...
    assert GRANNY not in everything  # ... and the author is not
    assert str(GRANNY_ID) not in everything
    assert "A1号楼" not in everything  # nor their building


async def test_an_anonymous_suggestion_is_tied_to_no_building(
    services: Services, world: World
) -> None:
    """The author was promised the staff see not their building: a building's coordinator
    who received it, listed it or exported their building would know it. An anonymous
    suggestion lies in the community alone, told to and read by its coordinators."""
    made = await services.suggestions.submit(world.granny, _draft(anonymous=True), token="t")
    assert made.building_id is None and made.community_id == world.a.id
    told = {chat for chat, _, _ in await _queued(services, SuggestionReceived.KIND)}
    assert told == {world.coordinator_a.id}
    with pytest.raises(NoSuchSuggestion):
        await services.suggestions.card(world.keeper_a1, made.id)
    page = await services.suggestions.listing(world.keeper_a1, S.NEW)
    assert page.cards == [] and page.counts[S.NEW] == 0
    assert (await services.suggestions.card(world.coordinator_a, made.id)).id == made.id


async def test_an_anonymous_record_hides_whom_the_member_heard_it_from(
    services: Services, world: World
) -> None:
    """A member writing down a resident's suggestion anonymously: the resident's name and
    room reach the member (to pass replies on), never the staff."""
    made = await services.suggestions.submit(
        world.member_a, _draft(heard_from="张奶奶 5-302", anonymous=True), token="x"
    )
    received = await _queued(services, SuggestionReceived.KIND)
    assert received
    for _, _, params in received:
        assert params.get("heard_from") is None and params.get("author_name") is None
    card = await services.suggestions.card(world.coordinator_a, made.id)
    assert card.heard_from is None
    page = await services.suggestions.listing(world.coordinator_a, S.NEW)
    assert "张奶奶" not in page.model_dump_json()
    await services.suggestions.reply(world.coordinator_a, made.id, "好的")
    ((chat, _, told),) = await _queued(services, "suggestion.replied")
    assert chat == world.member_a.id and told["heard_from"] == "张奶奶 5-302"


async def test_a_signed_suggestion_shows_its_authors_name_to_coordinators(
    services: Services, world: World
) -> None:
    made = await services.suggestions.submit(world.granny, _draft(), token="t")
    card = await services.suggestions.card(world.coordinator_a, made.id)
    assert card.author_name == GRANNY and card.building_name == "A1号楼"
    assert not hasattr(card, "author_id")
    with pytest.raises(NotFound):
        await services.suggestions.card(world.coordinator_b, made.id)


# --- the screens stay within Telegram's limits -----------------------------------------------

HOSTILE = "<b>王 & Co</b>"


def _long_card(suggestion_id: int, status: SuggestionStatus) -> SuggestionCard:
    return SuggestionCard(
        id=suggestion_id,
        community_name=HOSTILE,
        anonymous=False,
        author_name=HOSTILE * 5,
        building_name=HOSTILE,
        heard_from="张" * 64,
        topic=SuggestionTopic.NEIGHBOURS,
        text=(HOSTILE + "长") * 90,  # about 1,000 characters
        photo=True,
        voice=True,
        status=status,
        created_at=DAYTIME,
        answered_at=DAYTIME,
        replies=[
            ReplyShown(replier_name=HOSTILE, text="答" * 1000, created_at=DAYTIME)
            for _ in range(12)
        ],
        links=[
            SuggestionLink(
                id=i, suggestion_id=suggestion_id, kind=kind, ref_id=10**9 + i, linked_at=DAYTIME
            )
            for i, kind in enumerate(list(SuggestionLinkKind) * 10)
        ],
        moves=moves_from(status),
    )


def _fits(text: str, rows: object) -> None:
    visible, _ = parse_html(text)  # raises on HTML Telegram would refuse
    assert len(visible) <= 4096 and len(text) <= 4096
    buttons = [data for row in rows for _, data in row]  # type: ignore[attr-defined]
    assert len(buttons) <= 100
    assert all(len(data.encode()) <= 64 for data in buttons)
    assert all(any(b.pattern().match(data) for b in REGISTRY.values()) for data in buttons)


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_the_longest_card_list_and_my_suggestions_fit_one_message(
    services: Services, language: str
) -> None:
    from handlers.suggestions.views import coordinator_card, coordinator_list, mine_view

    t, zone = translator(language), services.settings.zone
    for status in SuggestionStatus:
        _fits(*coordinator_card(t, _long_card(123_456_789, status), language, zone))
    page = CardPage(
        status=S.NEW,
        page=3,
        cards=[_long_card(10**9 + i, S.NEW) for i in range(10)],
        more=True,
        counts={s: 10**6 for s in SuggestionStatus},
    )
    _fits(*coordinator_list(t, page, language, zone))
    mine = MinePage(
        page=2,
        more=True,
        items=[
            Mine(
                suggestion=Suggestion(
                    id=10**9 + i,
                    community_id=1,
                    author_id=1,
                    anonymous=bool(i % 2),
                    heard_from="张" * 64,
                    topic=SuggestionTopic.OTHER,
                    text="建" * 1000,
                    status=S.ANSWERED,
                    created_at=DAYTIME,
                    updated_at=DAYTIME,
                ),
                replies=[
                    SuggestionReply(
                        id=r,
                        suggestion_id=1,
                        replied_by=1,
                        replier_name=HOSTILE,
                        text="答" * 1000,
                        created_at=DAYTIME,
                    )
                    for r in range(12)
                ],
                links=_long_card(1, S.NEW).links,
            )
            for i in range(5)
        ],
    )
    text, rows = mine_view(t, mine, language, zone)
    _fits(text, rows)
    assert ("建" * 80) in text
    assert text.count("<b>#") == 5 and f"<b>#{10**9 + 4}</b>" in text  # none cut off


@pytest.mark.parametrize("language", ["zh", "en"])
def test_an_anonymous_voice_note_is_not_promised_to_hide_who_speaks(language: str) -> None:
    """The promise "the staff see neither your name nor your building" leaves a voice note:
    heard as it is, it may tell who left it; the prompt says so when the suggestion is one."""
    from handlers.suggestions.views import sign_prompt

    t = translator(language)
    plain, _ = sign_prompt(t, "张奶奶")
    spoken, _ = sign_prompt(t, "张奶奶", voice=True)
    assert "🔊" not in plain
    assert spoken.startswith(plain) and "🔊" in spoken[len(plain) :]
    assert ("原声" in spoken) == (language == "zh")
