"""The kind of help guessed from a wish's words: a guess the resident sees and may change."""

from __future__ import annotations

import pytest

from bot.models import WishCategory
from bot.services.wishes import suggest_category


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("帮我修一下厨房的水龙头", WishCategory.REPAIRS),
        ("家里灯坏了", WishCategory.REPAIRS),
        ("想请人帮我买点菜", WishCategory.DAILY_LIFE),
        ("孩子的数学作业不会做", WishCategory.CHILDREN_STUDY),
        ("想找人聊聊天，心情不好", WishCategory.PSYCHOLOGICAL),
        ("需要去医院复诊拿药", WishCategory.HEALTH),
        ("Could someone fix my leaking tap?", WishCategory.REPAIRS),
        ("Help with my kids' homework", WishCategory.CHILDREN_STUDY),
    ],
)
def test_the_words_of_a_wish_say_its_kind(words: str, kind: WishCategory) -> None:
    assert suggest_category(words) is kind


@pytest.mark.parametrize("words", [None, "", "你好", "hello there", "my stapler"])
def test_no_guess_without_a_telling_word(words: str | None) -> None:
    # "stapler" is not "tap": English words match at the start of a word, not anywhere.
    assert suggest_category(words) is None
