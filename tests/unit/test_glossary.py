"""The zh-CN catalogues speak the community's words, as docs/glossary.md lists them: the test
reads the glossary, so the page and the catalogues cannot drift apart. Every .po file in
bot/locales/zh is checked, including ones added later."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.models import SKILL_LABELS, WISH_STATUS_LABELS, Skill, WishCategory

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "docs" / "glossary.md"
ZH = ROOT / "bot" / "locales" / "zh"
TICKED = re.compile(r"`([^`]+)`")

# Latin words a Chinese text may hold: names a resident sees as they are.
ALLOWED_NAMES = (
    "Telegram",  # the app everyone uses; it has no Chinese name
    "Linli",  # the bot's own name
)
# What is not a word of prose: HTML tags and entities, {placeholders}, links, and a /command
# with what is typed after it (/join ABCD2345, /claim 12 team).
NOT_PROSE = re.compile(
    r"<[^>]+>|&[a-z]+;|&#\d+;|\{[a-z_]+\}|https?://\S+|/[a-z_]+(?: [A-Za-z0-9]+)*"
)


def zh_messages() -> list[tuple[str, str, str]]:
    """(file name, msgid, msgstr) of every translated message in every zh catalogue."""
    found = []
    for path in sorted(ZH.glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="zh_Hans_CN"):
                if isinstance(message.id, str) and message.id and message.string:
                    found.append((path.name, message.id, str(message.string)))
    return found


def zh() -> dict[str, str]:
    return {msgid: msgstr for _, msgid, msgstr in zh_messages()}


def table(heading: str) -> list[list[str]]:
    """The rows (cells) of the first table under `heading` in the glossary."""
    text = GLOSSARY.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def terms() -> list[tuple[str, list[str], list[str]]]:
    """Each key term: (the word, msgids translated exactly to it, words not to say)."""
    return [(row[0], TICKED.findall(row[4]), TICKED.findall(row[5])) for row in table("Key terms")]


def key_messages() -> list[tuple[str, str]]:
    text = GLOSSARY.read_text(encoding="utf-8").split("## Key messages\n", 1)[1]
    return re.findall(r"^- `(.+)` → (\S+)$", text, re.M)


def test_the_glossary_has_the_key_terms() -> None:
    words = {word for word, _, _ in terms()}
    assert {"微心愿", "紧急求助", "认领", "党员报到", "党员志愿者", "社区工作人员"} <= words
    assert {"楼院", "房号", "服务队", "居民", "代发", "社区通知"} <= words
    assert len(key_messages()) >= 15


def test_labels_are_exactly_the_glossarys_words() -> None:
    catalogue = zh()
    wrong = {
        msgid: (catalogue.get(msgid), word)
        for word, labels, _ in terms()
        for msgid in labels
        if catalogue.get(msgid) != word
    }
    assert not wrong, f"(catalogue, glossary): {wrong}"


def test_every_wish_status_is_a_glossary_word_short_enough_for_a_button() -> None:
    labelled = {msgid: word for word, labels, _ in terms() for msgid in labels}
    catalogue = zh()
    for label in WISH_STATUS_LABELS.values():
        assert label in labelled, f"{label!r} is not in the glossary"
        assert catalogue[label] == labelled[label] and len(labelled[label]) <= 5


def test_no_chinese_message_says_a_word_the_glossary_rules_out() -> None:
    # The glossary's own words are taken out first: 志愿者 is ruled out alone, not in 党员志愿者.
    own = sorted({word for word, _, _ in terms()}, key=len, reverse=True)
    ruled_out = {bad for word, _, avoid in terms() for bad in avoid}
    assert {"协调员", "门牌号", "栋楼", "楼栋", "志愿者"} <= ruled_out
    found = []
    for name, msgid, msgstr in zh_messages():
        rest = msgstr
        for word in own:
            rest = rest.replace(word, "·")
        found += [(name, msgid, bad) for bad in ruled_out if bad in rest]
    assert not found, found


@pytest.mark.parametrize("word, msgid", [(w, m) for m, w in key_messages()])
def test_key_messages_use_the_glossarys_word(word: str, msgid: str) -> None:
    assert word in zh()[msgid]


def test_english_wish_and_coordinator_become_wei_xinyuan_and_community_staff() -> None:
    said = dict(key_messages())
    catalogue = zh()
    wishes = [m for m in said if re.search(r"\b[Ww]ish\b", m)]
    staff = [m for m in said if "coordinator" in m.lower()]
    assert len(wishes) >= 5 and len(staff) >= 3
    assert all("微心愿" in catalogue[m] for m in wishes)
    assert all("社区工作人员" in catalogue[m] for m in staff)


def test_a_skill_and_a_wish_category_for_the_same_thing_have_one_name() -> None:
    catalogue = zh()
    rows = table("Skills and wish categories")
    named = {TICKED.findall(row[1])[0]: row[0] for row in rows}
    # every skill has its row, but 家政服务 (domestic help): no wish category is only that
    assert set(named) == set(SKILL_LABELS.values()) - {SKILL_LABELS[Skill.DOMESTIC_HELP]}
    for word, skill, category in rows:
        (skill_id,), (category_id,) = TICKED.findall(skill), TICKED.findall(category)
        assert catalogue[skill_id] == word and catalogue[category_id] == word
    assert catalogue[SKILL_LABELS[Skill.ELDERLY_CARE]] == "照顾老人"
    assert len(WishCategory) == len(rows) + 1  # all but 生活帮助 (daily life) have a skill


def test_chinese_messages_hold_no_latin_words_but_commands_markup_and_names() -> None:
    found = []
    for name, msgid, msgstr in zh_messages():
        rest = NOT_PROSE.sub(" ", msgstr)
        for allowed in ALLOWED_NAMES:
            rest = rest.replace(allowed, " ")
        if re.search(r"[A-Za-z]", rest):
            found.append((name, msgid, msgstr))
    assert not found, "\n".join(map(str, found))
