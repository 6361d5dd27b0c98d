"""What a patrol finding tells people, as data: the coordinators above the place are told of a
new finding (its words, who saw it, where), the reporter what became of it (handled, or a wish
made of it). The findings views render them; the photo, the voice note and the location are
sent on a coordinator's press, re-checked then. No contact details travel in a notice."""

from __future__ import annotations

from bot.models import Notice


class FindingNotice(Notice):
    finding_id: int
    community_id: int
    building_id: int | None = None
    post_name: str
    building_name: str | None = None

    def place(self) -> tuple[int | None, int | None]:
        return self.community_id, self.building_id


class FindingReported(FindingNotice):
    """To the coordinators above the place: a member on patrol reported what they saw."""

    KIND = "finding.reported"
    reporter_name: str
    words: str | None = None


class FindingHandledNotice(FindingNotice):
    """To the reporter: a coordinator marked their finding handled."""

    KIND = "finding.handled"
    coordinator_name: str
    words: str | None = None


class FindingWishedNotice(FindingNotice):
    """To the reporter: a coordinator turned their finding into a wish offered to members."""

    KIND = "finding.wished"
    coordinator_name: str
    wish_id: int
    words: str | None = None
