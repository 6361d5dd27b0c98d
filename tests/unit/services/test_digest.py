"""你说我做 through the real services, on both databases: the counts are the statistics' figures
for the month, the candidate stories carry no resident's name, room, phone and no author, the
digest is a community coordinator's (residents, members, a building's coordinator refused;
another community not found), at most three stories, one digest per community and month, and
it goes out as an announcement whose body is the data, to everyone in the community."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.models import (
    BroadcastStatus,
    FindingStatus,
    Node,
    NodeKind,
    SlotKind,
    SlotStatus,
    StoryKind,
    SuggestionStatus,
    SuggestionTopic,
    TeamKind,
    User,
    WishCategory,
    WishStatus,
)
from bot.services import Services
from bot.services.digest import (
    CONTENT_KIND,
    REMIND_KIND,
    DigestAlreadySent,
    RewriteEmpty,
    RewriteTooLong,
    StoryChoice,
    StoryGone,
    TooManyStories,
)
from bot.services.errors import NotAllowed, NotFound
from bot.services.stats.period import PeriodInFuture, month_of
from storage import org
from storage import outbox as outbox_repo
from storage.digest import CANDIDATES_EACH
from storage.schema import (
    audit_log,
    broadcasts,
    digests,
    outbox,
    patrol_findings,
    reminders,
    slots,
    suggestion_replies,
    suggestions,
    teams,
    wishes,
)
from tests.conftest import COORDINATOR_ID, RegisterUser, make_member
from tests.support.rendering import outbox_kinds

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 3 December, 10:00 in Shanghai
NOVEMBER = date(2026, 11, 1)


def at(day: int, month: int = 11, hour: int = 12) -> datetime:
    """A November (or other) day in Shanghai, as UTC (Shanghai is 8 hours ahead)."""
    return datetime(2026, month, day, hour - 8, 0, tzinfo=UTC)


# Everything that would identify a resident or an author: none may be in a candidate.
SECRETS = ("刘大爷", "3-502", "13800000000", "孙阿姨", "周老师", "胡同口", "张奶奶", "王党员")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@dataclass
class World:
    coordinator: User
    keeper: User  # a building's coordinator
    member: User
    resident: User
    resident_en: User
    community: int
    other_community: int
    building: int
    team_name: str


async def _suggestion(
    conn: object,
    *,
    community: int,
    author: int,
    text: str | None,
    status: SuggestionStatus,
    created: datetime,
    answered: datetime | None,
    reply: str | None = None,
    anonymous: bool = False,
    heard_from: str | None = None,
    topic: SuggestionTopic = SuggestionTopic.SAFETY,
    token: str,
) -> int:
    result = await conn.execute(  # type: ignore[attr-defined]
        suggestions.insert()
        .values(
            community_id=community,
            author_id=author,
            anonymous=anonymous,
            heard_from=heard_from,
            topic=topic.value,
            text=text,
            status=status.value,
            token=token,
            created_at=created,
            updated_at=answered or created,
            answered_at=answered,
        )
        .returning(suggestions.c.id)
    )
    suggestion_id = int(result.scalar_one())
    if reply is not None and answered is not None:
        await conn.execute(  # type: ignore[attr-defined]
            suggestion_replies.insert().values(
                suggestion_id=suggestion_id,
                replied_by=COORDINATOR_ID,
                text=reply,
                created_at=answered,
            )
        )
    return suggestion_id


async def _wish(
    conn: object,
    *,
    community: int,
    posted_by: int,
    text: str | None,
    status: WishStatus,
    created: datetime,
    done: datetime | None = None,
    claimed_by: int | None = None,
    team_id: int | None = None,
    for_name: str | None = None,
    for_room: str | None = None,
    for_phone: str | None = None,
    category: WishCategory = WishCategory.DAILY_LIFE,
) -> int:
    result = await conn.execute(  # type: ignore[attr-defined]
        wishes.insert()
        .values(
            community_id=community,
            posted_by=posted_by,
            for_name=for_name,
            for_room=for_room,
            for_phone=for_phone,
            category=category.value,
            text=text,
            urgent=False,
            status=status.value,
            created_at=created,
            claimed_by=claimed_by,
            team_id=team_id,
            claimed_at=created if claimed_by else None,
            done_at=done,
            done_note="给刘大爷送到3-502了" if done else None,
        )
        .returning(wishes.c.id)
    )
    return int(result.scalar_one())


@pytest.fixture
async def world(services: Services, register: RegisterUser) -> World:
    await register(COORDINATOR_ID, "李书记")
    coordinator = await services.users.require(COORDINATOR_ID)
    community = services.default_community_id
    building = await services.admin.add_building(coordinator, "3号楼", community)
    await register(400, "楼长")
    keeper = await services.admin.appoint(
        coordinator, 400, Node(kind=NodeKind.BUILDING, id=building.id)
    )
    member = await make_member(services, register, 201, "王党员", building_id=building.id)
    await register(300, "张奶奶", building_id=building.id, room="3-502", phone="13800000000")
    await register(301, "Tom", language="en", building_id=building.id)
    async with services.store.transaction() as conn:
        street = (await org.get_community(conn, community)).street_id  # type: ignore[union-attr]
        other = await org.add_community(conn, street, "隔壁社区")
        team = await conn.execute(
            teams.insert()
            .values(
                community_id=community,
                name="青年服务队",
                kind=TeamKind.DOMESTIC.value,
                leader_id=201,
                active=True,
                created_by=COORDINATOR_ID,
                created_at=at(1, 10),
            )
            .returning(teams.c.id)
        )
        team_id = int(team.scalar_one())
        # Suggestions: two answered in November (one anonymous, one heard face to face), one
        # still new, one answered in October, one of the other community.
        await _suggestion(
            conn,
            community=community,
            author=300,
            anonymous=True,
            text="楼道灯坏了好几天，晚上看不清台阶",
            status=SuggestionStatus.ANSWERED,
            created=at(2),
            answered=at(10),
            reply="已联系物业，灯换好了",
            token="s1",
        )
        await _suggestion(
            conn,
            community=community,
            author=201,
            heard_from="孙阿姨 胡同口",
            text="希望小区里多放几张长椅",
            status=SuggestionStatus.CLOSED,
            created=at(3),
            answered=at(20),
            reply="长椅下周安装",
            topic=SuggestionTopic.FACILITIES,
            token="s2",
        )
        await _suggestion(
            conn,
            community=community,
            author=300,
            text="垃圾分类点太远",
            status=SuggestionStatus.NEW,
            created=at(5),
            answered=None,
            topic=SuggestionTopic.ENVIRONMENT,
            token="s3",
        )
        await _suggestion(
            conn,
            community=community,
            author=300,
            text="十月的建议",
            status=SuggestionStatus.ANSWERED,
            created=at(2, 10),
            answered=at(20, 10),
            reply="十月的答复",
            token="s4",
        )
        await _suggestion(
            conn,
            community=other,
            author=300,
            text="隔壁的建议",
            status=SuggestionStatus.ANSWERED,
            created=at(2),
            answered=at(10),
            reply="隔壁的答复",
            token="s5",
        )
        # Wishes: one done for a neighbour without a phone (name, room, phone on it), one
        # done by a team, one still open, one done by voice only (no words).
        done_for = await _wish(
            conn,
            community=community,
            posted_by=201,
            for_name="刘大爷",
            for_room="3-502",
            for_phone="13800000000",
            text="帮忙去医院取药",
            status=WishStatus.CONFIRMED,
            created=at(4),
            done=at(6),
            claimed_by=201,
            category=WishCategory.ELDERLY_CARE,
        )
        await _wish(
            conn,
            community=community,
            posted_by=300,
            text="家里水龙头漏水",
            status=WishStatus.DONE,
            created=at(7),
            done=at(8),
            claimed_by=201,
            team_id=team_id,
            category=WishCategory.REPAIRS,
        )
        await _wish(
            conn,
            community=community,
            posted_by=300,
            text="周老师想学用手机",
            status=WishStatus.OPEN,
            created=at(9),
        )
        await _wish(
            conn,
            community=community,
            posted_by=300,
            text=None,
            status=WishStatus.DONE,
            created=at(9),
            done=at(11),
            claimed_by=201,
        )
        # Patrol findings: one handled, one made a wish, one still new.
        slot = await conn.execute(
            slots.insert()
            .values(
                kind=SlotKind.PATROL.value,
                community_id=community,
                starts_at=at(5, hour=19),
                ends_at=at(5, hour=21),
                status=SlotStatus.OPEN.value,
                created_by=COORDINATOR_ID,
                created_at=at(1),
            )
            .returning(slots.c.id)
        )
        slot_id = int(slot.scalar_one())
        for token, text, status, handled, wish_id in (
            ("f1", "3号楼消防通道堆了杂物", FindingStatus.HANDLED, at(6), None),
            ("f2", "路灯不亮", FindingStatus.WISHED, at(7), done_for),
            ("f3", "井盖松动", FindingStatus.NEW, None, None),
        ):
            await conn.execute(
                patrol_findings.insert().values(
                    slot_id=slot_id,
                    community_id=community,
                    reported_by=201,
                    text=text,
                    status=status.value,
                    handled_by=COORDINATOR_ID if handled else None,
                    handled_at=handled,
                    wish_id=wish_id,
                    token=token,
                    created_at=at(5, hour=20),
                )
            )
    return World(
        coordinator=coordinator,
        keeper=keeper,
        member=member,
        resident=await services.users.require(300),
        resident_en=await services.users.require(301),
        community=community,
        other_community=other,
        building=building.id,
        team_name="青年服务队",
    )


async def test_the_counts_are_the_statistics_figures_of_the_month(
    services: Services, world: World
) -> None:
    screen = await services.digest.screen(world.coordinator, NOVEMBER)
    figures = await services.stats.figures(
        world.coordinator, Node(kind=NodeKind.COMMUNITY, id=world.community), month_of(NOVEMBER)
    )
    counts = screen.digest.counts
    assert counts.suggestions == figures.suggestions.received == 3
    assert counts.suggestions_answered == figures.suggestions.answered == 2
    assert counts.wishes == figures.wishes.posted == 4
    assert counts.wishes_done == figures.wishes.done == 3
    assert counts.findings_handled == figures.patrol.findings_handled == 2
    assert {t.topic: t.received for t in counts.by_topic} == {
        t.topic: t.received for t in figures.suggestions.by_topic if t.received
    }
    assert {c.category: c.posted for c in counts.by_category} == {
        c.category: c.posted for c in figures.wishes.by_category if c.posted
    }
    assert screen.digest.month == NOVEMBER
    assert screen.sent_broadcast_id is None


async def test_last_month_is_the_default_and_a_month_to_come_is_refused(
    services: Services, world: World
) -> None:
    screen = await services.digest.screen(world.coordinator)
    assert screen.digest.month == NOVEMBER
    with pytest.raises(PeriodInFuture):
        await services.digest.screen(world.coordinator, date(2027, 1, 1))


async def test_the_candidates_are_the_month_answered_done_and_fixed_without_names(
    services: Services, world: World
) -> None:
    screen = await services.digest.screen(world.coordinator, NOVEMBER)
    by_kind = {kind: [s for s in screen.candidates if s.kind is kind] for kind in StoryKind}
    assert sorted(s.words for s in by_kind[StoryKind.SUGGESTION]) == sorted(
        ["楼道灯坏了好几天，晚上看不清台阶", "希望小区里多放几张长椅"]
    )
    assert {s.reply for s in by_kind[StoryKind.SUGGESTION]} == {
        "已联系物业，灯换好了",
        "长椅下周安装",
    }
    # The wish done by voice only has no words to tell; the open one is not done.
    assert sorted(s.words for s in by_kind[StoryKind.WISH]) == sorted(
        ["帮忙去医院取药", "家里水龙头漏水"]
    )
    assert {s.words: s.team_name for s in by_kind[StoryKind.WISH]} == {
        "帮忙去医院取药": None,
        "家里水龙头漏水": "青年服务队",
    }
    assert {s.words: s.made_wish for s in by_kind[StoryKind.FINDING]} == {
        "3号楼消防通道堆了杂物": False,
        "路灯不亮": True,
    }
    dumped = screen.model_dump_json()
    for secret in SECRETS:
        assert secret not in dumped, secret
    # No author: the candidates hold no user id at all.
    assert '"author' not in dumped and "heard_from" not in dumped
    for story in screen.candidates:
        assert set(story.model_dump()) == {
            "kind",
            "ref_id",
            "words",
            "reply",
            "team_name",
            "made_wish",
            "rewritten",
        }


async def test_long_words_are_shortened(services: Services, world: World) -> None:
    async with services.store.transaction() as conn:
        await _wish(
            conn,
            community=world.community,
            posted_by=300,
            text="请帮忙" + "很长的话" * 40,
            status=WishStatus.DONE,
            created=at(12),
            done=at(13),
            claimed_by=201,
        )
    screen = await services.digest.screen(world.coordinator, NOVEMBER)
    long = next(s for s in screen.candidates if s.words.startswith("请帮忙"))
    assert len(long.words) <= 60 and long.words.endswith("…")


async def test_a_phone_number_in_a_residents_words_is_not_told(
    services: Services, world: World
) -> None:
    """The digest goes to every resident: a phone number a resident put in their wish (for
    the member who came) is hidden in its story; a day and a room stay."""
    async with services.store.transaction() as conn:
        for text in [
            "修水管 电话13800000001",
            "12月1日 3-201 请回电 138 0000 0002",
            "座机0971-8123456",
        ]:
            await _wish(
                conn,
                community=world.community,
                posted_by=300,
                text=text,
                status=WishStatus.DONE,
                created=at(12),
                done=at(13),
                claimed_by=201,
            )
    screen = await services.digest.screen(world.coordinator, NOVEMBER)
    words = {s.words for s in screen.candidates if s.kind is StoryKind.WISH}
    assert {"修水管 电话***", "12月1日 3-201 请回电 ***", "座机***"} <= words
    assert not any(digit in "".join(words) for digit in ["13800000001", "8123456", "0002"])


async def test_residents_members_and_a_building_coordinator_may_not(
    services: Services, world: World
) -> None:
    for who in (world.resident, world.member, world.keeper):
        with pytest.raises(NotAllowed):
            await services.digest.screen(who, NOVEMBER)
        with pytest.raises(NotAllowed):
            await services.digest.send(who, NOVEMBER, [])


async def test_another_community_is_not_found(services: Services, world: World) -> None:
    with pytest.raises(NotFound):
        await services.digest.screen(
            world.coordinator, NOVEMBER, community_id=world.other_community
        )
    with pytest.raises(NotFound):
        await services.digest.send(
            world.coordinator, NOVEMBER, [], community_id=world.other_community
        )


async def test_at_most_three_stories_and_only_the_month_candidates(
    services: Services, world: World
) -> None:
    screen = await services.digest.screen(world.coordinator, NOVEMBER)
    four = [StoryChoice(s.key) for s in screen.candidates[:4]]
    assert len(four) == 4
    with pytest.raises(TooManyStories):
        await services.digest.screen(world.coordinator, NOVEMBER, four)
    with pytest.raises(TooManyStories):
        await services.digest.send(world.coordinator, NOVEMBER, four)
    # October's suggestion, the other community's, the open wish, a forged key: not this
    # month's stories.
    async with services.store.read() as conn:
        foreign = [
            row.id
            for row in await conn.execute(
                select(suggestions.c.id).where(suggestions.c.token.in_(["s4", "s5"]))
            )
        ]
    # A forged button's key past PostgreSQL's 32-bit ids, or of digits int() refuses ("²"),
    # or of other scripts' digits: no story either, not a database error.
    forged = ["s99999999999", "w999999999999999", "s²", "f١٢", "s-1", "s0", "s 1"]
    for key in [f"s{foreign[0]}", f"s{foreign[1]}", "w3", "x1", "s99999999", *forged]:
        with pytest.raises(StoryGone):
            await services.digest.screen(world.coordinator, NOVEMBER, [StoryChoice(key)])
    twice = await services.digest.screen(
        world.coordinator, NOVEMBER, [four[0], four[1], StoryChoice(four[0].key, "别的话")]
    )
    assert [s.key for s in twice.digest.stories] == [four[0].key, four[1].key]
    assert not twice.digest.stories[0].rewritten
    with pytest.raises(RewriteTooLong):
        await services.digest.screen(
            world.coordinator, NOVEMBER, [StoryChoice(screen.candidates[0].key, "字" * 201)]
        )
    with pytest.raises(RewriteEmpty):  # zero-width characters alone: residents read nothing
        await services.digest.screen(
            world.coordinator, NOVEMBER, [StoryChoice(screen.candidates[0].key, "\u200b\u2060")]
        )


async def test_sent_once_to_everyone_in_the_community_with_the_data(
    services: Services, world: World
) -> None:
    screen = await services.digest.screen(world.coordinator, NOVEMBER)
    chosen = [
        StoryChoice(screen.candidates[0].key),
        StoryChoice(screen.candidates[-1].key, "巡逻队员发现消防通道堵了，当天就清理干净"),
    ]
    broadcast_id, count = await services.digest.send(world.coordinator, NOVEMBER, chosen)
    assert count >= 4  # the coordinator, the keeper, the member, two residents
    async with services.store.read() as conn:
        row = (
            (await conn.execute(select(broadcasts).where(broadcasts.c.id == broadcast_id)))
            .mappings()
            .one()
        )
        recipients = {
            r.chat_id
            for r in await conn.execute(
                select(outbox.c.chat_id).where(outbox.c.broadcast_id == broadcast_id)
            )
        }
        digest_rows = (await conn.execute(select(digests))).mappings().all()
        actions = [r.action for r in await conn.execute(select(audit_log.c.action))]
    assert row["status"] == BroadcastStatus.SENDING.value
    assert row["content_kind"] == CONTENT_KIND and row["text"] is None
    content = row["content"]
    assert content["month"] == "2026-11-01"
    assert content["counts"]["wishes_done"] == screen.digest.counts.wishes_done
    assert [f"{s['kind']}{s['ref_id']}" for s in content["stories"]] == [c.key for c in chosen]
    assert content["stories"][1]["rewritten"] is True
    assert {300, 301, 201} <= recipients
    assert [(r["community_id"], r["month"], r["broadcast_id"]) for r in digest_rows] == [
        (world.community, NOVEMBER, broadcast_id)
    ]
    assert "digest.send" in actions and "broadcast.send" in actions
    for secret in SECRETS:
        assert secret not in str(content), secret

    again = await services.digest.screen(world.coordinator, NOVEMBER)
    assert again.sent_broadcast_id == broadcast_id
    with pytest.raises(DigestAlreadySent):
        await services.digest.send(world.coordinator, NOVEMBER, [])
    async with services.store.read() as conn:
        assert len((await conn.execute(select(broadcasts.c.id))).all()) == 1
    # Another month is another digest.
    october, _ = await services.digest.send(world.coordinator, date(2026, 10, 1), [])
    assert october != broadcast_id


async def test_two_sends_of_the_same_month_at_once_make_one(
    services: Services, world: World
) -> None:
    import asyncio

    results = await asyncio.gather(
        services.digest.send(world.coordinator, NOVEMBER, []),
        services.digest.send(world.coordinator, NOVEMBER, []),
        return_exceptions=True,
    )
    assert sum(isinstance(r, tuple) for r in results) == 1
    assert sum(isinstance(r, DigestAlreadySent) for r in results) == 1
    async with services.store.read() as conn:
        assert len((await conn.execute(select(digests.c.id))).all()) == 1
        assert len((await conn.execute(select(broadcasts.c.id))).all()) == 1


async def test_the_coordinators_are_reminded_on_the_first_at_ten_unless_it_was_sent(
    services: Services, world: World, clock: ManualClock
) -> None:
    await services.digest.keep_reminding(world.coordinator)
    await services.digest.keep_reminding(world.coordinator)  # once per month, however often
    async with services.store.read() as conn:
        due = sorted(
            row.due_at
            for row in await conn.execute(
                select(reminders.c.due_at).where(reminders.c.kind == REMIND_KIND)
            )
        )
    assert due == [datetime(2027, 1, 1, 2, 0, tzinfo=UTC)]  # 1 January, 10:00 in Shanghai
    clock.current = datetime(2027, 1, 1, 1, 59, tzinfo=UTC)
    await services.reminders.run_due()
    assert "digest.ready" not in await outbox_kinds(services, COORDINATOR_ID)
    clock.current = datetime(2027, 1, 1, 2, 0, tzinfo=UTC)
    await services.reminders.run_due()
    assert (await outbox_kinds(services, COORDINATOR_ID)).count("digest.ready") == 1
    # Nobody else: not the building's coordinator, members or residents.
    for other in (world.keeper.id, world.member.id, world.resident.id):
        assert "digest.ready" not in await outbox_kinds(services, other)
    async with services.store.read() as conn:
        rows = await outbox_repo.rows_for_chat(conn, COORDINATOR_ID)
        params = next(r for r in rows if r.kind == "digest.ready").params
        due = sorted(
            row.due_at
            for row in await conn.execute(
                select(reminders.c.due_at).where(reminders.c.kind == REMIND_KIND)
            )
        )
    assert params is not None and params["month"] == "2026-12-01"
    assert due[-1] == datetime(2027, 2, 1, 2, 0, tzinfo=UTC)  # and the next month's is set
    # January's digest sent before the 1st of February: no reminder that day.
    clock.current = datetime(2027, 1, 31, 2, 0, tzinfo=UTC)
    await services.digest.send(world.coordinator, date(2027, 1, 1), [])
    clock.current = datetime(2027, 2, 1, 2, 0, tzinfo=UTC)
    await services.reminders.run_due()
    assert (await outbox_kinds(services, COORDINATOR_ID)).count("digest.ready") == 1


async def test_the_community_own_coordinators_are_reminded_before_those_above(
    services: Services, world: World, register: RegisterUser, clock: ManualClock
) -> None:
    await register(500, "社区书记", building_id=world.building)
    await services.admin.appoint(
        world.coordinator, 500, Node(kind=NodeKind.COMMUNITY, id=world.community)
    )
    await services.digest.keep_reminding(world.coordinator)
    clock.current = datetime(2027, 1, 1, 2, 5, tzinfo=UTC)
    await services.reminders.run_due()
    assert (await outbox_kinds(services, 500)).count("digest.ready") == 1
    assert "digest.ready" not in await outbox_kinds(services, COORDINATOR_ID)


async def test_a_story_chosen_beyond_the_newest_few_is_still_told(
    services: Services, world: World
) -> None:
    async with services.store.transaction() as conn:
        made = [
            await _wish(
                conn,
                community=world.community,
                posted_by=300,
                text=f"第{n}件事",
                status=WishStatus.DONE,
                created=at(12),
                done=at(13 + n),
                claimed_by=201,
            )
            for n in range(CANDIDATES_EACH)
        ]
    screen = await services.digest.screen(world.coordinator, NOVEMBER)
    shown = {s.key for s in screen.candidates}
    assert {f"w{i}" for i in made} <= shown and "w1" not in shown  # the first wish, older
    chosen = await services.digest.screen(world.coordinator, NOVEMBER, [StoryChoice("w1")])
    assert [s.words for s in chosen.digest.stories] == ["帮忙去医院取药"]
