"""What a member reads of twinning stays one Telegram message however full it is: the list
(/twins) of any number of households, a page at a time, and a household's card with its five
latest visits, every name, note and visit's words as long as they may be. Words are cut
before they are escaped, so no HTML entity is ever cut in half."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.i18n import translator
from bot.models import (
    Circumstance,
    HelpKind,
    Household,
    HouseholdContact,
    Pair,
    Visit,
    VisitCategory,
    WellbeingPoint,
)
from bot.services.admin import PLACE_NAME_MAX
from bot.services.twinning import HELP_MAX_FEN
from bot.services.twinning.rules import NAME_MAX, NOTES_MAX, VISIT_TEXT_MAX
from bot.services.users import ROOM_MAX
from handlers.common import Buttons
from handlers.twinning.visit_buttons import HouseholdCard, StartVisit, TwinsPage
from handlers.twinning.visit_views import (
    NOTES_SHOWN,
    RECENT_VISITS,
    TWINS_PAGE,
    VISIT_WORDS_SHOWN,
    Twin,
    card_view,
    saved_text,
    twins_view,
)

MESSAGE_MAX = 4096  # Telegram's limit for a message's text
BUTTONS_MAX = 100  # and for the buttons of one keyboard
TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
LANGUAGES = ["zh", "en"]
# A Chinese character (as people type), and one that escapes to five (&amp;).
FILLS = ["长", "&"]
ENTITY = re.compile(r"&(amp|lt|gt);")


def _twin(i: int, fill: str, *, visited: bool = True) -> Twin:
    name = (fill * NAME_MAX)[:-3] + f"{i:03d}"
    building = fill * PLACE_NAME_MAX
    pair = Pair(
        id=i,
        member_id=10,
        household_id=i,
        community_id=1,
        building_id=1,
        cadence_days=7,
        started_at=NOW - timedelta(days=30),
        created_by=1,
        last_visited_on=TODAY - timedelta(days=3) if visited else None,
        household_name=name,
        building_name=building,
    )
    household = Household(
        id=i,
        community_id=1,
        building_id=1,
        building_name=building,
        name=name,
        room=fill * ROOM_MAX,
        circumstances=frozenset(Circumstance),
        notes=fill * NOTES_MAX,
        consent_by=1,
        consent_at=NOW,
        created_by=1,
        created_at=NOW,
    )
    contact = HouseholdContact(
        household_id=i,
        name=name,
        building_id=1,
        building_name=building,
        room=fill * ROOM_MAX,
        phone="+" + "9" * 20,
    )
    return Twin(pair=pair, household=household, contact=contact, behind=i % 2 == 0, due_on=TODAY)


def _visit(i: int, fill: str) -> Visit:
    return Visit(
        id=i,
        pair_id=1,
        household_id=1,
        member_id=10,
        community_id=1,
        building_id=1,
        visited_on=TODAY - timedelta(days=i),
        categories=frozenset(VisitCategory),
        text=fill * VISIT_TEXT_MAX,
        help_kind=HelpKind.MATERIALS,
        help_fen=HELP_MAX_FEN,
        wellbeing=5,
        wellbeing_note=fill * 300,
        created_at=NOW,
    )


def _fits(text: str, rows: Buttons) -> None:
    """One message: at most 4,096 characters as Telegram counts them (after the HTML is read)
    and as sent (before), and at most 100 buttons."""
    shown = html.unescape(re.sub(r"<[^>]+>", "", text))
    assert len(shown) < MESSAGE_MAX, len(shown)
    if "&" not in shown:  # escaping makes the HTML longer; Telegram counts what is shown
        assert len(text) < MESSAGE_MAX, len(text)
    assert sum(len(row) for row in rows) <= BUTTONS_MAX
    assert not re.search(r"&(?!(amp|lt|gt);)", text), "an entity cut in half"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("count", [1, TWINS_PAGE, TWINS_PAGE + 1, 7, 60])
def test_every_page_of_twins_fits_one_message_and_shows_each_household_once(
    language: str, fill: str, count: int
) -> None:
    t = translator(language)
    twins = [_twin(i, fill) for i in range(1, count + 1)]
    seen: list[int] = []
    page, pages = 0, -(-count // TWINS_PAGE)
    while True:
        text, rows = twins_view(t, twins, page)
        _fits(text, rows)
        seen += [
            HouseholdCard.unpack(data).household_id
            for row in rows
            for _, data in row
            if HouseholdCard.pattern().fullmatch(data)
        ]
        turns = [
            TwinsPage.unpack(data).page
            for row in rows
            for _, data in row
            if TwinsPage.pattern().fullmatch(data)
        ]
        assert (pages > 1) == bool(turns)
        if page + 1 not in turns:
            break
        page += 1
    assert page == pages - 1
    assert seen == [twin.household.id for twin in twins]


def test_a_page_out_of_range_shows_the_nearest() -> None:
    t = translator("zh")
    twins = [_twin(i, "长") for i in range(1, 8)]
    text, rows = twins_view(t, twins, 9)
    assert "第 2/2 页" in text
    starts = [d for row in rows for _, d in row if StartVisit.pattern().fullmatch(d)]
    assert [StartVisit.unpack(d).household_id for d in starts] == [6, 7]
    assert twins_view(t, twins, -3) == twins_view(t, twins, 0)


def test_the_list_cuts_the_notes_and_the_card_shows_them_whole() -> None:
    t = translator("zh")
    twin = _twin(1, "长")
    text, _ = twins_view(t, [twin])
    assert "长" * NOTES_SHOWN + "…" in text and "长" * (NOTES_SHOWN + 1) not in text
    card, _ = card_view(t, twin, [], [])
    assert "长" * NOTES_MAX in card


def test_one_household_on_one_page_has_no_page_line() -> None:
    text, rows = twins_view(translator("zh"), [_twin(1, "长")])
    assert "页" not in text and len(rows) == 1


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("fill", FILLS)
def test_a_full_card_fits_one_message(language: str, fill: str) -> None:
    t = translator(language)
    visits = [_visit(i, fill) for i in range(RECENT_VISITS + 3)]
    marks = [WellbeingPoint(visited_on=TODAY, mark=m % 5 + 1, visit_id=m) for m in range(200)]
    text, rows = card_view(t, _twin(1, fill), visits, marks)
    _fits(text, rows)


def test_a_visits_words_are_cut_before_escaping() -> None:
    t = translator("zh")
    text, _ = card_view(t, _twin(1, "长"), [_visit(1, "&")], [])
    (line,) = [line for line in text.splitlines() if line.startswith("•")]
    assert "&amp;" * VISIT_WORDS_SHOWN + "…" in line
    assert "&amp;" * (VISIT_WORDS_SHOWN + 1) not in line
    assert ENTITY.sub("", line).count("&") == 0


def test_a_days_later_visit_says_why_it_earned_no_points() -> None:
    t = translator("zh")
    assert "+5" in saved_text(t, 5, None) and "只记一次" not in saved_text(t, 5, None)
    assert "只记一次积分" in saved_text(t, None, None)
