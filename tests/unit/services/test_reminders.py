"""Reminders as database rows: due once, late with a note, skipped when stale, recurring."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import ManualClock
from bot.models import N_, Frequency, RecurringSchedule, Reminder, ReminderStatus
from bot.services import Services
from bot.services import reminders as reminders_service
from bot.services.errors import InvalidInput
from bot.services.reminders import NOTIFY, occurrences, parse_local_moment
from storage import reminders as reminders_repo
from tests.conftest import RegisterUser
from tests.support.rendering import outbox_rows

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def outbox_texts(services: Services, chat_id: int) -> list[str]:
    return [str(row["text"]) for row in await outbox_rows(services, chat_id)]


async def test_a_due_reminder_runs_once_in_the_transaction_that_marks_it(
    services: Services, clock: ManualClock
) -> None:
    seen: list[tuple[int, bool]] = []

    async def action(conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        seen.append((reminder.id, late))

    services.reminders.on("test.ping", action)
    async with services.store.transaction() as conn:
        rid = await services.reminders.schedule(
            conn, subject="shift:5", kind="test.ping", due_at=clock.now() + timedelta(minutes=10)
        )
        again = await services.reminders.schedule(
            conn, subject="shift:5", kind="test.ping", due_at=clock.now() + timedelta(minutes=10)
        )
    assert rid is not None and again is None  # the same reminder is scheduled once
    assert await services.reminders.run_due() == 0
    clock.advance(minutes=10)
    assert await services.reminders.run_due() == 1
    assert await services.reminders.run_due() == 0
    assert seen == [(rid, False)]


async def test_one_sweep_runs_batch_after_batch_until_none_is_due(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many reminders due in the same minute go out in one sweep, each once (they waited
    for the next sweep interval batch by batch before)."""
    monkeypatch.setattr(reminders_service, "SWEEP_BATCH", 4)
    seen: list[int] = []

    async def action(conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        seen.append(reminder.id)

    services.reminders.on("test.many", action)
    due = clock.now() + timedelta(minutes=1)
    async with services.store.transaction() as conn:
        for n in range(11):
            await services.reminders.schedule(
                conn, subject=f"shift:{n}", kind="test.many", due_at=due
            )
    clock.advance(minutes=1)
    assert await services.reminders.run_due() == 11
    assert await services.reminders.run_due() == 0
    assert len(seen) == len(set(seen)) == 11


async def test_a_failing_action_rolls_back_its_work_and_is_not_retried(
    services: Services, clock: ManualClock, register: RegisterUser
) -> None:
    await register(5, "Wang")

    async def broken(conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        user = await services.users.require(5)
        await services.notifier.to_user(conn, user, lambda t: "half done")
        raise RuntimeError("bug")

    services.reminders.on("test.broken", broken)
    async with services.store.transaction() as conn:
        rid = await services.reminders.schedule(
            conn, subject="x:1", kind="test.broken", due_at=clock.now()
        )
    assert rid is not None
    assert await services.reminders.run_due() == 1
    assert await services.reminders.run_due() == 0
    async with services.store.read() as conn:
        reminder = await reminders_repo.get_reminder(conn, rid)
    assert reminder is not None and reminder.status is ReminderStatus.FAILED
    assert await outbox_texts(services, 5) == []


async def test_missed_while_down_is_sent_late_with_a_note_or_skipped_when_stale(
    services: Services, clock: ManualClock, register: RegisterUser
) -> None:
    await register(5, "Wang", language="en")
    await register(6, "Li", language="zh")
    due = clock.now() + timedelta(minutes=5)
    payload = {
        "text": N_("Your patrol shift at {post} starts soon."),
        "values": {"post": "<Gate>"},
    }
    async with services.store.transaction() as conn:
        for user_id in (5, 6):
            await services.reminders.schedule(
                conn,
                subject="shift:1",
                kind=NOTIFY,
                due_at=due,
                recipient_id=user_id,
                payload=payload,
                stale_after=timedelta(hours=2),
            )
        stale = await services.reminders.schedule(
            conn,
            subject="shift:2",
            kind=NOTIFY,
            due_at=due,
            recipient_id=5,
            payload=payload,
            stale_after=timedelta(minutes=30),
        )
    clock.advance(hours=1)  # the bot was down for an hour
    assert await services.reminders.run_due() == 3
    english = await outbox_texts(services, 5)
    assert len(english) == 1
    assert english[0].startswith("Your patrol shift at &lt;Gate&gt; starts soon.")
    assert "late" in english[0]
    chinese = await outbox_texts(services, 6)
    assert len(chinese) == 1 and "&lt;Gate&gt;" in chinese[0]
    async with services.store.read() as conn:
        skipped = await reminders_repo.get_reminder(conn, stale or 0)
    assert skipped is not None and skipped.status is ReminderStatus.SKIPPED


async def test_on_time_reminder_has_no_late_note(
    services: Services, clock: ManualClock, register: RegisterUser
) -> None:
    await register(5, "Wang", language="en")
    async with services.store.transaction() as conn:
        await services.reminders.schedule(
            conn,
            subject="s:1",
            kind=NOTIFY,
            due_at=clock.now(),
            recipient_id=5,
            payload={
                "text": N_("Your patrol shift at {post} starts soon."),
                "values": {"post": "Gate"},
            },
        )
    clock.advance(seconds=30)
    await services.reminders.run_due()
    assert await outbox_texts(services, 5) == ["Your patrol shift at Gate starts soon."]


async def test_cancel_stops_pending_reminders_and_recurring_schedules(
    services: Services, clock: ManualClock
) -> None:
    async with services.store.transaction() as conn:
        await services.reminders.schedule(
            conn, subject="wish:9", kind=NOTIFY, due_at=clock.now() + timedelta(minutes=1)
        )
        await services.reminders.add_recurring(
            conn, subject="wish:9", kind=NOTIFY, frequency=Frequency.DAILY, at=time(8, 0)
        )
    async with services.store.transaction() as conn:
        cancelled = await services.reminders.cancel(conn, "wish:9")
    assert cancelled == 1 + 14  # one plus two weeks of daily rows
    clock.advance(days=30)
    assert await services.reminders.expand_recurring() == 0
    assert await services.reminders.run_due() == 0


async def test_recurring_schedules_are_expanded_ahead_in_local_time(
    services: Services, clock: ManualClock
) -> None:
    clock.current = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday, 08:00 in Shanghai
    async with services.store.transaction() as conn:
        await services.reminders.add_recurring(
            conn,
            subject="study:monthly",
            kind=NOTIFY,
            frequency=Frequency.MONTHLY,
            at=time(9, 30),
            day_of_month=31,
        )
        await services.reminders.add_recurring(
            conn,
            subject="patrol:weekly",
            kind=NOTIFY,
            frequency=Frequency.WEEKLY,
            at=time(19, 0),
            weekday=2,
        )
    weekly = await services.reminders.about("patrol:weekly")
    local = [r.due_at.astimezone(SHANGHAI) for r in weekly]
    assert [(d.month, d.day, d.hour) for d in local] == [(1, 7, 19), (1, 14, 19)]
    for _ in range(5):  # the sweep expands regularly while the bot runs
        clock.advance(days=10)
        await services.reminders.expand_recurring()
    monthly = [
        r.due_at.astimezone(SHANGHAI) for r in await services.reminders.about("study:monthly")
    ]
    assert [(d.month, d.day, d.hour, d.minute) for d in monthly] == [
        (1, 31, 9, 30),
        (2, 28, 9, 30),  # clamped to February's last day
    ]
    # Expanding again makes nothing twice.
    assert await services.reminders.expand_recurring() == 0


def test_occurrences_are_computed_in_the_local_zone() -> None:
    schedule = RecurringSchedule(
        id=1,
        subject="s",
        kind="k",
        recipient_id=None,
        payload={},
        frequency=Frequency.DAILY,
        local_time="07:00",
    )
    start = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    moments = list(occurrences(schedule, start, start + timedelta(days=2), SHANGHAI))
    assert [m.isoformat() for m in moments] == [
        "2026-03-01T23:00:00+00:00",
        "2026-03-02T23:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-01 09:00", "2026-12-01 09:00"),
        ("12-01 9:00", "2026-12-01 09:00"),
        ("12月1日 9点", "2026-12-01 09:00"),
        ("12/1 21:15", "2026-12-01 21:15"),
        ("18:30", "2026-11-25 18:30"),
        ("08:00", "2026-11-26 08:00"),  # passed today: tomorrow
        ("01-10 08:00", "2027-01-10 08:00"),  # passed this year: next year
    ],
)
def test_typed_local_moments(typed: str, expected: str) -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
    moment = parse_local_moment(typed, now, SHANGHAI)
    assert moment.tzinfo is not None
    assert moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") == expected


@pytest.mark.parametrize("typed", ["tomorrow", "2026-02-30 09:00", "25:00", ""])
def test_bad_moments_are_refused(typed: str) -> None:
    with pytest.raises(InvalidInput):
        parse_local_moment(typed, datetime(2026, 11, 25, tzinfo=UTC), SHANGHAI)
