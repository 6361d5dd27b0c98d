"""Patrol's texts at their limits and as they leave late: /patrol, the week's roster and the
post list stay within a Telegram message (4,096 characters as shown, 100 buttons) with a
week of many shifts, long post names and many members; the evening-before reminder held
past midnight (quiet hours, the bot away) says "today", not "tomorrow"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

import handlers.patrol.views  # noqa: F401  (registers patrol's notice views)
from bot.clock import ManualClock
from bot.i18n import translator
from bot.models import (
    PatrolPost,
    Role,
    Shift,
    Signup,
    SignupStatus,
    Slot,
    SlotKind,
    SlotStatus,
)
from bot.services import Services
from bot.services.patrol import RosterDay, ShiftReminder, ShiftShort
from handlers.notices import Shown, render_notice
from handlers.patrol.admin_views import posts_view
from handlers.patrol.views import patrol_screen, roster_text
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID, DAYTIME, RegisterUser
from tests.support.fake_bot_api import parse_html

MONDAY = date(2026, 11, 23)
ZONE_NOW = DAYTIME
ZONE = ZoneInfo("Asia/Shanghai")  # the community's; the machine runs in UTC
TELEGRAM_TEXT = 4096
TELEGRAM_BUTTONS = 100
LONG_POST = "东门岗&<停车场>" + "长" * 54  # 64 characters, with what must be escaped


def _slot(i: int, starts_at: datetime, taken: int = 50) -> Slot:
    return Slot(
        id=i,
        kind=SlotKind.PATROL,
        community_id=1,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        capacity=50,
        taken=taken,
        status=SlotStatus.OPEN,
        created_by=1,
        created_at=ZONE_NOW,
    )


def _signup(slot: Slot, user_id: int) -> Signup:
    return Signup(
        id=user_id,
        slot_id=slot.id,
        user_id=user_id,
        status=SignupStatus.LEAVING if user_id % 7 == 0 else SignupStatus.GOING,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        created_at=ZONE_NOW,
        updated_at=ZONE_NOW,
        user_name="王" * 31 + "&",
    )


def _shown(text: str) -> str:
    plain, _ = parse_html(text)  # also fails on anything left unescaped
    return plain


def _buttons(rows: list[list[tuple[str, str]]]) -> int:
    return sum(len(row) for row in rows)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_crowded_week_roster_stays_within_one_message(language: str) -> None:
    t = translator(language)
    days = []
    for d in range(7):
        day = MONDAY + timedelta(days=d)
        shifts = []
        for h in range(12):
            start = datetime.combine(day, time(8 + h), tzinfo=ZONE).astimezone(UTC)
            slot = _slot(d * 100 + h, start)
            members = [_signup(slot, 1000 + k) for k in range(50)]
            shifts.append((Shift(slot=slot, post_id=1, post_name=LONG_POST), members))
        days.append(RosterDay(day=day, shifts=shifts))
    text = roster_text(t, language, ZONE, MONDAY, days)
    assert len(_shown(text)) <= TELEGRAM_TEXT
    assert text.endswith("…")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_patrol_with_many_shifts_of_mine_and_of_the_day_stays_within_one_message(
    language: str,
) -> None:
    t = translator(language)
    day = MONDAY + timedelta(days=2)
    mine = []
    for i in range(50):
        slot = _slot(i, ZONE_NOW + timedelta(days=1 + i // 4, hours=i % 4 * 3))
        mine.append((Shift(slot=slot, post_id=1, post_name=LONG_POST), _signup(slot, 1)))
    open_shifts = [
        (
            Shift(
                slot=_slot(500 + i, ZONE_NOW + timedelta(minutes=10 * i), taken=i % 3),
                post_id=1,
                post_name=LONG_POST,
            ),
            False,
        )
        for i in range(120)
    ]
    text, rows = patrol_screen(t, language, ZONE, 2, day, mine, open_shifts)
    assert len(_shown(text)) <= TELEGRAM_TEXT
    assert _buttons(rows) <= TELEGRAM_BUTTONS
    assert text.count("\n• ") == 10 + 25  # the next ten of mine, 25 of the day's


def test_the_post_list_keeps_under_a_hundred_buttons() -> None:
    t = translator("zh")
    posts = [
        PatrolPost(
            id=i,
            community_id=1,
            name=f"岗点{i}",
            area=None,
            building_ids=(),
            archived=False,
            created_by=1,
            created_at=ZONE_NOW,
        )
        for i in range(100)
    ]
    _, rows = posts_view(t, posts)
    assert _buttons(rows) <= TELEGRAM_BUTTONS


async def test_the_evening_before_reminder_held_past_midnight_says_today(
    services: Services, register: RegisterUser, clock: ManualClock
) -> None:
    await register(COORDINATOR_ID, "李书记")
    coordinator = await services.users.require(COORDINATOR_ID)
    await register(200, "王党员")
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, 200, Role.MEMBER, None, DAYTIME)
    member = await services.users.require(200)
    post = await services.patrol.create_post(coordinator, name="东门", area=None, building_ids=[])
    zone = services.settings.zone
    tomorrow = DAYTIME.astimezone(zone).date() + timedelta(days=1)
    (shift,) = await services.patrol.define_shifts(
        coordinator, post.id, day=tomorrow, start=time(19), end=time(21), capacity=2
    )
    await services.patrol.take(member, shift.slot.id)
    notice = ShiftReminder(
        community_id=shift.slot.community_id,
        slot_id=shift.slot.id,
        post_name=shift.post_name,
        starts_at=shift.slot.starts_at,
        ends_at=shift.slot.ends_at,
        user_id=member.id,
    )

    def text(shown: Shown | None) -> str:
        assert shown is not None
        return shown.text

    clock.current = datetime.combine(tomorrow, time(7), tzinfo=zone) - timedelta(days=1)
    assert "明天" in text(await render_notice(services, notice, "zh"))
    clock.current = datetime.combine(tomorrow, time(7), tzinfo=zone)  # held till 07:00
    zh = text(await render_notice(services, notice, "zh"))
    assert "今天" in zh and "明天" not in zh
    en = text(await render_notice(services, notice, "en"))
    assert "today" in en and "tomorrow" not in en


async def test_a_short_of_members_alert_that_waited_until_the_shift_filled_is_dropped(
    services: Services, register: RegisterUser
) -> None:
    await register(COORDINATOR_ID, "李书记")
    coordinator = await services.users.require(COORDINATOR_ID)
    post = await services.patrol.create_post(coordinator, name="东门", area=None, building_ids=[])
    tomorrow = DAYTIME.astimezone(services.settings.zone).date() + timedelta(days=1)
    (shift,) = await services.patrol.define_shifts(
        coordinator, post.id, day=tomorrow, start=time(19), end=time(21), capacity=1
    )
    notice = ShiftShort(
        community_id=shift.slot.community_id,
        slot_id=shift.slot.id,
        post_name=shift.post_name,
        starts_at=shift.slot.starts_at,
        ends_at=shift.slot.ends_at,
        taken=0,
        capacity=1,
    )
    shown = await render_notice(services, notice, "zh")
    assert shown is not None and "0" in shown.text
    await register(200, "王党员")
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, 200, Role.MEMBER, None, DAYTIME)
    await services.patrol.take(await services.users.require(200), shift.slot.id)
    assert await render_notice(services, notice, "zh") is None


def test_the_members_group_roster_does_not_show_who_asked_to_be_let_off() -> None:
    t = translator("zh")
    start = datetime.combine(MONDAY, time(19), tzinfo=ZONE).astimezone(UTC)
    slot = _slot(1, start, taken=2)
    asking, going = _signup(slot, 7), _signup(slot, 8)  # 7: LEAVING
    days = [
        RosterDay(
            day=MONDAY, shifts=[(Shift(slot=slot, post_id=1, post_name="东门"), [asking, going])]
        )
    ]
    assert "🙅" in roster_text(t, "zh", ZONE, MONDAY, days)
    group = roster_text(t, "zh", ZONE, MONDAY, days, for_group=True)
    assert "🙅" not in group and group.count("王" * 31) == 2
