"""你说我做's views without a server: the digest renders as HTML Telegram accepts in both
languages with people's words escaped, fits one message at its largest, and the coordinator's
screen with every candidate fits too, its buttons all ours."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.i18n import LANGUAGES, translator
from bot.models import (
    AudienceKind,
    Broadcast,
    BroadcastStatus,
    CategoryFigures,
    Digest,
    DigestCounts,
    DigestScreen,
    Story,
    StoryKind,
    SuggestionTopic,
    TopicFigures,
    WishCategory,
)
from bot.services.digest import CONTENT_KIND, REPLY_MAX, REWRITE_MAX, WORDS_MAX
from handlers.broadcast.views import announcement
from handlers.buttons import REGISTRY
from handlers.digest.views import digest_text, screen_buttons, screen_text
from storage.digest import CANDIDATES_EACH
from tests.support.fake_bot_api import parse_html

HOSTILE = "<b>王 & Co</b>"


def _digest(stories: list[Story]) -> Digest:
    return Digest(
        community_id=1,
        community_name="北气象巷<社区>",
        month=date(2026, 11, 1),
        counts=DigestCounts(
            suggestions=12,
            by_topic=[TopicFigures(topic=t, received=2) for t in SuggestionTopic],
            wishes=30,
            by_category=[CategoryFigures(category=c, posted=3) for c in WishCategory],
            suggestions_answered=9,
            wishes_done=25,
            findings_handled=4,
        ),
        stories=stories,
    )


def _largest() -> list[Story]:
    return [
        Story(
            kind=StoryKind.SUGGESTION,
            ref_id=1,
            words=HOSTILE + "字" * WORDS_MAX,
            reply="答" * REPLY_MAX,
        ),
        Story(kind=StoryKind.WISH, ref_id=2, words="字" * WORDS_MAX, team_name=HOSTILE),
        Story(kind=StoryKind.FINDING, ref_id=3, words="写" * REWRITE_MAX, rewritten=True),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_digest_is_valid_html_escaped_and_fits_one_message(language: str) -> None:
    t = translator(language)
    digest = _digest(_largest())
    broadcast = Broadcast(
        id=1,
        created_by=1,
        audience=AudienceKind.EVERYONE,
        audience_ref=None,
        text=None,
        photo_file_id=None,
        document_file_id=None,
        urgent=False,
        status=BroadcastStatus.SENDING,
        scheduled_at=None,
        created_at=datetime(2026, 12, 3),
        content_kind=CONTENT_KIND,
        content=digest.model_dump(mode="json"),
    )
    shown = announcement(t, broadcast, "ignored")
    assert shown.text == digest_text(t, digest)
    visible, _ = parse_html(shown.text)
    assert HOSTILE in visible and "北气象巷<社区>" in visible
    assert "{" not in visible
    assert len(visible) < 4096
    if language == "zh":
        assert "2026年11月" in visible and "由" in visible
    else:
        assert "November 2026" in visible


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_screen_with_every_candidate_fits_and_its_buttons_are_ours(language: str) -> None:
    t = translator(language)
    candidates = [
        Story(kind=kind, ref_id=n, words=HOSTILE + "字" * WORDS_MAX, reply="答" * REPLY_MAX)
        for kind in StoryKind
        for n in range(CANDIDATES_EACH)
    ]
    digest = _digest([*candidates[:2], candidates[2].model_copy(update={"rewritten": True})])
    screen = DigestScreen(
        digest=digest,
        candidates=candidates,
        earliest=date(2024, 12, 1),
        latest=date(2026, 12, 1),
    )
    visible, _ = parse_html(screen_text(t, screen))
    assert len(visible) < 4096
    rows = screen_buttons(t, screen)
    labels = [label for row in rows for label, _ in row]
    assert sum(label.startswith("☑") for label in labels) == 3
    assert "◀" in labels and "▶" in labels
    for row in rows:
        for _label, data in row:
            assert any(b.pattern().match(data) for b in REGISTRY.values()), data
