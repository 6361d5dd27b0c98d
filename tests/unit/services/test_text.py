"""Typed text is cleaned one way everywhere: one-line fields fold their whitespace, words keep
their line breaks, and both say the limit in the same words."""

from __future__ import annotations

import pytest

from bot.services.text import TextRequired, TextTooLong, fold_text, trim_text


def test_a_one_line_field_folds_every_run_of_whitespace_and_reads_nothing_as_none() -> None:
    assert fold_text("  南关\n\t社区  3号楼 ", 20) == "南关 社区 3号楼"
    assert fold_text(" \n ", 20) is None
    assert fold_text(None, 20) is None


def test_words_keep_their_line_breaks_and_may_be_required() -> None:
    assert trim_text("  楼道灯坏了\n三楼  ", 20) == "楼道灯坏了\n三楼"
    assert trim_text("   ", 20) is None
    with pytest.raises(TextRequired):
        trim_text("  ", 20, required=True)


@pytest.mark.parametrize("clean", [fold_text, trim_text])
def test_past_the_limit_is_refused_with_the_limit_named(clean: object) -> None:
    assert callable(clean)
    assert clean("字" * 5, 5) == "字" * 5
    with pytest.raises(TextTooLong) as refused:
        clean("字" * 6, 5)
    assert refused.value.values == {"limit": 5}


@pytest.mark.parametrize("clean", [fold_text, trim_text])
def test_zero_width_characters_alone_are_no_words(clean: object) -> None:
    assert callable(clean)
    assert clean("\u200b\u200d \ufeff", 20) is None
    assert clean("好\u200b", 20) == "好\u200b"  # what shows keeps its own characters
    with pytest.raises(TextRequired):
        trim_text("\u200b\u200b", 20, required=True)
