"""Months and quarters named as people say them, from the reader's translator alone (an
announcement is rendered for each reader with nothing else)."""

from __future__ import annotations

from datetime import date

from bot.i18n import Translate
from bot.models import N_


def quarter_label(t: Translate, quarter: str) -> str:
    """ "2026Q4" as people say it: "2026年第4季度"."""
    return t("Q{number} {year}").format(year=quarter[:4], number=quarter[5:])


def month_label(t: Translate, month: date) -> str:
    """ "November 2026" / "2026年11月"."""
    return t("{month_name} {year}").format(
        month_name=t(MONTH_NAMES[month.month - 1]), year=month.year
    )


# English month names; zh writes 2026年11月 through "{month_name} {year}" itself.
MONTH_NAMES = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)
