"""Patrol findings (巡查发现): during a shift a member reports what they saw — words, a voice
note, a photo, a location — to the coordinators above the place, who mark it handled or turn
it into a wish in one tap (a broken stair light becomes a repair wish offered to the members
with that skill, linked to the finding).

Who may do what, checked here whatever the buttons showed:
- a member holding a place on a patrol shift (going, or asking to be let off) and checked in
  reports, from the check-in until REPORT_AFTER the shift's end; the dialogue's token makes a
  double "send" one finding;
- a coordinator above the finding's community (or its building) sees its photo, voice note and
  location, and handles it or makes a wish of it — once: the second gets who did (audited).

Making the wish is one transaction: the finding taken (NEW → WISHED, guarded: of two
coordinators pressing at once one wins, the other is told who did), the wish posted within it
(WishesService.post_within), linked, audited and the reporter told — or, when posting is
refused or anything fails, none of it, and the finding stays NEW."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import (
    HOLDING,
    N_,
    Finding,
    FindingStatus,
    Model,
    SlotKind,
    User,
    Wish,
    WishCategory,
)
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.notify import Notifier, coordinators_above
from bot.services.patrol.finding_notices import (
    FindingHandledNotice,
    FindingReported,
    FindingWishedNotice,
)
from bot.services.scope import require_coordinator, require_covers
from bot.services.text import trim_text
from bot.services.users import NAME_MAX
from bot.services.wishes import WishDraft, WishesService, suggest_category
from storage import audit, org
from storage import findings as repo
from storage import slots as slots_repo
from storage import users as users_repo
from storage.common import is_row_id
from storage.store import Store

REPORT_AFTER = timedelta(hours=2)  # after the shift's end, a finding may still be reported
TEXT_MAX = 1000
TOKEN_MAX = 64
OPEN_LIST_MAX = 30
LOOK_BACK = timedelta(hours=14)  # a shift is at most 12 h: its end is at most this far back


class NotOnShift(NotAllowed):
    message = N_("You do not hold a place on this patrol shift.")


class NoShiftNow(NotAllowed):
    message = N_(
        "You are not checked in to a patrol shift right now. Findings are reported during a "
        "shift: check in first in /patrol."
    )


class NotCheckedIn(Conflict):
    message = N_("Please check in to your shift first; then you can report what you see.")


class ReportingClosed(Conflict):
    message = N_(
        "This shift ended more than 2 hours ago, so findings can no longer be reported for it. "
        "Please tell a coordinator directly."
    )


class EmptyFinding(InvalidInput):
    message = N_("Please tell what you saw: a few words, a photo or a voice note.")


class BadLocation(InvalidInput):
    message = N_("That location could not be read. Please share it again.")


class NoSuchFinding(NotFound):
    message = N_("There is no such finding in your area.")


class AlreadyHandled(Conflict):
    message = N_("{name} has already marked this finding handled.")


class AlreadyWished(Conflict):
    message = N_("{name} has already turned this finding into a wish.")


class FindingDraft(Model):
    """What the member sent: words, a voice note, a photo, a location."""

    text: str | None = None
    voice_file_id: str | None = None
    photo_file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class FindingCard(Model):
    """A finding as coordinators and the reporter read it: where, and who handled it."""

    finding: Finding
    post_name: str
    building_name: str | None = None
    handler_name: str | None = None


class PatrolSpot(Model):
    """The shift a member may report from now: its slot, post and end."""

    slot_id: int
    post_name: str
    ends_at: datetime


def clean_words(text: str | None) -> str | None:
    """A finding's words as written (line breaks kept)."""
    return trim_text(text, TEXT_MAX)


def check_location(latitude: float | None, longitude: float | None) -> None:
    if latitude is None and longitude is None:
        return
    if (
        latitude is None
        or longitude is None
        or not (math.isfinite(latitude) and math.isfinite(longitude))
        or not -90 <= latitude <= 90
        or not -180 <= longitude <= 180
    ):
        raise BadLocation()


def wish_category(text: str | None) -> WishCategory:
    """The kind of help a finding's words ask for, as the wish dialogue guesses it."""
    return suggest_category(text) or WishCategory.OTHER


@dataclass
class FindingsService:
    store: Store
    settings: Settings
    clock: Clock
    notifier: Notifier
    wishes: WishesService

    # --- reporting --------------------------------------------------------------------------

    async def _spot(self, conn: AsyncConnection, member: User, slot_id: int) -> PatrolSpot:
        """The shift, when the member may report from it now; else why not."""
        if not is_row_id(slot_id):
            raise NotOnShift()  # a forged id
        slot = await slots_repo.get_slot(conn, slot_id)
        post = await repo.post_of_shift(conn, slot_id) if slot is not None else None
        signup = await slots_repo.get_signup(conn, slot_id, member.id) if post else None
        if (
            slot is None
            or post is None
            or slot.kind is not SlotKind.PATROL
            or not slot.open
            or signup is None
            or signup.status not in HOLDING
        ):
            raise NotOnShift()
        if signup.checked_in_at is None:
            raise NotCheckedIn()
        if self.clock.now() >= slot.ends_at + REPORT_AFTER:
            raise ReportingClosed()
        return PatrolSpot(slot_id=slot.id, post_name=post[0], ends_at=slot.ends_at)

    async def check_can_report(self, member: User, slot_id: int) -> PatrolSpot:
        """The shift the member would report from (the dialogue's first step); refused as
        `report` would refuse it."""
        async with self.store.read() as conn:
            return await self._spot(conn, member, slot_id)

    async def current_spot(self, member: User) -> PatrolSpot:
        """The patrol shift the member is checked in to now (the latest begun, when two are
        in their window); NoShiftNow when none."""
        now = self.clock.now()
        async with self.store.read() as conn:
            held = await slots_repo.user_signups(
                conn, member.id, kind=SlotKind.PATROL, after=now - REPORT_AFTER, before=now
            )
            for signup, _slot in reversed(held):
                if signup.checked_in_at is None:
                    continue
                try:
                    return await self._spot(conn, member, signup.slot_id)
                except (NotAllowed, Conflict):
                    continue
        raise NoShiftNow()

    async def report(
        self, member: User, slot_id: int, draft: FindingDraft, *, token: str
    ) -> Finding:
        """Report a finding from a shift the member is checked in to; the coordinators above
        its place are told in the same transaction. `token` names this one finding: sent
        twice, it is made once and returned again. Raises NotOnShift, NotCheckedIn,
        ReportingClosed, EmptyFinding, TextTooLong, BadLocation."""
        token = token.strip()
        if not token or len(token) > TOKEN_MAX:
            raise ValueError("a finding's token is 1 to 64 characters")
        words = clean_words(draft.text)
        if words is None and not draft.photo_file_id and not draft.voice_file_id:
            raise EmptyFinding()
        check_location(draft.latitude, draft.longitude)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            done = await repo.finding_by_token(conn, member.id, token)
            if done is not None:
                return done  # the same "send" again
            spot = await self._spot(conn, member, slot_id)
            slot = await slots_repo.get_slot(conn, slot_id)
            post = await repo.post_of_shift(conn, slot_id)
            assert slot is not None and post is not None
            building_id = slot.building_id or (post[1][0] if post[1] else None)
            finding_id = await repo.insert_finding(
                conn,
                slot_id=slot.id,
                community_id=slot.community_id,
                building_id=building_id,
                reported_by=member.id,
                text=words,
                voice_file_id=draft.voice_file_id,
                photo_file_id=draft.photo_file_id,
                latitude=draft.latitude,
                longitude=draft.longitude,
                token=token,
                now=now,
            )
            if finding_id is None:  # raced with the same token
                raced = await repo.finding_by_token(conn, member.id, token)
                assert raced is not None
                return raced
            names = await org.building_names(conn, [building_id] if building_id else [])
            notice = FindingReported(
                finding_id=finding_id,
                community_id=slot.community_id,
                building_id=building_id,
                post_name=spot.post_name,
                building_name=names.get(building_id) if building_id else None,
                reporter_name=member.display_name,
                words=words,
            )
            ids = await coordinators_above(conn, slot.community_id, building_id)
            coordinators = await users_repo.get_users(conn, ids)
            await self.notifier.tell_all(conn, coordinators, notice)
            finding = await repo.get_finding(conn, finding_id)
            assert finding is not None
        self.notifier.wake()
        return finding

    # --- for coordinators -------------------------------------------------------------------

    async def _in_reach(self, conn: AsyncConnection, actor: User, finding_id: int) -> Finding:
        finding = await repo.get_finding(conn, finding_id)
        if finding is None:
            raise NoSuchFinding()
        try:
            require_covers(actor, finding.community_id, finding.building_id)
        except NotFound:
            raise NoSuchFinding() from None
        return finding

    async def _card(self, conn: AsyncConnection, finding: Finding) -> FindingCard:
        post = await repo.post_of_shift(conn, finding.slot_id)
        buildings = await org.building_names(
            conn, [finding.building_id] if finding.building_id else []
        )
        handlers = await repo.names_of(conn, [finding.handled_by] if finding.handled_by else [])
        return FindingCard(
            finding=finding,
            post_name=post[0] if post else "",
            building_name=buildings.get(finding.building_id) if finding.building_id else None,
            handler_name=handlers.get(finding.handled_by) if finding.handled_by else None,
        )

    async def finding(self, viewer: User, finding_id: int) -> FindingCard:
        """A finding (its photo, voice note, location) for a coordinator above its place or
        its reporter; anyone else: NoSuchFinding."""
        async with self.store.read() as conn:
            found = await repo.get_finding(conn, finding_id)
            if found is not None and found.reported_by == viewer.id:
                return await self._card(conn, found)
            if not viewer.is_coordinator:
                raise NoSuchFinding()
            return await self._card(conn, await self._in_reach(conn, viewer, finding_id))

    async def as_told(self, finding_id: int) -> Finding | None:
        """A finding as it stands now, for rendering a notice about it (the notice went to
        people allowed to read it; a press on its buttons is checked again)."""
        async with self.store.read() as conn:
            return await repo.get_finding(conn, finding_id)

    async def card_of(self, finding: Finding) -> FindingCard:
        """A finding with its post's, building's and handler's names (for a notice's view)."""
        async with self.store.read() as conn:
            return await self._card(conn, finding)

    async def open_findings(self, actor: User) -> list[FindingCard]:
        """The findings not yet handled in the coordinator's reach, newest first."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            found = await repo.open_findings(
                conn, reach.community_ids, building_id=reach.building_id, limit=OPEN_LIST_MAX
            )
            return [await self._card(conn, f) for f in found]

    async def _refuse_taken(self, conn: AsyncConnection, finding_id: int) -> None:
        taken = await repo.get_finding(conn, finding_id)
        assert taken is not None
        names = await repo.names_of(conn, [taken.handled_by] if taken.handled_by else [])
        name = names.get(taken.handled_by, "") if taken.handled_by else ""
        if taken.status is FindingStatus.WISHED:
            raise AlreadyWished(name=name)
        raise AlreadyHandled(name=name)

    def _place(self, card: FindingCard) -> dict[str, Any]:
        finding = card.finding
        return {
            "finding_id": finding.id,
            "community_id": finding.community_id,
            "building_id": finding.building_id,
            "post_name": card.post_name,
            "building_name": card.building_name,
            "words": finding.text,
        }

    async def mark_handled(self, actor: User, finding_id: int) -> FindingCard:
        """A coordinator in reach marks a finding handled (once; audited); the reporter is
        told. Raises NoSuchFinding, AlreadyHandled, AlreadyWished."""
        require_coordinator(actor)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            finding = await self._in_reach(conn, actor, finding_id)
            if not await repo.handle(
                conn, finding.id, to=FindingStatus.HANDLED, by=actor.id, now=now
            ):
                await self._refuse_taken(conn, finding.id)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="finding.handle",
                subject=f"finding:{finding.id}",
                now=now,
                community_id=finding.community_id,
                after={"status": FindingStatus.HANDLED.value, "slot_id": finding.slot_id},
            )
            handled = await repo.get_finding(conn, finding.id)
            assert handled is not None
            card = await self._card(conn, handled)
            reporter = await users_repo.get_user(conn, finding.reported_by)
            if reporter is not None:
                notice = FindingHandledNotice(
                    coordinator_name=actor.display_name,
                    **self._place(card),
                )
                await self.notifier.tell(conn, reporter, notice)
        self.notifier.wake()
        return card

    async def to_wish(self, actor: User, finding_id: int) -> tuple[FindingCard, Wish]:
        """A coordinator in reach turns a finding into a wish in one step: a wish on behalf of
        the post's public area, its words, photo and voice note, the kind of help guessed from
        the words, at the finding's building, offered to members as any wish is; linked to the
        finding (audited); the reporter is told. Once: of two coordinators pressing at once,
        one makes the wish, the other gets AlreadyWished. Raises NoSuchFinding,
        AlreadyHandled, AlreadyWished, and what posting a wish refuses."""
        require_coordinator(actor)
        now = self.clock.now()
        # One transaction: the finding taken for the wish, the wish posted and offered, the
        # link, the audit line and the reporter's notice — all of them, or (a refusal, a
        # crash) none, and the finding stays open.
        async with self.store.transaction() as conn:
            finding = await self._in_reach(conn, actor, finding_id)
            if not await repo.handle(
                conn, finding.id, to=FindingStatus.WISHED, by=actor.id, now=now
            ):
                await self._refuse_taken(conn, finding.id)
            card = await self._card(conn, finding)
            # Posted in the finding's community (a street's coordinator lives in one community
            # and may act for another): the wish service places a proxy wish in the poster's.
            poster = actor.model_copy(update={"community_id": finding.community_id})
            draft = WishDraft(
                category=wish_category(finding.text),
                text=finding.text,
                photo_file_id=finding.photo_file_id,
                voice_file_id=finding.voice_file_id,
                for_name=(card.post_name or "-")[:NAME_MAX],
                for_building_id=finding.building_id,
            )
            wish = await self.wishes.post_within(conn, poster, draft)
            linked = await repo.set_wish(conn, finding.id, wish.id)
            assert linked, "the finding was taken for this wish above"
            await audit.record(
                conn,
                actor_id=actor.id,
                action="finding.wish",
                subject=f"finding:{finding.id}",
                now=now,
                community_id=finding.community_id,
                after={"status": FindingStatus.WISHED.value, "wish_id": wish.id},
            )
            wished = await repo.get_finding(conn, finding.id)
            assert wished is not None
            card = await self._card(conn, wished)
            reporter = await users_repo.get_user(conn, finding.reported_by)
            if reporter is not None:
                notice = FindingWishedNotice(
                    coordinator_name=actor.display_name,
                    wish_id=wish.id,
                    **self._place(card),
                )
                await self.notifier.tell(conn, reporter, notice)
        self.notifier.wake()
        return card, wish
