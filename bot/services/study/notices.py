"""What study sessions tell people, as data: a session announced to its audience (with
Attend / Excused), a reminder the day before and an hour before (to those attending and those
who have not answered), and a cancellation. The study views render them when the outbox sends
them, reading the session as it is then: one cancelled meanwhile is not announced."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bot.models import Notice


class Stage(StrEnum):
    DAY = "day"
    HOUR = "hour"


class StudyNotice(Notice):
    community_id: int
    building_id: int | None = None
    slot_id: int

    def place(self) -> tuple[int | None, int | None]:
        return self.community_id, self.building_id


class SessionAnnounced(StudyNotice):
    """To the audience: a session is scheduled; attend or be excused."""

    KIND = "study.announced"
    repeats: int = 1  # sessions in the series (told with the first)


class SessionReminder(StudyNotice):
    """To those attending and those who have not answered: it is tomorrow / in an hour."""

    KIND = "study.reminder"
    stage: Stage


class SessionCancelled(StudyNotice):
    """To those attending and those who had not answered: it will not take place."""

    KIND = "study.cancelled"
    title: str
    starts_at: datetime
