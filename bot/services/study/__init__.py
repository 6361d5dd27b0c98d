"""Study sessions (学习): scheduling, the audience's answers, reminders, check-in with a code,
attendance."""

from __future__ import annotations

from bot.services.study.notices import (
    SessionAnnounced,
    SessionCancelled,
    SessionReminder,
    Stage,
    StudyNotice,
)
from bot.services.study.rules import (
    CHECK_IN_AFTER,
    CHECK_IN_BEFORE,
    MAX_WRONG_TRIES,
    REPEATS,
    BadLink,
    BuildingRequired,
    ExcuseReasonRequired,
    NoSessionNow,
    NoSuchSession,
    SessionOver,
    TitleRequired,
    TooManyTries,
    WhereRequired,
    WrongCode,
    study_ref,
)
from bot.services.study.service import (
    KIND_ANNOUNCE,
    KIND_REMIND,
    AttendanceReport,
    MySession,
    SessionDraft,
    SessionRoll,
    StudyService,
)

__all__ = [
    "CHECK_IN_AFTER",
    "CHECK_IN_BEFORE",
    "KIND_ANNOUNCE",
    "KIND_REMIND",
    "MAX_WRONG_TRIES",
    "REPEATS",
    "AttendanceReport",
    "BadLink",
    "BuildingRequired",
    "ExcuseReasonRequired",
    "MySession",
    "NoSessionNow",
    "NoSuchSession",
    "SessionAnnounced",
    "SessionCancelled",
    "SessionDraft",
    "SessionOver",
    "SessionReminder",
    "SessionRoll",
    "Stage",
    "StudyNotice",
    "StudyService",
    "TitleRequired",
    "TooManyTries",
    "WhereRequired",
    "WrongCode",
    "study_ref",
]
