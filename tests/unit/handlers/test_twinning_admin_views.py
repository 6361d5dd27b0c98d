"""The coordinators' needs-attention screen stays one Telegram message however many households
need a look: the worst first, and a count of the rest."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.i18n import translator
from bot.models import AttentionItem, AttentionReason, Household
from bot.services.twinning.rules import NAME_MAX
from handlers.twinning.admin_views import attention_view

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
