"""The love-savings passbook: the ledger, its rules, the passbook and ranking, coordinators'
rules, adjustments and corrections."""

from __future__ import annotations

from bot.services.passbook.notices import EntryCorrected, PointsAdjusted, PointsNotice
from bot.services.passbook.rules import (
    ADJUST_MAX,
    DEFAULT_POINTS,
    PAGE_SIZE,
    RULE_MAX,
    RULED,
    AlreadyCorrected,
    BadPoints,
    NotCorrectable,
    QuarterClosed,
    ReasonRequired,
    ZeroAdjustment,
    check_adjustment,
    check_rule,
    clean_reason,
    previous_quarter,
    quarter_bounds,
    quarter_of,
)
from bot.services.passbook.service import (
    NoSuchMember,
    PassbookPage,
    PassbookService,
    Ranking,
    wish_of,
    wish_ref,
)

__all__ = [
    "ADJUST_MAX",
    "DEFAULT_POINTS",
    "PAGE_SIZE",
    "RULED",
    "RULE_MAX",
    "AlreadyCorrected",
    "BadPoints",
    "EntryCorrected",
    "NoSuchMember",
    "NotCorrectable",
    "PassbookPage",
    "PassbookService",
    "PointsAdjusted",
    "PointsNotice",
    "QuarterClosed",
    "Ranking",
    "ReasonRequired",
    "ZeroAdjustment",
    "check_adjustment",
    "check_rule",
    "clean_reason",
    "previous_quarter",
    "quarter_bounds",
    "quarter_of",
    "wish_of",
    "wish_ref",
]
