"""The coordinators' list of open patrol findings stays one Telegram message however long
the posts' names and the findings' words, and shows what members typed escaped."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import translator
from bot.models import Finding, FindingStatus
from bot.services.patrol.findings import OPEN_LIST_MAX, TEXT_MAX, FindingCard
from bot.services.patrol.rules import POST_NAME_MAX
from handlers.patrol.findings_views import open_list

MESSAGE_MAX = 4096  # Telegram's limit for a message's text, as shown


def _shown(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", text))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_open_list_fits_one_message_at_the_limits(language: str) -> None:
    at = datetime(2026, 12, 31, 15, 59, tzinfo=UTC)
    cards = [
        FindingCard(
            finding=Finding(
                id=2**31 - 1 - n,
                slot_id=1,
                community_id=1,
                reported_by=1,
                text="<b>&" * (TEXT_MAX // 4),
                status=FindingStatus.NEW,
                created_at=at,
            ),
            post_name="Wednesday & <i>" * (POST_NAME_MAX // 15) + "x" * (POST_NAME_MAX % 15),
        )
        for n in range(OPEN_LIST_MAX)
    ]
    text, rows = open_list(translator(language), cards, language, ZoneInfo("Asia/Shanghai"))
    assert len(_shown(text)) <= MESSAGE_MAX
    assert "<i>" not in text and "Wednesday &amp; &lt;i&gt;" in text
    assert len(rows) >= 1
