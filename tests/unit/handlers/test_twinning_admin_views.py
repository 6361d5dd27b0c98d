"""The coordinators' screens stay one Telegram message: needs-attention however many households
need a look (the worst first, and a count of the rest); a household's card with every field
at its limit."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.i18n import translator
from bot.models import (
    AttentionItem,
    AttentionReason,
    Circumstance,
    HelpKind,
    Household,
    HouseholdContact,
    Pair,
    Visit,
    VisitCategory,
    WellbeingPoint,
)
from bot.services.twinning.rules import NAME_MAX, NOTES_MAX, VISIT_TEXT_MAX, WELLBEING_NOTE_MAX
from handlers.twinning.admin_views import attention_view, household_card

MESSAGE_MAX, BUTTONS_MAX = 4096, 100  # Telegram's limits for one message


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("name", ["张" * NAME_MAX, "&<>" * (NAME_MAX // 3)])
def test_hundreds_of_households_needing_a_look_fit_one_message(language: str, name: str) -> None:
    when = datetime(2026, 9, 1, tzinfo=UTC)
    items = [
        AttentionItem(
            household=Household(
                id=n,
                community_id=1,
                building_id=1,
                building_name=name,
                name=name,
                consent_by=1,
                consent_at=when,
                created_by=1,
                created_at=when,
            ),
            reasons=frozenset({AttentionReason.DROPPED, AttentionReason.UNVISITED}),
            latest_mark=1,
            previous_mark=5,
            last_visited_on=date(2026, 9, 1),
        )
        for n in range(500)
    ]
    text, rows = attention_view(translator(language), items)
    shown = len(rows) - 1  # the last row goes back to the menu
    assert len(text) < MESSAGE_MAX and len(rows) <= BUTTONS_MAX
    assert 0 < shown < 500 and str(500 - shown) in text.splitlines()[-1]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_full_household_card_fits_one_message(language: str) -> None:
    when = datetime(2026, 9, 1, tzinfo=UTC)
    household = Household(
        id=1,
        community_id=1,
        building_id=1,
        building_name="楼" * NAME_MAX,
        name="张" * NAME_MAX,
        room="房" * 32,
        circumstances=frozenset(Circumstance),
        notes="记" * NOTES_MAX,
        consent_by=1,
        consent_at=when,
        created_by=1,
        created_at=when,
    )
    contact = HouseholdContact(
        household_id=1, name=household.name, building_id=1, room=household.room, phone="1" * 20
    )
    pairs = [
        Pair(
            id=n,
            member_id=n,
            household_id=1,
            community_id=1,
            building_id=1,
            cadence_days=7,
            started_at=when,
            created_by=1,
            last_visited_on=date(2026, 9, 2),
            member_name="党" * 32,
        )
        for n in range(8)
    ]
    visits = [
        Visit(
            id=n,
            pair_id=n,
            household_id=1,
            member_id=n,
            community_id=1,
            building_id=1,
            visited_on=date(2026, 9, 2),
            categories=frozenset(VisitCategory),
            text="说" * VISIT_TEXT_MAX,
            help_kind=HelpKind.FUNDS,
            help_fen=999_999_999,
            wellbeing=2,
            wellbeing_note="疼" * WELLBEING_NOTE_MAX,
            created_at=when,
        )
        for n in range(10)
    ]
    trend = [WellbeingPoint(visit_id=n, visited_on=date(2026, 9, 2), mark=3) for n in range(50)]
    text, rows = household_card(
        translator(language), household, contact, pairs, trend, "居" * 32, language, visits
    )
    assert len(text) < MESSAGE_MAX and len(rows) <= BUTTONS_MAX
