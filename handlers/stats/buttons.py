"""The /stats buttons ("sv:…"): each names a place (its kind and id) and a period (its kind and
days, packed in one short word). A button is only a request: the period is rebuilt and checked
here as a typed one would be, and the service checks the place lies in the presser's reach."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

from bot.models import Node, NodeKind, Period, PeriodKind
from bot.services.stats.period import PeriodInFuture, check_year, custom, of_kind
from handlers.buttons import Button, StaleButton, button

_KIND_LETTER = {
    PeriodKind.MONTH: "m",
    PeriodKind.QUARTER: "q",
    PeriodKind.YEAR: "y",
    PeriodKind.CUSTOM: "c",
}
_LETTER_KIND = {letter: kind for kind, letter in _KIND_LETTER.items()}
_WORD = re.compile(r"([mqyc])(\d{8})(\d{8})")


def period_word(period: Period) -> str:
    """A period as a button word: m20261101, 20261130 → "m2026110120261130"."""
    first, last = period.first_day, period.last_day
    return f"{_KIND_LETTER[period.kind]}{first:%Y%m%d}{last:%Y%m%d}"


def period_of(word: str, today: date) -> Period:
    """The period a button's word names, checked: a month, quarter or year as it really is
    (StaleButton otherwise: no button of ours sends it), begun by `today`; a custom range as
    a typed one is checked (in order, begun, not too long)."""
    match = _WORD.fullmatch(word)
    if match is None:
        raise StaleButton()
    try:
        first = date(int(match[2][:4]), int(match[2][4:6]), int(match[2][6:]))
        last = date(int(match[3][:4]), int(match[3][4:6]), int(match[3][6:]))
    except ValueError as error:
        raise StaleButton() from error
    kind = _LETTER_KIND[match[1]]
    if kind is PeriodKind.CUSTOM:
        return custom(first, last, today)
    check_year(first.year, today)  # before the period around it runs off the calendar
    period = of_kind(kind, first)
    if (period.first_day, period.last_day) != (first, last):
        raise StaleButton()
    if period.first_day > today:
        raise PeriodInFuture()
    return period


@dataclasses.dataclass(frozen=True)
class StatsButton(Button):
    """A place and a period."""

    node_kind: NodeKind
    node_id: int
    period: str

    @property
    def node(self) -> Node:
        return Node(kind=self.node_kind, id=self.node_id)


@button("sv:show")
class ShowStats(StatsButton):
    """The figures of this place and period (the period buttons, ◀ ▶, a place picked)."""


@button("sv:places")
class PickPlace(StatsButton):
    """The places the coordinator may look at, a button each (keeping the period)."""


@button("sv:plp")
class PlacesPage(Button):
    """Another page of the places (a community of many 楼院); the place the picker was opened
    from does not fit beside it in 64 bytes, so « back goes to the coordinator's own."""

    period: str
    page: int


@button("sv:typed")
class TypePeriod(Button):
    """自定义: the period is typed next (for this place)."""

    node_kind: NodeKind
    node_id: int


@button("sv:xlsx")
class ExportExcel(StatsButton):
    pass


@button("sv:csv")
class ExportCsv(StatsButton):
    pass
