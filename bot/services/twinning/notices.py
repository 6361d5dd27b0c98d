"""What twinning tells people, as data: a pair made or ended (to the member, and to the
household when a registered resident is linked to it), a member behind their visits, and
the coordinators when a pair is twice behind. The twinning views render them in each
recipient's language when the outbox sends them. No contact details travel in a notice."""

from __future__ import annotations

from datetime import date

from bot.models import Notice


class TwinningNotice(Notice):
    community_id: int
    building_id: int | None = None
    household_name: str
    building_name: str

    def place(self) -> tuple[int | None, int | None]:
        return self.community_id, self.building_id


class PairMade(TwinningNotice):
    """To the member: they are now paired with a household, visiting every `cadence_days`."""

    KIND = "twinning.paired"
    pair_id: int
    cadence_days: int


class PairMadeForHousehold(TwinningNotice):
    """To the household's linked resident: a member will visit them."""

    KIND = "twinning.paired_household"
    member_name: str


class PairEndedNotice(TwinningNotice):
    """To the member: the pair ended, with the reason."""

    KIND = "twinning.ended"
    reason: str


class PairEndedForHousehold(TwinningNotice):
    """To the household's linked resident: the member will no longer visit."""

    KIND = "twinning.ended_household"
    member_name: str


class VisitDue(TwinningNotice):
    """To the member: more than the cadence has passed since the last visit (or the start)."""

    KIND = "twinning.visit_due"
    pair_id: int
    days: int  # since the last visit, or since the pair started
    cadence_days: int
    # The pair's anchor day when told: a visit logged before the notice leaves (held by quiet
    # hours, or a backlog) moves it, and the notice is dropped. None: recorded before it was
    # carried.
    anchor: date | None = None


class VisitsOverdue(TwinningNotice):
    """To the coordinators above the household: a pair is twice its cadence behind."""

    KIND = "twinning.overdue"
    pair_id: int
    member_name: str
    days: int
    cadence_days: int
    anchor: date | None = None  # as VisitDue's
