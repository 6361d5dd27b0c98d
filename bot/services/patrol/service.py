"""Patrol duty (巡逻值守): coordinators define posts and shifts (repeating in one step);
members take shifts, say they can't come, offer them to others, check in and out; the
passbook is credited by the hours served; reminders and alerts are rows the sweep runs.

Who may do what, checked here whatever the buttons showed:
- a coordinator whose reach covers the community creates and archives posts and defines and
  cancels shifts (a building's coordinator only lets off members of a shift of their
  building); every coordinator action is audited;
- a member (Role.MEMBER) of the shift's community takes, leaves, swaps and checks in to a
  shift; only to their own shift, only in its window.

The places are the slot engine's (bot.services.slots): a full shift, an overlapping one, a
shift in the past are refused there, whatever races."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import (
    HOLDING,
    LedgerKind,
    PatrolPost,
    Recurrence,
    Reminder,
    Shift,
    Signup,
    SignupStatus,
    Slot,
    SlotKind,
    Swap,
    SwapStatus,
    User,
)
from bot.services.days import local_day
from bot.services.errors import NotAllowed
from bot.services.notify import Notifier, quiet_until
from bot.services.passbook import PassbookService
from bot.services.patrol.notices import (
    AutoCheckedOut,
    LateDropOut,
    LetOff,
    MissedShift,
    ShiftCancelledNotice,
    ShiftReminder,
    ShiftShort,
    SwapOffered,
    SwapTaken,
)
from bot.services.patrol.rules import (
    AREA_MAX,
    CHECK_IN_CLOSES,
    CHECK_IN_OPENS,
    CHECK_OUT_CLOSES,
    POST_NAME_MAX,
    SHORT_ALERT_BEFORE,
    AlreadyAsked,
    AlreadyOnShift,
    NoSuchPost,
    NoSuchShift,
    NotAPatrolMember,
    NotAsking,
    NotOnShift,
    PostArchived,
    PostNameRequired,
    ShiftBegun,
    ShiftCancelled,
    SwapClash,
    SwapGone,
    SwapOpenAlready,
    SwapOwn,
    check_capacity,
    day_before_moment,
    hours_served,
    local_moment,
    shift_moments,
    shift_ref,
    week_start,
)
from bot.services.reminders import ReminderService
from bot.services.scope import working_community
from bot.services.slots import (
    AlreadyCheckedIn,
    SlotEngine,
    minutes_served,
    person_subject,
    repeat,
    slot_subject,
)
from bot.services.text import fold_text
from storage import audit, org
from storage import patrol as repo
from storage import slots as slots_repo
from storage import users as users_repo
from storage.store import Store

KIND_DAY_BEFORE = "patrol.day_before"  # to the member, the evening before
KIND_SOON = "patrol.soon"  # to the member, PATROL_REMIND_MINUTES before the start
KIND_SHORT = "patrol.short"  # to the coordinators, 24 h before, if short of members
KIND_START = "patrol.start"  # at the start: open swap offers end
KIND_MISSED = "patrol.missed"  # at the end: places held but never checked in
KIND_CLOSE = "patrol.close"  # check-out window closed: the forgetful are checked out

ROSTER_VIEW = "patrol.roster"
SERIES_MAX_WEEKS = 10  # rosters touched by one define step, at most (62 days)


def roster_thing(community_id: int, monday: date) -> str:
    """The live-message thing of a community's roster for the week starting `monday`."""
    return f"patrol.roster:{community_id}:{monday.isoformat()}"


def parse_roster_thing(thing: str) -> tuple[int, date]:
    _, community, monday = thing.split(":", 2)
    return int(community), date.fromisoformat(monday)


@dataclass
class RosterDay:
    day: date
    shifts: list[tuple[Shift, list[Signup]]]


@dataclass
class PatrolService:
    store: Store
    settings: Settings
    clock: Clock
    notifier: Notifier
    reminders: ReminderService
    passbook: PassbookService
    engine: SlotEngine
    # The community whose roster goes to the members' group (MEMBERS_GROUP_ID), if any.
    group_community_id: int | None = None

    def register_reminders(self, reminders: ReminderService) -> None:
        """What patrol reminders do when due (called once, at build time)."""
        reminders.on(KIND_DAY_BEFORE, self.on_member_reminder)
        reminders.on(KIND_SOON, self.on_member_reminder)
        reminders.on(KIND_SHORT, self.on_short)
        reminders.on(KIND_START, self.on_start)
        reminders.on(KIND_MISSED, self.on_missed)
        reminders.on(KIND_CLOSE, self.on_close)

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    # --- posts ------------------------------------------------------------------------------

    async def create_post(
        self,
        actor: User,
        *,
        name: str,
        area: str | None,
        building_ids: list[int],
        community_id: int | None = None,
    ) -> PatrolPost:
        """A coordinator of the community makes a post (name, area in words, its buildings,
        which must be the community's own); audited."""
        community = working_community(actor, community_id)
        cleaned = fold_text(name, POST_NAME_MAX)
        if cleaned is None:
            raise PostNameRequired()
        where = fold_text(area, AREA_MAX)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            for building_id in building_ids:
                building = await org.get_building(conn, building_id)
                if building is None or building.community_id != community or building.archived:
                    raise NoSuchPost()  # not a building of this community
            post_id = await repo.insert_post(
                conn,
                community_id=community,
                name=cleaned,
                area=where,
                building_ids=building_ids,
                created_by=actor.id,
                now=now,
            )
            post = await repo.get_post(conn, post_id)
            assert post is not None
            await audit.record(
                conn,
                actor_id=actor.id,
                action="patrol_post.create",
                subject=f"patrol_post:{post_id}",
                now=now,
                community_id=community,
                after={"name": cleaned, "area": where, "building_ids": list(post.building_ids)},
            )
        return post

    async def posts(self, actor: User, community_id: int | None = None) -> list[PatrolPost]:
        community = working_community(actor, community_id)
        async with self.store.read() as conn:
            return await repo.posts_of(conn, community)

    async def _post_in_reach(self, conn: AsyncConnection, actor: User, post_id: int) -> PatrolPost:
        post = await repo.get_post(conn, post_id)
        if post is None:
            raise NoSuchPost()
        if not actor.is_coordinator:
            raise NotAllowed()
        if not actor.covers(post.community_id):
            raise NoSuchPost()
        return post

    async def post(self, actor: User, post_id: int) -> PatrolPost:
        async with self.store.read() as conn:
            return await self._post_in_reach(conn, actor, post_id)

    async def archive_post(self, actor: User, post_id: int) -> PatrolPost:
        """No more shifts at this post (those defined stay); audited."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            post = await self._post_in_reach(conn, actor, post_id)
            if not await repo.archive_post(conn, post.id):
                raise PostArchived()
            await audit.record(
                conn,
                actor_id=actor.id,
                action="patrol_post.archive",
                subject=f"patrol_post:{post.id}",
                now=now,
                community_id=post.community_id,
                before={"name": post.name},
            )
        return post.model_copy(update={"archived": True})

    # --- shifts: coordinators ---------------------------------------------------------------

    async def define_shifts(
        self,
        actor: User,
        post_id: int,
        *,
        day: date,
        start: time,
        end: time,
        capacity: int,
        recurrence: Recurrence = Recurrence.ONCE,
        count: int = 1,
    ) -> list[Shift]:
        """Shifts at a post on a local day from `start` to `end` for `capacity` members; with
        a recurrence, `count` of them (every day, week or month) in one step. Refused by the
        slot engine: a start in the past, the end not after the start, too long, too many.
        Audited once; the coordinators' reminders (short of members, missed) are set."""
        check_capacity(capacity)
        zone = self.zone
        first = shift_moments(day, start, end, zone)
        if recurrence is Recurrence.ONCE or count <= 1:
            times = [(first[0].astimezone(UTC), first[1].astimezone(UTC))]
        else:
            times = repeat(first[0], first[1], recurrence, count, zone)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            post = await self._post_in_reach(conn, actor, post_id)
            if post.archived:
                raise PostArchived()
            made = await self.engine.create(
                conn,
                kind=SlotKind.PATROL,
                community_id=post.community_id,
                building_id=post.building_ids[0] if post.building_ids else None,
                times=times,
                capacity=capacity,
                actor_id=actor.id,
            )
            await repo.add_shift_rows(conn, post.id, [s.id for s in made])
            for slot in made:
                await self._arm_slot(conn, slot, now)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="patrol_shift.define",
                subject=f"slot:{made[0].id}",
                now=now,
                community_id=post.community_id,
                after={
                    "post_id": post.id,
                    "first_start": made[0].starts_at.isoformat(),
                    "count": len(made),
                    "recurrence": recurrence.value,
                    "capacity": capacity,
                },
            )
            shifts = await repo.shifts_by_ids(conn, [s.id for s in made])
            for monday in sorted({self._week_of(s.slot) for s in shifts})[:SERIES_MAX_WEEKS]:
                await self._roster_changed(conn, post.community_id, monday)
        self.notifier.wake()
        return shifts

    def check_first(self, day: date, start: time, end: time) -> tuple[datetime, datetime]:
        """The first shift's times as typed, refused at once (in the past, ending where it
        starts, too long) rather than at the end of the dialogue; its start and end."""
        first = shift_moments(day, start, end, self.zone)
        self.engine.check_times([first], None)
        return first

    async def _arm_slot(self, conn: AsyncConnection, slot: Slot, now: datetime) -> None:
        """A new shift's own reminders: short of members (24 h before, unless it is already
        closer), its start (swap offers end), its end (missed), check-out closed."""
        subject = slot_subject(slot.id)
        payload = {"slot_id": slot.id}
        plan: list[tuple[str, datetime, timedelta | None]] = [
            (KIND_START, slot.starts_at, None),
            (KIND_MISSED, slot.ends_at, timedelta(hours=12)),
            (KIND_CLOSE, slot.ends_at + CHECK_OUT_CLOSES, None),
        ]
        short_at = slot.starts_at - SHORT_ALERT_BEFORE
        if short_at > now:
            plan.append((KIND_SHORT, short_at, SHORT_ALERT_BEFORE))
        for kind, due, stale in plan:
            await self.reminders.schedule(
                conn, subject=subject, kind=kind, due_at=due, payload=payload, stale_after=stale
            )

    async def cancel_shift(self, actor: User, slot_id: int) -> Shift:
        """A coordinator cancels a shift: the members on it are told and released, its
        reminders and swap offers end; audited."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            shift = await self._shift_in_reach(conn, actor, slot_id)
            # Locked before reading who holds a place: a place taken or handed over (a swap)
            # at the same moment waits, so its member is released and told too.
            await slots_repo.lock_slot(conn, slot_id)
            shift = await self._shift_in_reach(conn, actor, slot_id)
            if not shift.slot.open:
                raise ShiftCancelled()
            holders = await slots_repo.signups_of(conn, slot_id, HOLDING)
            for signup in holders:
                if signup.checked_in_at is not None and signup.checked_out_at is None:
                    # On duty when it was called off: checked out now, credited so far.
                    at = max(min(now, shift.slot.ends_at), signup.checked_in_at)
                    if await slots_repo.check_out(conn, slot_id, signup.user_id, at=at):
                        await self._credit(conn, shift.slot, signup, out=at)
                await slots_repo.release_place(
                    conn,
                    slot_id,
                    signup.user_id,
                    to=SignupStatus.DROPPED,
                    reason="cancelled",
                    now=now,
                )
                await self.reminders.cancel(
                    conn, person_subject(slot_id, signup.user_id), recurring=False
                )
            if not await slots_repo.cancel_slot(conn, slot_id, now):
                raise ShiftCancelled()
            await self.reminders.cancel(conn, slot_subject(slot_id), recurring=False)
            await slots_repo.close_swaps(conn, slot_id, now=now)
            notice = ShiftCancelledNotice(**self._about(shift))
            people = await users_repo.get_users(conn, [s.user_id for s in holders])
            await self.notifier.tell_all(conn, people, notice, dedupe_prefix=f"patrol:{slot_id}:x")
            await audit.record(
                conn,
                actor_id=actor.id,
                action="patrol_shift.cancel",
                subject=f"slot:{slot_id}",
                now=now,
                community_id=shift.slot.community_id,
                before={"post_id": shift.post_id, "members": [s.user_id for s in holders]},
            )
            await self._roster_changed(conn, shift.slot.community_id, self._week_of(shift.slot))
            cancelled = await repo.get_shift(conn, slot_id)
            assert cancelled is not None
        self.notifier.wake()
        return cancelled

    async def let_off(self, actor: User, slot_id: int, member_id: int) -> Shift:
        """A coordinator lets off a member who asked late (LEAVING): the place is released,
        the member told; audited. NotAsking when they no longer ask."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            in_reach = await self._shift_in_reach(conn, actor, slot_id, building=True)
            shift = await self._locked(conn, in_reach)
            signup = await slots_repo.get_signup(conn, slot_id, member_id)
            member = await users_repo.get_user(conn, member_id)
            if (
                signup is None
                or signup.status is not SignupStatus.LEAVING
                or signup.checked_in_at is not None  # they came after all
                or member is None
            ):
                raise NotAsking()
            await self.engine.leave(
                conn, shift.slot, member, to=SignupStatus.DROPPED, reason="let off"
            )
            await self.reminders.cancel(conn, person_subject(slot_id, member_id), recurring=False)
            await slots_repo.close_swaps(conn, slot_id, from_user_id=member_id, now=now)
            await self.notifier.tell(
                conn,
                member,
                LetOff(**self._about(shift)),
                dedupe_key=f"patrol:{slot_id}:off:{member_id}",
            )
            await audit.record(
                conn,
                actor_id=actor.id,
                action="patrol_shift.let_off",
                subject=f"slot:{slot_id}",
                now=now,
                community_id=shift.slot.community_id,
                after={"member_id": member_id},
            )
            await self._roster_changed(conn, shift.slot.community_id, self._week_of(shift.slot))
            after = await repo.get_shift(conn, slot_id)
            assert after is not None
        self.notifier.wake()
        return after

    async def _locked(self, conn: AsyncConnection, shift: Shift) -> Shift:
        """The shift as it is once its slot is locked for this transaction: every change to
        its places (take, leave, swap, check in, cancel) takes the lock first, so they run
        one after the other, never crossing (PostgreSQL; SQLite runs one writer anyway)."""
        await slots_repo.lock_slot(conn, shift.slot.id)
        again = await repo.get_shift(conn, shift.slot.id)
        assert again is not None
        return again

    async def _shift_in_reach(
        self, conn: AsyncConnection, actor: User, slot_id: int, *, building: bool = False
    ) -> Shift:
        shift = await repo.get_shift(conn, slot_id)
        if shift is None:
            raise NoSuchShift()
        if not actor.is_coordinator:
            raise NotAllowed()
        if not actor.covers(shift.slot.community_id, shift.slot.building_id if building else None):
            raise NoSuchShift()
        return shift

    async def signups(self, actor: User, slot_id: int) -> tuple[Shift, list[Signup]]:
        """A shift and who holds a place on it, for a coordinator in reach."""
        async with self.store.read() as conn:
            shift = await self._shift_in_reach(conn, actor, slot_id, building=True)
            return shift, await slots_repo.signups_of(conn, slot_id, HOLDING)

    async def week_shifts(
        self, actor: User, monday: date, community_id: int | None = None
    ) -> list[Shift]:
        """The community's shifts of a week, for its coordinators (e.g. to cancel one)."""
        community = working_community(actor, community_id)
        start = local_moment(monday, time(0, 0), self.zone)
        async with self.store.read() as conn:
            return await repo.shifts_between(conn, community, start, start + timedelta(days=7))

    # --- shifts: members --------------------------------------------------------------------

    def _require_member(self, member: User, community_id: int) -> None:
        if not member.is_member or member.community_id != community_id:
            raise NotAPatrolMember()

    async def _member_shift(self, conn: AsyncConnection, member: User, slot_id: int) -> Shift:
        shift = await repo.get_shift(conn, slot_id)
        if shift is None or shift.slot.community_id != member.community_id:
            raise NoSuchShift()
        self._require_member(member, shift.slot.community_id)
        return shift

    async def shift(self, viewer: User, slot_id: int) -> Shift:
        """A shift, for a member of its community or a coordinator in reach."""
        async with self.store.read() as conn:
            shift = await repo.get_shift(conn, slot_id)
            if shift is None:
                raise NoSuchShift()
            if not viewer.covers(shift.slot.community_id) and not (
                viewer.is_member and viewer.community_id == shift.slot.community_id
            ):
                raise NoSuchShift()
        return shift

    async def open_shifts(self, member: User, day: date) -> list[tuple[Shift, bool]]:
        """The shifts of the member's community on a local day not begun yet, and whether the
        member holds a place on each."""
        if member.community_id is None:
            raise NotAPatrolMember()
        self._require_member(member, member.community_id)
        now = self.clock.now()
        start = local_moment(day, time(0, 0), self.zone)
        async with self.store.read() as conn:
            shifts = await repo.shifts_between(
                conn, member.community_id, max(start, now), start + timedelta(days=1)
            )
            mine = {
                s.slot_id
                for s in await slots_repo.signups_of_slots(conn, [s.slot.id for s in shifts])
                if s.user_id == member.id and s.holding
            }
        return [(s, s.slot.id in mine) for s in shifts]

    async def my_shifts(self, member: User) -> list[tuple[Shift, Signup]]:
        """The member's shifts not over yet (or still open to check out), by start."""
        now = self.clock.now()
        async with self.store.read() as conn:
            held = await slots_repo.user_signups(
                conn,
                member.id,
                kind=SlotKind.PATROL,
                after=now - CHECK_OUT_CLOSES,
                statuses=HOLDING,
            )
            wanted = [
                signup
                for signup, slot in held
                if slot.open
                and slot.ends_at + CHECK_OUT_CLOSES > now
                and signup.checked_out_at is None
            ]
            shifts = {
                s.slot.id: s for s in await repo.shifts_by_ids(conn, [w.slot_id for w in wanted])
            }
        return [(shifts[w.slot_id], w) for w in wanted if w.slot_id in shifts]

    async def my_signup(self, member: User, slot_id: int) -> Signup | None:
        async with self.store.read() as conn:
            return await slots_repo.get_signup(conn, slot_id, member.id)

    async def take(self, member: User, slot_id: int) -> Shift:
        """The member takes a place (refused by the engine: full, begun, cancelled, taken
        already, overlapping another of theirs); their reminders are set."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            shift = await self._member_shift(conn, member, slot_id)
            signup = await self.engine.take(conn, shift.slot, member)
            await self._arm_person(conn, shift.slot, signup, now)
            await self._roster_changed(conn, shift.slot.community_id, self._week_of(shift.slot))
            taken = await repo.get_shift(conn, slot_id)
            assert taken is not None
        return taken

    async def _arm_person(
        self, conn: AsyncConnection, slot: Slot, signup: Signup, now: datetime
    ) -> None:
        """A member's two reminders of a shift: the evening before, and shortly before."""
        subject = person_subject(slot.id, signup.user_id)
        payload = {"slot_id": slot.id}
        version = secrets.token_hex(6)  # a place taken again after a drop: new rows
        soon = slot.starts_at - timedelta(minutes=self.settings.patrol_remind_minutes)
        day_before = day_before_moment(slot.starts_at, self.zone)
        plan = [(KIND_SOON, soon)]
        if day_before < soon:
            plan.append((KIND_DAY_BEFORE, day_before))
        for kind, due in plan:
            if due <= now:
                continue
            await self.reminders.schedule(
                conn,
                subject=subject,
                kind=kind,
                due_at=due,
                recipient_id=signup.user_id,
                payload=payload,
                stale_after=slot.starts_at - due,
                dedupe_key=f"{kind}:{subject}:{version}",
            )

    async def cant_come(self, member: User, slot_id: int) -> SignupStatus:
        """ "I can't come": up to PATROL_DROP_HOURS before the start the place is released
        (DROPPED); later the member asks the coordinators (LEAVING, they are alerted at once,
        with a button to let them off). Raises NotOnShift, ShiftBegun, AlreadyAsked."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            shift = await self._locked(conn, await self._member_shift(conn, member, slot_id))
            slot = shift.slot
            signup = await slots_repo.get_signup(conn, slot_id, member.id)
            if signup is None or not signup.holding:
                raise NotOnShift()
            if not slot.open:
                raise ShiftCancelled()
            if now >= slot.starts_at:
                raise ShiftBegun()
            if signup.checked_in_at is not None:
                raise AlreadyCheckedIn()  # here already (an old card's button)
            if slot.starts_at - now >= timedelta(hours=self.settings.patrol_drop_hours):
                await self.engine.leave(
                    conn, slot, member, to=SignupStatus.DROPPED, reason="can't come"
                )
                await self.reminders.cancel(
                    conn, person_subject(slot_id, member.id), recurring=False
                )
                await slots_repo.close_swaps(conn, slot_id, from_user_id=member.id, now=now)
                status = SignupStatus.DROPPED
            else:
                if signup.status is SignupStatus.LEAVING:
                    raise AlreadyAsked()
                if not await slots_repo.set_signup_status(
                    conn,
                    slot_id,
                    member.id,
                    from_=[SignupStatus.GOING],
                    to=SignupStatus.LEAVING,
                    reason="can't come",
                    now=now,
                ):
                    raise AlreadyAsked()
                notice = LateDropOut(
                    member_id=member.id, member_name=member.display_name, **self._about(shift)
                )
                # At once: a late drop-out waits for nobody's quiet hours.
                await self.notifier.tell_coordinators(
                    conn,
                    notice,
                    dedupe_prefix=f"patrol:{slot_id}:late:{member.id}:{now.timestamp():.0f}",
                )
                status = SignupStatus.LEAVING
            await audit.record(
                conn,
                actor_id=member.id,
                action="patrol_shift.drop"
                if status is SignupStatus.DROPPED
                else "patrol_shift.ask_off",
                subject=f"slot:{slot_id}",
                now=now,
                community_id=slot.community_id,
            )
            await self._roster_changed(conn, slot.community_id, self._week_of(slot))
        self.notifier.wake()
        return status

    # --- swaps ------------------------------------------------------------------------------

    async def offer_swap(self, member: User, slot_id: int) -> tuple[Swap, int]:
        """The member offers their place to the community's other members who are free then;
        the first to accept takes it. The offer and how many were told."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            shift = await self._locked(conn, await self._member_shift(conn, member, slot_id))
            slot = shift.slot
            signup = await slots_repo.get_signup(conn, slot_id, member.id)
            if signup is None or signup.status is not SignupStatus.GOING:
                raise NotOnShift()
            if not slot.open:
                raise ShiftCancelled()
            if now >= slot.starts_at:
                raise ShiftBegun()
            if signup.checked_in_at is not None:
                raise AlreadyCheckedIn()
            swap = await slots_repo.insert_swap(conn, slot_id, member.id, now)
            if swap is None:
                raise SwapOpenAlready()
            on_it = [s.user_id for s in await slots_repo.signups_of(conn, slot_id, HOLDING)]
            ids = await repo.swap_candidates(
                conn, slot.community_id, slot.starts_at, slot.ends_at, exclude=[member.id, *on_it]
            )
            people = await users_repo.get_users(conn, ids)
            notice = SwapOffered(
                swap_id=swap.id, from_name=member.display_name, **self._about(shift)
            )
            told = await self.notifier.tell_all(
                conn,
                people,
                notice,
                dedupe_prefix=f"patrol:swap:{swap.id}",
                not_before=lambda person: quiet_until(person, now, self.zone),
            )
            await audit.record(
                conn,
                actor_id=member.id,
                action="patrol_shift.swap_offer",
                subject=f"slot:{slot_id}",
                now=now,
                community_id=slot.community_id,
                after={"swap_id": swap.id, "told": told},
            )
        self.notifier.wake()
        return swap, told

    async def accept_swap(self, member: User, swap_id: int) -> Shift:
        """The first member to accept takes the offered place (a guarded update: of several
        at once, one wins; the rest get SwapGone). Both are told; reminders move over."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            swap = await slots_repo.get_swap(conn, swap_id)
            if swap is None:
                raise SwapGone()
            shift = await self._locked(conn, await self._member_shift(conn, member, swap.slot_id))
            swap = await slots_repo.get_swap(conn, swap_id) or swap  # as it is, once locked
            slot = shift.slot
            if swap.from_user_id == member.id:
                raise SwapOwn()
            if swap.status is not SwapStatus.OPEN:
                raise SwapGone()
            if not slot.open:
                raise ShiftCancelled()
            if now >= slot.starts_at:
                raise ShiftBegun()
            mine = await slots_repo.get_signup(conn, slot.id, member.id)
            if mine is not None and mine.holding:
                raise AlreadyOnShift()
            theirs = await slots_repo.get_signup(conn, slot.id, swap.from_user_id)
            if theirs is None or not theirs.holding or theirs.checked_in_at is not None:
                raise SwapGone()  # the offerer came after all, or is off it already
            clash = await slots_repo.overlapping(conn, member.id, slot.starts_at, slot.ends_at)
            if clash is not None:
                raise SwapClash()
            if not await slots_repo.take_swap(conn, swap_id, member.id, now):
                raise SwapGone()
            if not await slots_repo.hand_over(conn, slot.id, swap.from_user_id, member.id, now):
                raise SwapGone()  # the offerer no longer held it: the transaction rolls back
            await self.reminders.cancel(
                conn, person_subject(slot.id, swap.from_user_id), recurring=False
            )
            signup = await slots_repo.get_signup(conn, slot.id, member.id)
            assert signup is not None
            await self._arm_person(conn, slot, signup, now)
            offerer = await users_repo.get_user(conn, swap.from_user_id)
            if offerer is not None:
                await self.notifier.tell(
                    conn,
                    offerer,
                    SwapTaken(taker_name=member.display_name, **self._about(shift)),
                    dedupe_key=f"patrol:swap:{swap_id}:taken",
                )
            await audit.record(
                conn,
                actor_id=member.id,
                action="patrol_shift.swap_take",
                subject=f"slot:{slot.id}",
                now=now,
                community_id=slot.community_id,
                before={"member_id": swap.from_user_id},
                after={"member_id": member.id, "swap_id": swap_id},
            )
            await self._roster_changed(conn, slot.community_id, self._week_of(slot))
            after = await repo.get_shift(conn, slot.id)
            assert after is not None
        self.notifier.wake()
        return after

    async def swap_open(self, swap_id: int) -> bool:
        """The offer can still be taken (for its notice, as it leaves)."""
        now = self.clock.now()
        async with self.store.read() as conn:
            swap = await slots_repo.get_swap(conn, swap_id)
            slot = await slots_repo.get_slot(conn, swap.slot_id) if swap else None
        return (
            swap is not None
            and swap.status is SwapStatus.OPEN
            and slot is not None
            and slot.open
            and now < slot.starts_at
        )

    # --- check in and out -------------------------------------------------------------------

    async def check_in(
        self,
        member: User,
        slot_id: int,
        *,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> tuple[Shift, Signup]:
        """The member checks in to their own shift, from 30 minutes before its start to its
        end (the engine refuses anyone else's, or outside the window)."""
        async with self.store.transaction() as conn:
            shift = await self._member_shift(conn, member, slot_id)
            await slots_repo.lock_slot(conn, slot_id)  # not while a swap hands the place over
            signup = await self.engine.check_in(
                conn,
                shift.slot,
                member,
                opens_before=CHECK_IN_OPENS,
                closes_after=CHECK_IN_CLOSES,
                latitude=latitude,
                longitude=longitude,
            )
            # Here after all: no longer asking to be let off (the alert's button goes), and an
            # offer of the place to others ends (taking it now would drop a member on duty).
            if signup.status is SignupStatus.LEAVING and await slots_repo.set_signup_status(
                conn,
                slot_id,
                member.id,
                from_=[SignupStatus.LEAVING],
                to=SignupStatus.GOING,
                reason=None,
                now=self.clock.now(),
            ):
                signup = signup.model_copy(update={"status": SignupStatus.GOING, "reason": None})
            await slots_repo.close_swaps(
                conn, slot_id, from_user_id=member.id, now=self.clock.now()
            )
            await self._roster_changed(conn, shift.slot.community_id, self._week_of(shift.slot))
        return shift, signup

    async def set_location(
        self, member: User, slot_id: int, latitude: float, longitude: float
    ) -> bool:
        """Where the member checked in, sent just after (optional); False when not checked
        in to it, checked out, or sent already."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            return False
        async with self.store.transaction() as conn:
            shift = await self._member_shift(conn, member, slot_id)
            signup = await slots_repo.get_signup(conn, slot_id, member.id)
            if signup is None or signup.checked_out_at is not None:
                return False
            return await slots_repo.set_location(
                conn, shift.slot.id, member.id, latitude, longitude
            )

    async def check_out(self, member: User, slot_id: int) -> tuple[Shift, Signup, int]:
        """The member checks out (until 2 hours after the end); the passbook is credited by
        the whole hours served, once. The shift, the sign-up and the hours credited."""
        async with self.store.transaction() as conn:
            shift = await self._member_shift(conn, member, slot_id)
            signup = await self.engine.check_out(
                conn, shift.slot, member, closes_after=CHECK_OUT_CLOSES
            )
            hours = await self._credit(conn, shift.slot, signup)
            await self._roster_changed(conn, shift.slot.community_id, self._week_of(shift.slot))
        return shift, signup, hours

    async def _credit(
        self, conn: AsyncConnection, slot: Slot, signup: Signup, *, out: datetime | None = None
    ) -> int:
        if out is not None:
            signup = signup.model_copy(update={"checked_out_at": out})
        hours = hours_served(minutes_served(signup, slot))
        if hours:
            await self.passbook.credit(
                conn,
                community_id=slot.community_id,
                member_ids={signup.user_id},
                kind=LedgerKind.PATROL,
                ref=shift_ref(slot.id),
                units=hours,
            )
        return hours

    # --- what the reminders do --------------------------------------------------------------

    async def _live_shift(self, conn: AsyncConnection, reminder: Reminder) -> Shift | None:
        shift = await repo.get_shift(conn, int(reminder.payload["slot_id"]))
        return shift if shift is not None and shift.slot.open else None

    async def on_member_reminder(
        self, conn: AsyncConnection, reminder: Reminder, late: bool
    ) -> None:
        shift = await self._live_shift(conn, reminder)
        if shift is None or reminder.recipient_id is None:
            return
        now = self.clock.now()
        signup = await slots_repo.get_signup(conn, shift.slot.id, reminder.recipient_id)
        member = await users_repo.get_user(conn, reminder.recipient_id)
        if signup is None or not signup.holding or member is None or now >= shift.slot.starts_at:
            return  # dropped, swapped, or begun: nothing to remind of
        soon = reminder.kind == KIND_SOON
        notice = ShiftReminder(user_id=member.id, soon=soon, late=late, **self._about(shift))
        # The evening before can wait for the end of quiet hours; an hour before cannot.
        wait = None if soon else quiet_until(member, now, self.zone)
        if wait is not None and wait >= shift.slot.starts_at:
            wait = None
        await self.notifier.tell(
            conn, member, notice, dedupe_key=reminder.dedupe_key, not_before=wait
        )

    async def on_short(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        shift = await self._live_shift(conn, reminder)
        if shift is None or shift.slot.capacity is None:
            return
        if shift.slot.taken >= shift.slot.capacity or self.clock.now() >= shift.slot.starts_at:
            return
        notice = ShiftShort(
            taken=shift.slot.taken, capacity=shift.slot.capacity, **self._about(shift)
        )
        await self.notifier.tell_coordinators(conn, notice, dedupe_prefix=reminder.dedupe_key)

    async def on_start(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        """The shift begins: swap offers still open end; next week's roster goes to the
        members' group if it has shifts and is not there yet."""
        slot_id = int(reminder.payload["slot_id"])
        await slots_repo.close_swaps(conn, slot_id, now=self.clock.now())
        shift = await repo.get_shift(conn, slot_id)
        if shift is None:
            return
        community_id = shift.slot.community_id
        monday = self.this_week() + timedelta(days=7)
        start = local_moment(monday, time(0, 0), self.zone)
        if await repo.shifts_between(
            conn, community_id, start, start + timedelta(days=7), limit=1
        ):
            await self._roster_changed(conn, community_id, monday)

    async def on_missed(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        shift = await self._live_shift(conn, reminder)
        if shift is None:
            return
        holders = await slots_repo.signups_of(conn, shift.slot.id, HOLDING)
        missed = [s.user_name or str(s.user_id) for s in holders if s.checked_in_at is None]
        if not missed:
            return
        notice = MissedShift(member_names=missed, **self._about(shift))
        await self.notifier.tell_coordinators(conn, notice, dedupe_prefix=reminder.dedupe_key)

    async def on_close(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        """The check-out window closed: whoever checked in and forgot to check out is checked
        out at the shift's scheduled end, credited up to it, and told."""
        shift = await self._live_shift(conn, reminder)
        if shift is None:
            return
        slot = shift.slot
        for signup in await slots_repo.signups_of(conn, slot.id, HOLDING):
            if signup.checked_in_at is None or signup.checked_out_at is not None:
                continue
            at = max(slot.ends_at, signup.checked_in_at)
            if not await slots_repo.check_out(conn, slot.id, signup.user_id, at=at):
                continue
            hours = await self._credit(conn, slot, signup, out=at)
            member = await users_repo.get_user(conn, signup.user_id)
            if member is not None:
                await self.notifier.tell(
                    conn,
                    member,
                    AutoCheckedOut(hours=hours, **self._about(shift)),
                    dedupe_key=f"{reminder.dedupe_key}:{member.id}",
                )
        await self._roster_changed(conn, slot.community_id, self._week_of(slot))

    # --- for the views ----------------------------------------------------------------------

    async def still_reminded(self, slot_id: int, user_id: int) -> Shift | None:
        """The shift a reminder tells of, while the member still holds a place and it has not
        begun (None: moved on; the reminder is dropped)."""
        async with self.store.read() as conn:
            shift = await repo.get_shift(conn, slot_id)
            signup = await slots_repo.get_signup(conn, slot_id, user_id)
        if (
            shift is None
            or not shift.slot.open
            or signup is None
            or not signup.holding
            or self.clock.now() >= shift.slot.starts_at
        ):
            return None
        return shift

    async def still_short(self, slot_id: int) -> Shift | None:
        """The shift a short-of-members alert tells of, while it is open, not begun and still
        short (None: filled, cancelled or begun while the alert waited)."""
        async with self.store.read() as conn:
            shift = await repo.get_shift(conn, slot_id)
        if (
            shift is None
            or not shift.slot.open
            or shift.slot.full
            or self.clock.now() >= shift.slot.starts_at
        ):
            return None
        return shift

    async def still_asking(self, slot_id: int, user_id: int) -> bool:
        async with self.store.read() as conn:
            signup = await slots_repo.get_signup(conn, slot_id, user_id)
        return signup is not None and signup.status is SignupStatus.LEAVING

    async def roster(self, community_id: int, monday: date) -> list[RosterDay]:
        """A community's shifts of a week, day by day, with who holds each place."""
        start = local_moment(monday, time(0, 0), self.zone)
        async with self.store.read() as conn:
            shifts = await repo.shifts_between(
                conn, community_id, start, start + timedelta(days=7)
            )
            signups = await slots_repo.signups_of_slots(conn, [s.slot.id for s in shifts], HOLDING)
        by_slot: dict[int, list[Signup]] = {}
        for signup in signups:
            by_slot.setdefault(signup.slot_id, []).append(signup)
        days = [RosterDay(day=monday + timedelta(days=i), shifts=[]) for i in range(7)]
        for shift in shifts:
            index = (local_day(shift.slot.starts_at, self.zone) - monday).days
            if 0 <= index < 7:
                days[index].shifts.append((shift, by_slot.get(shift.slot.id, [])))
        return days

    def this_week(self) -> date:
        return week_start(local_day(self.clock.now(), self.zone))

    # --- inside -----------------------------------------------------------------------------

    def _week_of(self, slot: Slot) -> date:
        return week_start(local_day(slot.starts_at, self.zone))

    def _about(self, shift: Shift) -> dict[str, Any]:
        return {
            "community_id": shift.slot.community_id,
            "building_id": shift.slot.building_id,
            "slot_id": shift.slot.id,
            "post_name": shift.post_name,
            "starts_at": shift.slot.starts_at,
            "ends_at": shift.slot.ends_at,
        }

    async def _roster_changed(
        self, conn: AsyncConnection, community_id: int, monday: date
    ) -> None:
        """Every roster message of that week is edited; the members' group gets the roster of
        this week or the next the first time one of its shifts changes (kept current from then
        on). Later weeks wait until they are next week (see `on_start`), not to fill the group
        with a month of rosters at once."""
        thing = roster_thing(community_id, monday)
        await self.notifier.touch(conn, thing)
        group = self.settings.members_group_id
        if group is None or community_id != self.group_community_id:
            return
        if not self.this_week() <= monday <= self.this_week() + timedelta(days=7):
            return
        await self.notifier.show_live(
            conn,
            key=f"{thing}:group",
            thing=thing,
            view=ROSTER_VIEW,
            chat_id=group,
            language=self.settings.default_language,
        )
