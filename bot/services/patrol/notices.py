"""What patrol duty tells people, as data: a member reminded of their shift (the day before
and shortly before), a shift cancelled, a shift offered by another member, a swap taken, a
member let off, a member checked out by the bot; and the coordinators told of a shift short
of members, a late drop-out (with a button to let them off) and a missed shift. The patrol
views render them in each recipient's language when the outbox sends them."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.models import DeliveryPolicy, Notice


class PatrolNotice(Notice):
    community_id: int
    building_id: int | None = None
    slot_id: int
    post_name: str
    starts_at: datetime
    ends_at: datetime

    def place(self) -> tuple[int | None, int | None]:
        return self.community_id, self.building_id


class ShiftReminder(PatrolNotice):
    """To a member on the shift: the day before (`soon` False) or shortly before it starts."""

    KIND = "patrol.reminder"
    # Worth nothing once the shift has begun; the view also drops it then.
    POLICY = DeliveryPolicy(stale_after=timedelta(hours=12))
    user_id: int
    soon: bool = False
    late: bool = False  # the bot was away when it was due


class ShiftCancelledNotice(PatrolNotice):
    """To the members who held a place: the coordinators cancelled the shift."""

    KIND = "patrol.cancelled"


class SwapOffered(PatrolNotice):
    """To the community's other members: a member offers their shift; the first to accept
    takes it."""

    KIND = "patrol.swap_offered"
    swap_id: int
    from_name: str


class SwapTaken(PatrolNotice):
    """To the member who offered their shift: someone took it over."""

    KIND = "patrol.swap_taken"
    taker_name: str


class LetOff(PatrolNotice):
    """To a member who asked late to be let off: a coordinator let them off."""

    KIND = "patrol.let_off"


class AutoCheckedOut(PatrolNotice):
    """To a member who forgot to check out: checked out at the shift's end, credited."""

    KIND = "patrol.auto_checked_out"
    hours: int


class ShiftShort(PatrolNotice):
    """To the coordinators: a shift starting within a day is short of members."""

    KIND = "patrol.short"
    taken: int
    capacity: int


class LateDropOut(PatrolNotice):
    """To the coordinators, at once: a member can't come, past the time to drop out alone."""

    KIND = "patrol.late_drop"
    member_id: int
    member_name: str


class MissedShift(PatrolNotice):
    """To the coordinators: members holding a place never checked in by the shift's end."""

    KIND = "patrol.missed"
    member_names: list[str]
