"""The /stats message: every figure of `Figures` is in it, numbers in the reader's style
(thousands separators, ¥ with two decimals, medians in hours and minutes, rates in percent),
names escaped, HTML Telegram accepts, in both languages; the buttons carry place and period."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.i18n import translator
from bot.models import (
    Attendance,
    CategoryFigures,
    Figures,
    Leader,
    Node,
    NodeKind,
    PatrolFigures,
    Period,
    PeriodKind,
    StudyFigures,
    SuggestionFigures,
    TwinningTotals,
    UrgentFigures,
    WishCategory,
    WishFigures,
)
from bot.services.stats import period
from bot.services.stats.period import (
    FIRST_YEAR,
    PeriodInFuture,
    PeriodTooEarly,
    PeriodTooLong,
    PeriodUnreadable,
    parse,
)
from handlers.buttons import StaleButton
from handlers.stats.buttons import PlacesPage, ShowStats, period_of, period_word
from handlers.stats.views import (
    duration,
    figures_text,
    money,
    period_label,
    places_buttons,
    stats_buttons,
)
from tests.support.fake_bot_api import parse_html

YEAR = Period(kind=PeriodKind.YEAR, first_day=date(2026, 1, 1), last_day=date(2026, 12, 31))
TODAY = date(2026, 11, 25)


def big_year() -> Figures:
    return Figures(
        node=Node(kind=NodeKind.STREET, id=3),
        node_name="<幸福> & 街道",
        period=YEAR,
        zone="Asia/Shanghai",
        wishes=WishFigures(
            posted=12345,
            claimed=11001,
            done=9876,
            confirmed=8765,
            median_minutes_to_claim=42,
            median_minutes_to_done=125,
            by_category=[CategoryFigures(category=WishCategory.HEALTH, posted=2345, done=1234)],
        ),
        urgent=UrgentFigures(posted=321, claimed=320, median_minutes_to_claim=7),
        active_members=4321,
        twinning=TwinningTotals(
            start=YEAR.first_day,
            end=YEAR.last_day,
            households=1111,
            pairs_active=2222,
            pairs_formed=333,
            visits=5555,
            funds_fen=12345600,
            materials_fen=78,
        ),
        patrol=PatrolFigures(
            shifts=6666, hours=7777.5, missed=88, findings=999, findings_handled=990
        ),
        study=StudyFigures(
            sessions=44, attendance=Attendance(attended=3000, excused=500, absent=500)
        ),
        suggestions=SuggestionFigures(received=1500, answered=1200),
        leaders=[Leader(member_id=7, display_name="<b>小赵</b>", points=13579)],
    )


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_figure_is_in_the_message_as_valid_html(language: str) -> None:
    text = figures_text(translator(language), language, big_year())
    visible, _ = parse_html(text)  # raises on HTML Telegram would refuse
    for shown in (
        "12,345", "11,001", "9,876", "8,765", "2,345", "1,234",  # wishes, a kind
        "321", "320", "4,321",  # urgent, members active
        "1,111", "2,222", "333", "5,555", "¥123,456.78",  # twinning; help in RMB
        "6,666", "7,777.5", "88", "999", "990",  # patrol
        "44", "3,000", "4,000", "500", "75%",  # study: attended of expected
        "1,500", "1,200", "80%",  # suggestions, answered
        "80%",  # done of posted
        "13,579",  # the leader's points
    ):  # fmt: skip
        assert shown in visible, (shown, visible)
    assert "<幸福> & 街道" in visible and "<b>小赵</b>" in visible  # escaped, shown as typed
    if language == "zh":
        assert "2026年" in visible and "42分钟" in visible and "2小时5分钟" in visible
        assert "统计" in visible and "爱心储蓄" in visible
    else:
        assert "42 min" in visible and "2 h 5 min" in visible


def test_nothing_yet_reads_as_zeros_and_dashes() -> None:
    empty = Figures(
        node=Node(kind=NodeKind.COMMUNITY, id=1),
        node_name="幸福社区",
        period=YEAR,
        zone="Asia/Shanghai",
        twinning=TwinningTotals(start=YEAR.first_day, end=YEAR.last_day),
    )
    visible, _ = parse_html(figures_text(translator("zh"), "zh", empty))
    assert "—" in visible and "¥0.00" in visible and "%" not in visible


def test_numbers_money_and_medians() -> None:
    t = translator("zh")
    assert money(5, "zh") == "¥0.05" and money(123456789, "en") == "¥1,234,567.89"
    assert duration(t, None) == "—" and duration(t, 59.6) == "1 小时"
    assert duration(t, 60 * 50) == "2天2小时"


def test_periods_in_words() -> None:
    t = translator("zh")
    november = Period(
        kind=PeriodKind.MONTH, first_day=date(2026, 11, 1), last_day=date(2026, 11, 30)
    )
    q4 = Period(kind=PeriodKind.QUARTER, first_day=date(2026, 10, 1), last_day=date(2026, 12, 31))
    assert period_label(t, "zh", november) == "2026年11月"
    assert period_label(t, "zh", q4) == "2026年第4季度"
    assert period_label(translator("en"), "en", q4) == "Q4 2026"


def test_buttons_carry_the_place_and_a_checked_period() -> None:
    november = period_of("m2026110120261130", TODAY)
    assert period_word(november) == "m2026110120261130"
    rows = stats_buttons(translator("zh"), Node(kind=NodeKind.BUILDING, id=9), november, TODAY)
    labels = [label for row in rows for label, _ in row]
    assert labels[:5] == ["本月", "上月", "本季度", "本年", "自定义…"]
    assert "◀" in labels and "▶" not in labels  # December has not begun
    pressed = [
        ShowStats.unpack(data) for row in rows for _, data in row if data.startswith("sv:show")
    ]
    assert {p.node for p in pressed} == {Node(kind=NodeKind.BUILDING, id=9)}
    back = next(p for p in pressed if p.period.startswith("m20261001"))  # ◀: October
    assert period_of(back.period, TODAY).last_day == date(2026, 10, 31)
    for forged in ("m2026111520261130", "m2026113020261101", "x1", "m2026023020260331"):
        with pytest.raises(StaleButton):
            period_of(forged, TODAY)
    with pytest.raises(PeriodInFuture):
        period_of("m2026120120261231", TODAY)
    with pytest.raises(PeriodTooLong):
        period_of("c2016010120261031", TODAY)


@pytest.mark.parametrize(
    "typed", ["9999-12", "9999Q4", "9999年第四季度", "9999", "9999-12-01 9999-12-31"]
)
def test_a_typed_period_at_the_end_of_the_calendar_is_refused_as_to_come(typed: str) -> None:
    with pytest.raises(PeriodInFuture):
        parse(typed, TODAY)


@pytest.mark.parametrize(
    "typed", ["0001", "0001-01", "0001Q1", "1999-12", "0001-01-01 0001-12-31", "1000-01-01 1000"]
)
def test_a_typed_period_before_any_record_is_refused_as_too_early(typed: str) -> None:
    with pytest.raises((PeriodTooEarly, PeriodUnreadable)):
        parse(typed, TODAY)


def test_a_forged_button_at_either_end_of_the_calendar_gets_an_answer_not_a_crash() -> None:
    for word in ("m9999120199991231", "q9999100199991231", "y9999010199991231"):
        with pytest.raises((StaleButton, PeriodInFuture)):
            period_of(word, TODAY)
    for word in ("y0001010100011231", "m0001010100010131", "c0001010100011231"):
        with pytest.raises((StaleButton, PeriodTooEarly)):
            period_of(word, TODAY)


def test_no_back_button_before_the_first_year() -> None:
    first = period_of(f"y{FIRST_YEAR}0101{FIRST_YEAR}1231", TODAY)
    rows = stats_buttons(translator("zh"), Node(kind=NodeKind.COMMUNITY, id=1), first, TODAY)
    labels = [label for row in rows for label, _ in row]
    assert "◀" not in labels and "▶" in labels


def test_a_page_of_spaces_never_reaches_the_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Their `\\s*` would take quadratic time over it, on the event loop."""
    seen: list[int] = []

    class Watched:
        def __init__(self, pattern: re.Pattern[str]) -> None:
            self.pattern = pattern

        def match(self, text: str) -> re.Match[str] | None:
            seen.append(len(text))
            return self.pattern.match(text)

    for name in ("_RANGE", "_MONTH", "_QUARTER", "_YEAR"):
        monkeypatch.setattr(period, name, Watched(getattr(period, name)))
    for typed in (
        "2026-10-01" + " " * 4000 + "x",
        "2026-10-01" + "\u3000" * 4000 + "2026-10-0x",
        "2026" + " " * 100 + "whatever",
    ):
        with pytest.raises(PeriodUnreadable):
            parse(typed, TODAY)
    assert max(seen, default=0) <= 100
    # Spaces of any kind and number between the words are one space.
    far = parse("2026-10-01" + "\u3000" * 4000 + "2026-10-02", TODAY)
    assert (far.first_day, far.last_day) == (date(2026, 10, 1), date(2026, 10, 2))
    spaced = parse(" 2026-10-01 \n\n  至   2026年12月31日 ", TODAY)
    assert (spaced.first_day, spaced.last_day) == (date(2026, 10, 1), date(2026, 12, 31))


def test_a_community_of_many_buildings_is_picked_a_page_at_a_time() -> None:
    """Telegram refuses a message of more than 100 buttons: a community of 100 楼院 is shown
    30 places a page, with ‹ › between pages, every press keeping the period."""
    t = translator("zh")
    community = Node(kind=NodeKind.COMMUNITY, id=7)
    places = [(community, "北气象巷社区")] + [
        (Node(kind=NodeKind.BUILDING, id=1000 + n), f"{n}号院") for n in range(100)
    ]
    month = Period(kind=PeriodKind.MONTH, first_day=date(2026, 11, 1), last_day=date(2026, 11, 30))

    def pages_of(page: int) -> list[list[tuple[str, str]]]:
        return [list(row) for row in places_buttons(t, places, month, community, page)]

    first, last = pages_of(0), pages_of(3)
    assert [label for label, _ in first[-2]] == ["›"]
    assert [label for label, _ in last[-2]] == ["‹"]
    assert sum(len(row) for row in first) == 30 + 2
    assert [label for row in last[:-2] for label, _ in row][-1] == f"{t('Building')}: 99号院"
    assert pages_of(99) == last  # a forged page beyond the last shows the last
    turned = PlacesPage.unpack(first[-2][0][1])
    assert turned.page == 1 and turned.period == period_word(month)
    home = ShowStats(node_kind=NodeKind.COMMUNITY, node_id=7, period=turned.period)
    assert first[-1][0][1] == home.pack()
    shown = [label for page in range(4) for row in pages_of(page)[:-2] for label, _ in row]
    assert len(shown) == len(places) == len(set(shown))
