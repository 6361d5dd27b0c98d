"""Choosing one building among any number of them: one picker for every place that asks.

A community may have a handful of buildings or hundreds, and Telegram shows at most 100
buttons on a message. So the picker shows the buildings in natural order ("2号楼" before
"10号楼"), `PAGE_SIZE` to a page, three to a row when the names are short and two when they
are long, with "◀ Previous" / "Next ▶" buttons and a "Page 2/3" line; and while it is shown,
typing a number or part of a name ("31", "31号") shows the buildings that match it, the
exact number first.

The picker only draws: the caller loads the buildings (its own service call, its own scope),
says how a choice and a page turn are packed (its own typed buttons), and re-checks the chosen
building on the server as before. A page button carries the page number only; one out of
range shows the nearest page (the list may have changed since it was drawn).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import ClassVar

from pydantic import Field

from bot.i18n import Translate, esc
from bot.models import Building
from handlers.buttons import Button, button
from handlers.common import Buttons
from handlers.context import LinliContext
from handlers.dialogue import DialogueDraft, DraftExpired

PAGE_SIZE = 24
# Label widths, a Chinese character counting two: up to NARROW, three buttons fit a row of a
# phone with large fonts; a label longer than WIDE (two to a row) keeps its head and its tail,
# where the number usually is ("北气象…31号楼").
NARROW = 8
WIDE = 14
QUERY_SHOWN = 20  # characters of a typed search repeated in the answer

Rows = list[list[tuple[str, str]]]
_NUMBER = re.compile(r"\d+")


# --- order and search ----------------------------------------------------------------------


def natural_key(name: str) -> tuple[str | int, ...]:
    """Sort key comparing the numbers in a name as numbers: 2号楼 < 10号楼 < 10号楼东.

    Splitting on runs of digits alternates text and number, so the same position always
    holds the same kind and the tuples compare without mixing str and int."""
    normal = _normal(name)
    parts = _NUMBER.split(normal)
    numbers = _NUMBER.findall(normal)
    key: list[str | int] = []
    for index, text in enumerate(parts):
        key.append(text)
        if index < len(numbers):
            key.append(int(numbers[index]))
    return tuple(key)


def in_order(buildings: Sequence[Building]) -> list[Building]:
    """Buildings in natural order of name (an archived one stays in its place)."""
    return sorted(buildings, key=lambda b: (natural_key(b.name), b.name, b.id))


def matching(buildings: Sequence[Building], query: str) -> list[Building]:
    """The buildings a typed search means, in natural order: those with the typed number(s)
    as a number of their own (and the typed words in their name) first, then those whose
    name contains what was typed ("31" finds 31号楼 first, then 131号楼, 310号楼…)."""
    typed = _normal(query)
    if not typed:
        return []
    numbers = [int(n) for n in _NUMBER.findall(typed)]
    words = [w for w in _NUMBER.split(typed) if w]
    exact: list[Building] = []
    partial: list[Building] = []
    for building in in_order(buildings):
        name = _normal(building.name)
        own = {int(n) for n in _NUMBER.findall(name)}
        if numbers and all(n in own for n in numbers) and all(w in name for w in words):
            exact.append(building)
        elif typed in name:
            partial.append(building)
    return exact + partial


def page_count(count: int) -> int:
    """How many pages `count` buildings fill (at least one)."""
    return max(1, -(-count // PAGE_SIZE))


def on_page(buildings: Sequence[Building], page: int) -> tuple[int, list[Building]]:
    """The page (from 0; one out of range is the nearest) and the buildings on it."""
    ordered = in_order(buildings)
    page = min(max(page, 0), page_count(len(ordered)) - 1)
    return page, ordered[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]


def page_of(buildings: Sequence[Building], building_id: int) -> int:
    """The page (from 0) on which this building is shown; 0 when it is not there."""
    for index, building in enumerate(in_order(buildings)):
        if building.id == building_id:
            return index // PAGE_SIZE
    return 0


def _normal(text: str) -> str:
    """Full-width digits and letters as plain ones, lower case, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


# --- drawing -------------------------------------------------------------------------------


def width(text: str) -> int:
    """How wide a label is on screen: a Chinese (wide) character counts two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def shorten(text: str, limit: int) -> str:
    """`text` if it fits `limit`, else its head, "…" and its tail (the number is usually at
    the end of a building's name, so the tail gets the larger half)."""
    if width(text) <= limit:
        return text
    budget = limit - 1
    tail = ""
    for char in reversed(text):
        if width(char + tail) > budget - budget // 2:
            break
        tail = char + tail
    head = ""
    for char in text:
        if width(head + char) > budget - width(tail):
            break
        head += char
    return head + "…" + tail


def _no_mark(_building: Building) -> str:
    return ""


@dataclasses.dataclass(frozen=True)
class BuildingPicker:
    """Draws pages and search results of buildings as inline keyboards.

    `choose` packs the button that picks a building, `turn` the one that shows a page (from
    0); `mark` adds a short note to a label (e.g. " (archived)" in the admin list)."""

    choose: Callable[[Building], str]
    turn: Callable[[int], str]
    mark: Callable[[Building], str] = _no_mark

    def page(
        self, t: Translate, buildings: Sequence[Building], page: int, *, after: Buttons = ()
    ) -> tuple[str, Rows]:
        """One page of the buildings with its turn buttons, then the rows `after`; and the
        line to put under the question ("Page 2/3 · …", empty when all fit one page)."""
        pages = page_count(len(buildings))
        page, shown = on_page(buildings, page)
        rows = self._grid(shown)
        turns = []
        if page > 0:
            turns.append((t("◀ Previous"), self.turn(page - 1)))
        if page < pages - 1:
            turns.append((t("Next ▶"), self.turn(page + 1)))
        rows.append(turns)
        rows.extend(list(row) for row in after)
        if pages == 1:
            return "", rows
        note = t("Page {page}/{pages}").format(page=page + 1, pages=pages)
        return note + " · " + t("Or type the building's number to find it."), rows

    def found(
        self, t: Translate, buildings: Sequence[Building], query: str, *, after: Buttons = ()
    ) -> tuple[str, Rows]:
        """The buildings matching a typed search (at most a page of them), a button back to
        the whole list, then the rows `after`; and the text saying what was found."""
        shown_query = esc(" ".join(query.split())[:QUERY_SHOWN])
        matches = matching(buildings, query)
        back = [[(t("All buildings"), self.turn(0))], *(list(row) for row in after)]
        if not matches:
            text = t(
                "No building matches “{query}”. Type another number, or choose from the list."
            ).format(query=shown_query)
            return text, back
        if len(matches) > PAGE_SIZE:
            text = t(
                "{count} buildings match “{query}”; here are the first {shown}. "
                "Type more of the name to narrow it down."
            ).format(count=len(matches), query=shown_query, shown=PAGE_SIZE)
        else:
            text = t("Buildings matching “{query}”:").format(query=shown_query)
        return text, self._grid(matches[:PAGE_SIZE]) + back

    def _grid(self, buildings: Sequence[Building]) -> Rows:
        marks = [self.mark(b) for b in buildings]
        full = [b.name + mark for b, mark in zip(buildings, marks, strict=True)]
        columns = 3 if all(width(label) <= NARROW for label in full) else 2
        labels = [
            label if columns == 3 else shorten(b.name, WIDE - width(mark)) + mark
            for b, mark, label in zip(buildings, marks, full, strict=True)
        ]
        cells = [(label, self.choose(b)) for b, label in zip(buildings, labels, strict=True)]
        return [cells[i : i + columns] for i in range(0, len(cells), columns)]


# --- page buttons and what a shown picker is about -----------------------------------------


@dataclasses.dataclass(frozen=True)
class PageButton(Button):
    """Base of a picker's page button: the page (from 0) to show."""

    page: int


_PAGE_BUTTONS: dict[str, type[PageButton]] = {}


def page_button(choice: type[Button]) -> type[PageButton]:
    """The page button of the picker whose buildings are chosen with `choice`: its own
    prefix ("<choice's prefix>:pg"), so a press reaches the dialogue that drew it. Made once."""
    prefix = f"{choice.PREFIX}:pg"
    made = _PAGE_BUTTONS.get(prefix)
    if made is None:
        made = button(prefix)(
            type(f"{choice.__name__}Page", (PageButton,), {"__module__": choice.__module__})
        )
        _PAGE_BUTTONS[prefix] = made
    return made


class PickerMemo(DialogueDraft):
    """What each shown picker is about (e.g. whose community's buildings it offers), by the
    picker's key: written by the server when it draws the picker, read when a page is turned
    or a number typed, so neither needs to carry it (nor could forge it)."""

    KEY: ClassVar[str] = "building_picker"
    shown: dict[str, int] = Field(default_factory=dict)


def remember(context: LinliContext, key: str, value: int) -> None:
    """Note what the picker `key` now shown is about (what older pickers were about is
    dropped once it is a day old, like any draft)."""
    try:
        shown = PickerMemo.load(context, clear_stale=False).shown
    except DraftExpired:
        shown = {}
    PickerMemo(shown={**shown, key: value}).save(context)


def recall(context: LinliContext, key: str) -> int | None:
    """What the picker `key` was about when it was drawn (None: never drawn, or a day ago)."""
    try:
        return PickerMemo.load(context, clear_stale=False).shown.get(key)
    except DraftExpired:
        return None
