"""What people type and choose when posting: the draft a dialogue collects, the checks on its
text, and the reading of "needed by" dates in the community's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.models import N_, AtDoor, Team, Wish, WishCategory, WishContact
from bot.services.errors import InvalidInput
from bot.services.wishes.rules import NEEDED_BY_MAX

WhenChoice = Literal["today", "tomorrow", "3days", "week"]
WHEN_DAYS: dict[str, int] = {"today": 0, "tomorrow": 1, "3days": 3, "week": 7}


_DATE = re.compile(
    r"^(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"
    r"(?:\s*(?P<H>\d{1,2})\s*[:：点时]\s*(?P<M>\d{1,2})?\s*分?)?$"
)
_TIME = re.compile(r"^(?P<H>\d{1,2})\s*[:：]\s*(?P<M>\d{2})$")


def parse_needed_by(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """A typed date/time ("12-24", "2026-12-24 15:30", "12月24日 15点", "15:30") in the
    community's zone; a date alone means the end of that day."""
    typed = text.strip()
    local_now = now.astimezone(zone)
    match = _DATE.match(typed)
    time_only = _TIME.match(typed)
    try:
        if match:
            year = int(match["y"]) if match["y"] else local_now.year
            hour = int(match["H"]) if match["H"] else 23
            minute = int(match["M"]) if match["M"] else (0 if match["H"] else 59)
            moment = datetime(year, int(match["m"]), int(match["d"]), hour, minute, tzinfo=zone)
        elif time_only:
            moment = local_now.replace(
                hour=int(time_only["H"]), minute=int(time_only["M"]), second=0, microsecond=0
            )
        else:
            raise ValueError(typed)
    except ValueError:
        raise InvalidInput(
            N_("I could not read that date. Please write it like 12-24 or 12-24 15:30.")
        ) from None
    return check_needed_by(moment.astimezone(UTC), now)


def check_needed_by(moment: datetime, now: datetime) -> datetime:
    if moment <= now:
        raise InvalidInput(N_("That time has already passed. Please choose a later one."))
    if moment > now + NEEDED_BY_MAX:
        raise InvalidInput(N_("Please choose a time within the next year."))
    return moment


def needed_by_choice(choice: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The end of the local day for "today", "tomorrow", "3days" or "week"."""
    if choice not in WHEN_DAYS:
        raise InvalidInput()
    day = now.astimezone(zone).date() + timedelta(days=WHEN_DAYS[choice])
    return datetime.combine(day, time(23, 59), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class WishDraft:
    """What a dialogue collected; checked again by `post`."""

    category: WishCategory
    text: str | None = None
    photo_file_id: str | None = None
    voice_file_id: str | None = None
    needed_by: datetime | None = None
    urgent: bool = False
    # On behalf of someone without a phone (members and coordinators only):
    for_name: str | None = None
    for_building_id: int | None = None
    for_room: str | None = None
    for_phone: str | None = None

    @property
    def is_proxy(self) -> bool:
        return self.for_name is not None

    @property
    def has_content(self) -> bool:
        """Words, a photo or a voice note: what a wish cannot be posted without."""
        return bool(self.text or self.photo_file_id or self.voice_file_id)


@dataclass(frozen=True)
class WishFilter:
    kind: Literal["all", "building", "skills", "category"] = "all"
    category: WishCategory | None = None


@dataclass(frozen=True)
class WishAccess:
    """What one person may do with one wish (for showing the right buttons)."""

    owns: bool  # posted it (or coordinates a wish posted on someone's behalf)
    handles: bool  # claimed it, leads the claiming team, or was assigned to it
    leads: bool  # leads the team that claimed it
    releases: bool  # may give it back: the claimer, the team leader or a coordinator
    sees_contact: bool
    coordinates: bool = False  # a coordinator above the wish (not one of somewhere else)


@dataclass(frozen=True)
class WishCard:
    """A wish as one person may see it now, read at once: what they may do with it, its
    contact details when theirs to see, and the teams they could take it on for."""

    wish: Wish
    access: WishAccess
    contact: WishContact | None
    teams: tuple[Team, ...]
    # Who is coming to the door: for the one who posted it, while it is in hand.
    at_door: AtDoor | None = None
    # The code to give the helper once it is done: for the resident alone, while in hand.
    handshake_code: str | None = field(default=None, repr=False)
