"""Every user-facing text exists in zh-CN (and in English, which is the message id)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from bot.i18n import LANGUAGES, catalogue

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"t": None, "N_": None}
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def source_messages() -> dict[str, str]:
    """Every message id marked with t(...) or N_(...) in product code, with where it is."""
    found: dict[str, str] = {}
    for folder in ("bot", "handlers", "storage"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            if isinstance(message, str) and message:
                found.setdefault(message, f"{folder}/{filename}:{lineno}")
    return found


def test_product_code_has_texts_to_translate() -> None:
    assert len(source_messages()) > 50


def test_every_message_has_a_chinese_translation() -> None:
    zh = catalogue("zh")
    missing = {m: where for m, where in source_messages().items() if m not in zh}
    assert not missing, "untranslated (add to bot/locales/zh/*.po):\n" + "\n".join(
        f"{where}: {m!r}" for m, where in sorted(missing.items(), key=lambda kv: kv[1])
    )


def test_translations_keep_the_placeholders() -> None:
    zh = catalogue("zh")
    wrong = [
        m
        for m in source_messages()
        if m in zh and sorted(PLACEHOLDER.findall(m)) != sorted(PLACEHOLDER.findall(zh[m]))
    ]
    assert not wrong, f"placeholders differ: {wrong}"


def test_chinese_is_really_chinese() -> None:
    zh = catalogue("zh")

    def has_words(text: str) -> bool:
        return bool(re.search(r"[A-Za-z]{2,}", PLACEHOLDER.sub("", re.sub(r"<[^>]+>", "", text))))

    latin_only = [
        m for m, s in zh.items() if has_words(m) and not re.search(r"[\u4e00-\u9fff]", s)
    ]
    assert not latin_only, f"not translated into Chinese: {latin_only}"


def test_languages_offered() -> None:
    assert LANGUAGES == ("zh", "en")
