"""Broadcasts through the real service and SQLite: drafts, audiences, opt-out, schedule,
cancel, the delivery report, and what a non-coordinator cannot do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.models import AudienceKind, BroadcastStatus, OutboxStatus, Role, TeamKind
from bot.services import Services
from bot.services.broadcast import (
    CAPTION_MAX,
    TEXT_MAX,
    AlreadyDecided,
    EmptyBroadcast,
    NoRecipients,
)
from bot.services.errors import InvalidInput, NotAllowed
from storage import outbox as outbox_repo
from storage import users as users_repo
from storage.schema import audit_log, outbox
from tests.conftest import COORDINATOR_ID, RegisterUser
from tests.support.rendering import outbox_rows


async def recipients(services: Services, broadcast_id: int) -> list[int]:
    async with services.store.read() as conn:
        query = (
            select(outbox.c.chat_id)
            .where(outbox.c.broadcast_id == broadcast_id)
            .order_by(outbox.c.chat_id)
        )
        return [int(c) for c in (await conn.scalars(query)).all()]


async def community(services: Services, register: RegisterUser) -> dict[str, int]:
    """Two buildings; a coordinator, two residents in A, one member in B, one resident in B
    who turned announcements off."""
    coordinator = await register(COORDINATOR_ID, "Li")
    a = await services.admin.add_building(coordinator, "1号楼")
    b = await services.admin.add_building(coordinator, "2号楼")
    await register(1, "Wang", building_id=a.id)
    await register(2, "Zhao", building_id=a.id, language="en")
    await register(3, "Qian", building_id=b.id)
    await register(4, "Sun", building_id=b.id)
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, 3, Role.MEMBER, COORDINATOR_ID, services.clock.now())
    await services.users.update_profile(4, announcements=False)
    return {"a": a.id, "b": b.id}


async def test_a_building_broadcast_reaches_exactly_that_building(
    services: Services, register: RegisterUser
) -> None:
    ids = await community(services, register)
    li = await services.users.require(COORDINATOR_ID)
    draft = await services.broadcasts.create_draft(li, text="Water is off <b>tomorrow</b>")
    chosen = await services.broadcasts.choose_audience(
        li, draft.broadcast.id, AudienceKind.BUILDING, ids["a"]
    )
    assert chosen.recipients == 2 and chosen.audience_name == "1号楼"
    assert await services.broadcasts.send_now(li, draft.broadcast.id) == 2
    assert await recipients(services, draft.broadcast.id) == [1, 2]
    texts = {row["chat_id"]: row["text"] for row in await outbox_rows(services)}
    async with services.store.read() as conn:
        actions = (await conn.scalars(select(audit_log.c.action))).all()
    assert texts[2].startswith("📢 <b>Announcement from")  # each in their own language
    assert texts[1].startswith("📢 <b>") and "社区通知" in texts[1]
    assert texts[1].endswith("Water is off <b>tomorrow</b>")
    assert "broadcast.send" in actions


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (AudienceKind.EVERYONE, [COORDINATOR_ID, 1, 2, 3]),
        (AudienceKind.RESIDENTS, [1, 2]),
        (AudienceKind.MEMBERS, [3]),
        (AudienceKind.COORDINATORS, [COORDINATOR_ID]),
    ],
)
async def test_audiences_leave_out_those_who_turned_announcements_off(
    services: Services, register: RegisterUser, kind: AudienceKind, expected: list[int]
) -> None:
    await community(services, register)
    li = await services.users.require(COORDINATOR_ID)
    draft = await services.broadcasts.create_draft(li, text="Hello")
    await services.broadcasts.choose_audience(li, draft.broadcast.id, kind)
    await services.broadcasts.send_now(li, draft.broadcast.id)
    assert await recipients(services, draft.broadcast.id) == sorted(expected)


async def test_urgent_reaches_those_who_turned_announcements_off(
    services: Services, register: RegisterUser
) -> None:
    ids = await community(services, register)
    li = await services.users.require(COORDINATOR_ID)
    draft = await services.broadcasts.create_draft(li, text="Gas leak: leave the building")
    before = await services.broadcasts.choose_audience(
        li, draft.broadcast.id, AudienceKind.BUILDING, ids["b"]
    )
    urgent = await services.broadcasts.set_urgent(li, draft.broadcast.id, True)
    assert (before.recipients, urgent.recipients) == (1, 2)
    await services.broadcasts.send_now(li, draft.broadcast.id)
    assert await recipients(services, draft.broadcast.id) == [3, 4]


async def test_a_team_broadcast_reaches_its_members(
    services: Services, register: RegisterUser
) -> None:
    await community(services, register)
    li = await services.users.require(COORDINATOR_ID)
    team = await services.teams.create(li, name="法律服务队", kind=TeamKind.LEGAL, leader_id=3)
    draft = await services.broadcasts.create_draft(li, text="Meeting at 7")
    chosen = await services.broadcasts.choose_audience(
        li, draft.broadcast.id, AudienceKind.TEAM, team.id
    )
    assert chosen.audience_name == "法律服务队"
    await services.broadcasts.send_now(li, draft.broadcast.id)
    assert await recipients(services, draft.broadcast.id) == [3]


async def test_bad_drafts_and_audiences_are_refused(
    services: Services, register: RegisterUser
) -> None:
    ids = await community(services, register)
    li = await services.users.require(COORDINATOR_ID)
    with pytest.raises(EmptyBroadcast):
        await services.broadcasts.create_draft(li, text="   ")
    with pytest.raises(InvalidInput):
        await services.broadcasts.create_draft(li, text="x" * (TEXT_MAX + 1))
    with pytest.raises(InvalidInput):
        await services.broadcasts.create_draft(
            li, text="y" * (CAPTION_MAX + 1), photo_file_id="photo-1"
        )
    photo = await services.broadcasts.create_draft(li, text=None, photo_file_id="photo-1")
    assert photo.broadcast.text is None
    draft = await services.broadcasts.create_draft(li, text="Hello")
    empty = await services.admin.add_building(li, "3号楼")
    with pytest.raises(NoRecipients):
        await services.broadcasts.choose_audience(
            li, draft.broadcast.id, AudienceKind.BUILDING, empty.id
        )
    with pytest.raises(InvalidInput):
        await services.broadcasts.choose_audience(
            li, draft.broadcast.id, AudienceKind.BUILDING, 999
        )
    with pytest.raises(InvalidInput):
        await services.broadcasts.choose_audience(li, draft.broadcast.id, AudienceKind.SESSION, 1)
    await services.broadcasts.choose_audience(
        li, draft.broadcast.id, AudienceKind.BUILDING, ids["a"]
    )
    await services.broadcasts.send_now(li, draft.broadcast.id)
    with pytest.raises(AlreadyDecided):  # a second press of an old "Send now" button
        await services.broadcasts.send_now(li, draft.broadcast.id)
    assert len(await recipients(services, draft.broadcast.id)) == 2


async def test_residents_and_members_cannot_broadcast(
    services: Services, register: RegisterUser
) -> None:
    await community(services, register)
    li = await services.users.require(COORDINATOR_ID)
    draft = await services.broadcasts.create_draft(li, text="Hello")
    for user_id in (1, 3):
        someone = await services.users.require(user_id)
        with pytest.raises(NotAllowed):
            await services.broadcasts.create_draft(someone, text="Spam")
        with pytest.raises(NotAllowed):
            await services.broadcasts.send_now(someone, draft.broadcast.id)
        with pytest.raises(NotAllowed):
            await services.broadcasts.report(someone, draft.broadcast.id)
    async with services.store.read() as conn:
        assert (await outbox_repo.status_counts(conn))[OutboxStatus.PENDING] == 0


async def test_scheduled_broadcast_starts_at_its_time_and_can_be_cancelled(
    services: Services, register: RegisterUser, clock: ManualClock
) -> None:
    await community(services, register)
    li = await services.users.require(COORDINATOR_ID)
    first = await services.broadcasts.create_draft(li, text="Monthly theme day")
    second = await services.broadcasts.create_draft(li, text="Never mind")
    with pytest.raises(InvalidInput):
        await services.broadcasts.schedule(li, first.broadcast.id, clock.now())
    at = clock.now() + timedelta(hours=2)
    await services.broadcasts.schedule(li, first.broadcast.id, at)
    await services.broadcasts.schedule(li, second.broadcast.id, at)
    listed = await services.broadcasts.scheduled(li)
    assert {d.broadcast.id for d in listed} == {first.broadcast.id, second.broadcast.id}
    cancelled = await services.broadcasts.cancel(li, second.broadcast.id)
    assert cancelled.status is BroadcastStatus.CANCELLED
    assert await services.broadcasts.start_due() == []
    clock.advance(hours=2)
    assert await services.broadcasts.start_due() == [first.broadcast.id]
    assert await services.broadcasts.start_due() == []
    assert len(await recipients(services, first.broadcast.id)) == 4
    assert await recipients(services, second.broadcast.id) == []
    async with services.store.read() as conn:
        notice = await outbox_repo.get_by_dedupe_key(
            conn, f"broadcast:{first.broadcast.id}:progress"
        )
    assert notice is not None and notice.message.chat_id == COORDINATOR_ID


async def test_progress_finishes_with_a_report_to_the_coordinator(
    services: Services, register: RegisterUser, clock: ManualClock
) -> None:
    await community(services, register)
    li = await services.users.require(COORDINATOR_ID)
    draft = await services.broadcasts.create_draft(li, text="Hello")
    await services.broadcasts.choose_audience(li, draft.broadcast.id, AudienceKind.RESIDENTS)
    await services.broadcasts.send_now(li, draft.broadcast.id)
    await services.broadcasts.set_progress_message(draft.broadcast.id, COORDINATOR_ID, 55)
    assert await services.broadcasts.progress() == 1  # an edit of the progress message
    (edit,) = [
        r for r in await outbox_rows(services, COORDINATOR_ID) if r["kind"] == "live.refresh"
    ]
    assert "0 of 2" in edit["text"] or "0 / 2" in edit["text"] or "2" in edit["text"]
    assert await services.broadcasts.progress() == 0  # that edit still waits: no second one
    rows = await outbox_repo_rows(services, draft.broadcast.id)
    async with services.store.transaction() as conn:
        for row, outcome in zip(rows, (OutboxStatus.SENT, OutboxStatus.BLOCKED), strict=True):
            await outbox_repo.claim(conn, row)
            if outcome is OutboxStatus.SENT:
                await outbox_repo.mark_sent(conn, [outbox_repo.Delivered(row, 1, clock.now())])
            else:
                await outbox_repo.mark_final(conn, row, outcome, error="403", now=clock.now())
    assert await services.broadcasts.progress() == 1  # finished (its edit still waits)
    assert await services.broadcasts.progress() == 0
    _, report = await services.broadcasts.report(li, draft.broadcast.id)
    assert (report.delivered, report.blocked, report.failed, report.pending) == (1, 1, 0, 0)
    async with services.store.read() as conn:
        sent_report = await outbox_repo.get_by_dedupe_key(
            conn, f"broadcast:{draft.broadcast.id}:report"
        )
    assert sent_report is not None and sent_report.message.chat_id == COORDINATOR_ID


async def test_stopping_a_running_broadcast_cancels_what_waits(
    services: Services, register: RegisterUser
) -> None:
    await community(services, register)
    li = await services.users.require(COORDINATOR_ID)
    draft = await services.broadcasts.create_draft(li, text="Oops, wrong text")
    await services.broadcasts.send_now(li, draft.broadcast.id)
    await services.broadcasts.cancel(li, draft.broadcast.id)
    _, report = await services.broadcasts.report(li, draft.broadcast.id)
    assert report.cancelled == 4 and report.pending == 0
    assert await services.broadcasts.progress() == 1  # finished; no progress message to edit
    broadcast, _ = await services.broadcasts.report(li, draft.broadcast.id)
    assert broadcast.status is BroadcastStatus.DONE


async def outbox_repo_rows(services: Services, broadcast_id: int) -> list[int]:
    async with services.store.read() as conn:
        query = (
            select(outbox.c.id).where(outbox.c.broadcast_id == broadcast_id).order_by(outbox.c.id)
        )
        return [int(i) for i in (await conn.scalars(query)).all()]
