"""The day of a visit as a member types it: the shapes people write on a Chinese keyboard
(号 as well as 日, full-width digits), and a day the calendar lacks refused in so many words."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import translator
from bot.services.days import BadDay, NoSuchDay
from bot.services.wishes.drafts import parse_needed_by
from handlers.twinning.twins import TypeOrPressDay, read_day

TODAY = date(2026, 11, 25)
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("11月9号", date(2026, 11, 9)),
        ("11月9日", date(2026, 11, 9)),
        ("１１-０９", date(2026, 11, 9)),
        ("１１－０９", date(2026, 11, 9)),  # a full-width dash too
        ("２０２６年１１月９号", date(2026, 11, 9)),
        (" 11/9 ", date(2026, 11, 9)),
        ("12-01", date(2026, 12, 1)),  # ahead: the visit's date check refuses it
    ],
)
def test_a_typed_day_is_read_in_the_shapes_people_write(typed: str, day: date) -> None:
    assert read_day(typed, TODAY) == day


def test_full_width_digits_of_a_day_still_ahead_read_as_last_years() -> None:
    assert read_day("１２-０１", date(2027, 1, 5)) == date(2026, 12, 1)


def test_a_day_the_calendar_lacks_is_refused_in_so_many_words() -> None:
    with pytest.raises(NoSuchDay) as refused:
        read_day("2026-02-30", TODAY)
    said = translator("zh")(refused.value.message)
    assert said == "日历上没有这一天，请核对一下月份和日期。"
    with pytest.raises(NoSuchDay):
        read_day("13-01", TODAY)


@pytest.mark.parametrize("typed", ["abc", "11月", "2026-11-09 10:00", "11-9-3", ""])
def test_what_is_not_a_day_is_refused(typed: str) -> None:
    with pytest.raises(BadDay) as refused:
        read_day(typed, TODAY)
    assert type(refused.value) is TypeOrPressDay


def test_last_years_leap_day_typed_without_a_year_is_not_an_error() -> None:
    # 2-29 of 2028 typed on 2028-01-10 is ahead; 2027 has no 2-29: the day stays as typed,
    # and the visit's own date check refuses it as in the future.
    assert read_day("2-29", date(2028, 1, 10)) == date(2028, 2, 29)


@pytest.mark.parametrize(
    "typed",
    ["12-01", "12/1", "12.1", "12月1日", "12月1号", "2026-12-01", "2026年12月1日", "2026/12/1"],
)
def test_a_visit_day_reads_every_date_shape_a_wish_date_reads(typed: str) -> None:
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    needed_by = parse_needed_by(typed, now, ZONE).astimezone(ZONE).date()
    assert read_day(typed, date(2026, 12, 25)) == needed_by == date(2026, 12, 1)
