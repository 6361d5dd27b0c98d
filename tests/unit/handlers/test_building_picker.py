"""The building picker: natural order, pages that hold at most PAGE_SIZE and reach every
building, short labels, and a typed number that finds its building first."""

from __future__ import annotations

import random

import pytest

from bot.i18n import translator
from bot.models import Building
from handlers.building_picker import (
    NARROW,
    PAGE_SIZE,
    WIDE,
    BuildingPicker,
    matching,
    natural_key,
    page_count,
    page_of,
    shorten,
    width,
)

t = translator("en")


def named(*names: str) -> list[Building]:
    return [Building(id=i + 1, community_id=1, name=name) for i, name in enumerate(names)]


PICKER = BuildingPicker(choose=lambda b: f"b:{b.id}", turn=lambda page: f"p:{page}")


def test_numbers_in_names_sort_as_numbers() -> None:
    names = ["10号楼", "2号楼", "1号楼", "10号楼东", "Block 9", "Block 10", "２号楼西", "东区3号"]
    assert sorted(names, key=natural_key) == [
        "1号楼",
        "2号楼",
        "２号楼西",  # a full-width 2 is a 2
        "10号楼",
        "10号楼东",
        "Block 9",
        "Block 10",
        "东区3号",
    ]
    assert sorted([f"{n}号楼" for n in range(300, 0, -1)], key=natural_key)[:3] == [
        "1号楼",
        "2号楼",
        "3号楼",
    ]


@pytest.mark.parametrize("count", [1, 23, 24, 25, 58, 300])
def test_every_building_is_on_exactly_one_page_of_at_most_the_limit(count: int) -> None:
    buildings = named(*(f"{n}号楼" for n in random.Random(count).sample(range(1, 999), count)))
    reached: list[str] = []
    page, seen_pages = 0, 0
    while True:
        _, rows = PICKER.page(t, buildings, page)
        chosen = [label for row in rows for label, data in row if data.startswith("b:")]
        assert 0 < len(chosen) <= PAGE_SIZE
        assert sum(len(row) for row in rows) < 100  # Telegram's limit per message
        reached += chosen
        seen_pages += 1
        turns = {label: data for row in rows for label, data in row if data.startswith("p:")}
        if "Next ▶" not in turns:
            break
        page = int(turns["Next ▶"].removeprefix("p:"))
    assert seen_pages == page_count(count)
    assert reached == sorted((b.name for b in buildings), key=natural_key)  # each once, in order
    last = buildings[-1]
    _, rows = PICKER.page(t, buildings, page_of(buildings, last.id))
    assert f"b:{last.id}" in [data for row in rows for _, data in row]


def test_a_page_out_of_range_shows_the_nearest_and_one_page_needs_no_turns() -> None:
    buildings = named(*(f"{n}号楼" for n in range(1, 59)))
    note, rows = PICKER.page(t, buildings, 99)
    assert note.startswith("Page 3/3") and rows[-1] == [("◀ Previous", "p:1")]
    note, rows = PICKER.page(t, buildings, -5)
    assert note.startswith("Page 1/3") and rows[-1] == [("Next ▶", "p:1")]
    note, rows = PICKER.page(t, named("1号楼", "2号楼"), 0)
    assert note == "" and [label for row in rows for label, _ in row] == ["1号楼", "2号楼"]


def test_short_names_go_three_to_a_row_long_ones_two_and_shortened() -> None:
    _, rows = PICKER.page(t, named(*(f"{n}号楼" for n in range(1, 25))), 0)
    assert [len(row) for row in rows[:-1]] == [3] * 8
    long = named(*(f"北气象巷小区东区{n}号楼" for n in range(1, 25)))
    _, rows = PICKER.page(t, long, 0)
    assert [len(row) for row in rows[:-1]] == [2] * 12
    labels = [label for row in rows for label, _ in row]
    assert all(width(label) <= WIDE for label in labels)
    assert labels[0] == "北气象…区1号楼"  # head and tail: the number is kept
    assert labels[23] == "北气象…24号楼"
    assert all(width(label) <= NARROW for label in ["31号楼", "231号楼"])
    assert shorten("1号楼", WIDE) == "1号楼"


def test_a_typed_number_finds_its_building_first() -> None:
    buildings = named(*(f"{n}号楼" for n in range(1, 301)))
    assert [b.name for b in matching(buildings, "231")] == ["231号楼"]
    assert [b.name for b in matching(buildings, " 31号 ")] == ["31号楼", "131号楼", "231号楼"]
    assert [b.name for b in matching(buildings, "３１")][:3] == ["31号楼", "131号楼", "231号楼"]
    assert matching(buildings, "999") == [] and matching(buildings, "  ") == []
    mixed = named("东区3号楼", "西区3号楼", "东区13号楼")
    assert [b.name for b in matching(mixed, "东区3")] == ["东区3号楼"]  # not 西区3号楼
    assert [b.name for b in matching(mixed, "3")] == ["东区3号楼", "西区3号楼", "东区13号楼"]


def test_many_matches_show_a_page_and_say_so_and_none_says_so_too() -> None:
    buildings = named(*(f"{n}号楼" for n in range(1, 301)))
    text, rows = PICKER.found(t, buildings, "1")
    chosen = [data for row in rows for _, data in row if data.startswith("b:")]
    assert len(chosen) == PAGE_SIZE and chosen[0] == "b:1"
    assert text.startswith(f"{len(matching(buildings, '1'))} buildings match “1”")
    text, rows = PICKER.found(t, buildings, "<b>99999</b>")
    assert "&lt;b&gt;" in text and rows == [[("All buildings", "p:0")]]
