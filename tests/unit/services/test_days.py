"""One reader for a typed day: a shift being planned reads a day without a year as the next
such day, a visit as the most recent one."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.services.days import BadDay, NoSuchDay, read_day

TODAY = date(2026, 12, 4)


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("12-24", date(2026, 12, 24)),
        ("12-04", date(2026, 12, 4)),  # today is still ahead enough
        ("12-01", date(2027, 12, 1)),  # already past this year: next year's
        ("１－５", date(2027, 1, 5)),
        ("2026年12月1号", date(2026, 12, 1)),  # a year typed is kept as typed
    ],
)
def test_a_day_ahead_without_a_year_is_the_next_such_day(typed: str, day: date) -> None:
    assert read_day(typed, TODAY, ahead=True) == day


def test_a_recent_day_without_a_year_is_last_years_when_this_years_is_ahead() -> None:
    on_new_year = date(2027, 1, 5)
    assert read_day("12-20", on_new_year, ahead=False, recent_within=timedelta(days=60)) == (
        date(2026, 12, 20)
    )
    # Too long ago to be meant: the day stays this year's (and its own check refuses it).
    assert read_day("6-20", on_new_year, ahead=False, recent_within=timedelta(days=60)) == (
        date(2027, 6, 20)
    )


def test_what_is_no_day_is_refused_and_a_day_the_calendar_lacks_says_so() -> None:
    with pytest.raises(BadDay) as refused:
        read_day("tomorrow", TODAY, ahead=True)
    assert type(refused.value) is BadDay
    with pytest.raises(NoSuchDay):
        read_day("2-30", TODAY, ahead=True)
    # 2-29 typed in a year whose next one has none stays a real day.
    assert read_day("2-29", date(2028, 3, 1), ahead=True) == date(2028, 2, 29)
