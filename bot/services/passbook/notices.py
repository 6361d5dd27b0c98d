"""What the passbook tells a member, as data: a coordinator changed their points by hand (an
adjustment, or a correction of an entry), with the reason and who did it. The passbook views
render it in the member's language when the outbox sends it."""

from __future__ import annotations

from bot.models import LedgerEntry, Notice


class PointsNotice(Notice):
    entry: LedgerEntry  # the entry made (its points, reason, quarter)
    by: str  # the coordinator's name, as it was then

    def place(self) -> tuple[int | None, int | None]:
        return self.entry.community_id, None


class PointsAdjusted(PointsNotice):
    """To the member: a coordinator added or took away points, with a reason."""

    KIND = "passbook.adjusted"


class EntryCorrected(PointsNotice):
    """To the member: a coordinator undid one of their entries (`corrected`), with a reason."""

    KIND = "passbook.corrected"
    corrected: LedgerEntry
