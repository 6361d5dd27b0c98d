"""Study sessions (学习: the small-family Party school, monthly theme days) on the slot engine.

Who may do what, checked here whatever the buttons showed:
- a coordinator schedules and cancels sessions for the community (or one building's members)
  in their reach, reads a session's check-in code and its attendance (audited: schedule,
  cancel);
- anyone in a session's audience answers (attend, or excused with a reason) until it begins,
  and checks in with the code in its window; attending credits a member's passbook once.

The audience is told through the outbox; the reminders (a day and an hour before) are rows,
one per session and stage, fanned out when they fire to those attending and those who have
not answered — never to the excused, and not at all for a session cancelled meanwhile."""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import (
    Attendance,
    LedgerKind,
    Model,
    Recurrence,
    Reminder,
    Role,
    Signup,
    SignupStatus,
    SlotKind,
    StudyAudience,
    StudySession,
    User,
)
from bot.services.errors import NotAllowed, NotFound
from bot.services.notify import Notifier, quiet_until
from bot.services.passbook import PassbookService
from bot.services.reminders import ReminderService
from bot.services.scope import require_coordinator, require_covers, working_community
from bot.services.slots import (
    AlreadyCheckedIn,
    OutsideWindow,
    SlotEngine,
    local,
    repeat,
    slot_subject,
)
from bot.services.study.notices import (
    SessionAnnounced,
    SessionCancelled,
    SessionReminder,
    Stage,
)
from bot.services.study.rules import (
    ANNOUNCE_AHEAD,
    CHECK_IN_AFTER,
    CHECK_IN_BEFORE,
    LINK_MAX,
    MAX_WRONG_TRIES,
    PLACE_MAX,
    REASON_MAX,
    REMIND_DAY,
    REMIND_HOUR,
    REPEATS,
    TITLE_MAX,
    TOPIC_MAX,
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
    new_code,
    study_ref,
)
from bot.services.text import fold_text
from storage import audit, org
from storage import slots as slots_repo
from storage import study as repo
from storage import users as users_repo
from storage.store import Store

KIND_ANNOUNCE = "study.announce"  # a session of a series told to its audience a week ahead
KIND_REMIND = "study.remind"  # the day before and the hour before, fanned out when due


class SessionDraft(Model):
    """What a coordinator enters to schedule a session (times aware, any zone)."""

    title: str
    topic: str | None = None
    starts_at: datetime
    ends_at: datetime
    place: str | None = None
    link: str | None = None
    material_file_id: str | None = None
    material_name: str | None = None
    material_link: str | None = None
    audience: StudyAudience = StudyAudience.MEMBERS
    building_id: int | None = None  # the building whose members (audience BUILDING)
    community_id: int | None = None  # None: the coordinator's working community
    recurrence: Recurrence = Recurrence.ONCE


class MySession(Model):
    """A session open to the viewer, with their answer (None: not answered)."""

    session: StudySession
    signup: Signup | None = None


class SessionRoll(Model):
    """Who attended a session, who was excused (and why), who is absent so far."""

    session: StudySession
    attended: list[str] = Field(default_factory=list)
    excused: list[tuple[str, str]] = Field(default_factory=list)
    going: list[str] = Field(default_factory=list)  # said they attend, not checked in (yet)
    absent: int = 0  # the audience with neither a check-in nor an excuse

    @property
    def counts(self) -> Attendance:
        return Attendance(
            attended=len(self.attended), excused=len(self.excused), absent=self.absent
        )


class AttendanceReport(Model):
    """Attendance over a period: per session and per person (attended, excused, absent)."""

    sessions: dict[int, Attendance] = Field(default_factory=dict)
    members: dict[int, Attendance] = Field(default_factory=dict)


def _link(text: str | None) -> str | None:
    link = fold_text(text, LINK_MAX)
    if link is not None and not link.lower().startswith(("http://", "https://")):
        raise BadLink()
    return link


@dataclass
class StudyService:
    store: Store
    settings: Settings
    clock: Clock
    notifier: Notifier
    reminders: ReminderService
    passbook: PassbookService
    engine: SlotEngine

    def register_reminders(self, reminders: ReminderService) -> None:
        reminders.on(KIND_ANNOUNCE, self.on_announce)
        reminders.on(KIND_REMIND, self.on_remind)

    # --- scheduling ---------------------------------------------------------------------------

    async def schedule(self, actor: User, draft: SessionDraft) -> list[StudySession]:
        """A coordinator schedules a session (a recurring one: `REPEATS` sessions in one
        step) for the community, its members or one building's members in their reach; the
        audience is told (each later session a week before it), the reminders set; audited.
        Raises TitleRequired, WhereRequired, BadLink, BuildingRequired, TextTooLong and the
        engine's SlotInPast, EndBeforeStart, SlotTooLong; NotFound outside the reach."""
        require_coordinator(actor)
        title = fold_text(draft.title, TITLE_MAX)
        if title is None:
            raise TitleRequired()
        place, link = fold_text(draft.place, PLACE_MAX), _link(draft.link)
        if place is None and link is None:
            raise WhereRequired()
        recurrence = Recurrence(draft.recurrence)
        if recurrence not in REPEATS:
            raise NotAllowed()
        times = repeat(
            draft.starts_at, draft.ends_at, recurrence, REPEATS[recurrence], self.settings.zone
        )
        now = self.clock.now()
        async with self.store.transaction() as conn:
            community_id, building_id = await self._where(conn, actor, draft)
            made = await self.engine.create(
                conn,
                kind=SlotKind.STUDY,
                community_id=community_id,
                building_id=building_id,
                times=times,
                capacity=None,
                actor_id=actor.id,
            )
            await repo.insert_sessions(
                conn,
                [(slot.id, new_code()) for slot in made],
                title=title,
                topic=fold_text(draft.topic, TOPIC_MAX),
                place=place,
                link=link,
                material_file_id=draft.material_file_id,
                material_name=fold_text(draft.material_name, PLACE_MAX),
                material_link=_link(draft.material_link),
                audience=draft.audience,
                recurrence=recurrence,
            )
            sessions = [await self._get(conn, slot.id) for slot in made]
            for index, session in enumerate(sessions):
                await self._arm(conn, session, first=index == 0, repeats=len(sessions))
            first = sessions[0]
            await audit.record(
                conn,
                actor_id=actor.id,
                action="study.schedule",
                subject=f"study:{first.slot.id}",
                now=now,
                community_id=community_id,
                after={
                    "title": title,
                    "starts_at": first.slot.starts_at.isoformat(),
                    "ends_at": first.slot.ends_at.isoformat(),
                    "audience": draft.audience.value,
                    "building_id": building_id,
                    "recurrence": recurrence.value,
                    "sessions": len(sessions),
                },
            )
        self.notifier.wake()
        return sessions

    async def _where(
        self, conn: AsyncConnection, actor: User, draft: SessionDraft
    ) -> tuple[int, int | None]:
        if draft.audience is StudyAudience.BUILDING:
            if draft.building_id is None:
                raise BuildingRequired()
            building = await org.get_building(conn, draft.building_id)
            if building is None or building.archived:
                raise NotFound()
            require_covers(actor, building.community_id, building.id)
            return building.community_id, building.id
        return working_community(actor, draft.community_id), None

    async def _arm(
        self, conn: AsyncConnection, session: StudySession, *, first: bool, repeats: int
    ) -> None:
        """Announce the session (the first of a series now, with how many follow; each later
        one a week before it) and set its two reminders."""
        slot, now = session.slot, self.clock.now()
        subject = slot_subject(slot.id)
        announce_at = slot.starts_at - ANNOUNCE_AHEAD
        if first or announce_at <= now:
            await self._announce(conn, session, repeats=repeats if first else 1)
        else:
            await self.reminders.schedule(
                conn,
                subject=subject,
                kind=KIND_ANNOUNCE,
                due_at=announce_at,
                payload={"slot_id": slot.id},
                dedupe_key=f"study:{slot.id}:announce",
            )
        for stage, ahead in ((Stage.DAY, REMIND_DAY), (Stage.HOUR, REMIND_HOUR)):
            due_at = slot.starts_at - ahead
            if due_at <= now:
                continue  # scheduled less than a day (an hour) ahead: the announcement does
            await self.reminders.schedule(
                conn,
                subject=subject,
                kind=KIND_REMIND,
                due_at=due_at,
                payload={"slot_id": slot.id, "stage": stage.value},
                # Fired for a session already begun (the bot was down) it does nothing.
                stale_after=ahead,
                dedupe_key=f"study:{slot.id}:{stage.value}",
            )

    def _notice_place(self, session: StudySession) -> dict[str, Any]:
        return {
            "community_id": session.slot.community_id,
            "building_id": session.slot.building_id,
            "slot_id": session.slot.id,
        }

    async def _announce(self, conn: AsyncConnection, session: StudySession, repeats: int) -> int:
        people = await users_repo.get_users(conn, await repo.audience_ids(conn, session.slot.id))
        now, zone = self.clock.now(), self.settings.zone
        return await self.notifier.tell_all(
            conn,
            people,
            SessionAnnounced(repeats=repeats, **self._notice_place(session)),
            dedupe_prefix=f"study:{session.slot.id}:announce",
            not_before=lambda person: quiet_until(person, now, zone),
        )

    async def cancel(self, actor: User, slot_id: int) -> StudySession:
        """A coordinator in reach cancels one session before it ends; those attending and
        those who had not answered are told; its reminders are cancelled; audited."""
        require_coordinator(actor)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            session = await self._coordinated(conn, actor, slot_id)
            if session.slot.ends_at <= now or not await slots_repo.cancel_slot(conn, slot_id, now):
                raise SessionOver()
            await self.reminders.cancel(conn, slot_subject(slot_id), recurring=False)
            told = await self._reminded(conn, slot_id)
            await self.notifier.tell_all(
                conn,
                await users_repo.get_users(conn, told),
                SessionCancelled(
                    title=session.title,
                    starts_at=session.slot.starts_at,
                    **self._notice_place(session),
                ),
                dedupe_prefix=f"study:{slot_id}:cancelled",
            )
            await audit.record(
                conn,
                actor_id=actor.id,
                action="study.cancel",
                subject=f"study:{slot_id}",
                now=now,
                community_id=session.slot.community_id,
                before={"title": session.title, "starts_at": session.slot.starts_at.isoformat()},
            )
            session = await self._get(conn, slot_id)
        self.notifier.wake()
        return session

    # --- reading ------------------------------------------------------------------------------

    async def _get(self, conn: AsyncConnection, slot_id: int) -> StudySession:
        session = await repo.get_session(conn, slot_id)
        if session is None:
            raise NoSuchSession()
        return session

    async def _coordinated(self, conn: AsyncConnection, actor: User, slot_id: int) -> StudySession:
        session = await self._get(conn, slot_id)
        try:
            require_covers(actor, session.slot.community_id, session.slot.building_id)
        except NotFound:
            raise NoSuchSession() from None
        return session

    async def _open_to(self, conn: AsyncConnection, user: User, slot_id: int) -> StudySession:
        """The session, when the user is in its audience (else NoSuchSession)."""
        session = await self._get(conn, slot_id)
        if not await repo.in_audience(conn, slot_id, user.id):
            raise NoSuchSession()
        return session

    async def session(self, viewer: User, slot_id: int) -> StudySession:
        """A session, for its audience and the coordinators in reach."""
        async with self.store.read() as conn:
            session = await self._get(conn, slot_id)
            if viewer.covers(session.slot.community_id, session.slot.building_id):
                return session
            return await self._open_to(conn, viewer, slot_id)

    async def for_notice(self, slot_id: int) -> StudySession | None:
        """The session a notice tells of, while it is still open (None: cancelled)."""
        async with self.store.read() as conn:
            session = await repo.get_session(conn, slot_id)
        return session if session is not None and session.slot.open else None

    async def mine(self, viewer: User) -> list[MySession]:
        """The sessions open to the viewer not yet ended, by start, with their answer."""
        now = self.clock.now()
        async with self.store.read() as conn:
            sessions = await repo.sessions_open_to(conn, viewer, after=now)
            signups = {
                s.slot_id: s
                for s in await slots_repo.signups_of_slots(conn, [x.slot.id for x in sessions])
                if s.user_id == viewer.id
            }
        return [MySession(session=s, signup=signups.get(s.slot.id)) for s in sessions]

    async def my_answer(self, viewer: User, slot_id: int) -> MySession:
        async with self.store.read() as conn:
            session = await self._open_to(conn, viewer, slot_id)
            signup = await slots_repo.get_signup(conn, slot_id, viewer.id)
        return MySession(session=session, signup=signup)

    async def coordinated(
        self, actor: User, community_id: int | None = None
    ) -> list[StudySession]:
        """The sessions in the coordinator's reach not yet ended (those cancelled too)."""
        reach = require_coordinator(actor)
        now = self.clock.now()
        async with self.store.read() as conn:
            found = await repo.sessions_between(
                conn,
                community_ids=[community_id] if community_id else reach.community_ids,
                start=now,
                end=datetime.max.replace(tzinfo=now.tzinfo),
                include_cancelled=True,
                limit=50,
            )
        return [s for s in found if actor.covers(s.slot.community_id, s.slot.building_id)]

    def window(self, session: StudySession) -> tuple[datetime, datetime]:
        return self.engine.window(session.slot, CHECK_IN_BEFORE, CHECK_IN_AFTER)

    def in_window(self, session: StudySession) -> bool:
        opens, closes = self.window(session)
        return opens <= self.clock.now() <= closes

    async def code(self, actor: User, slot_id: int) -> tuple[StudySession, str]:
        """The session's check-in code, for a coordinator in reach."""
        require_coordinator(actor)
        async with self.store.read() as conn:
            session = await self._coordinated(conn, actor, slot_id)
            code = await repo.session_code(conn, slot_id)
        assert code is not None
        return session, code

    # --- answers ------------------------------------------------------------------------------

    async def answer(
        self, user: User, slot_id: int, *, going: bool, reason: str | None = None
    ) -> Signup:
        """Someone in the audience attends, or is excused with a reason; the answer may change
        until the session begins."""
        why = None
        if not going:
            why = fold_text(reason, REASON_MAX)
            if why is None:
                raise ExcuseReasonRequired()
        now = self.clock.now()
        async with self.store.transaction() as conn:
            session = await self._open_to(conn, user, slot_id)
            if not session.slot.open or session.slot.starts_at <= now:
                raise SessionOver()
            mine = await slots_repo.get_signup(conn, slot_id, user.id)
            if mine is not None and mine.checked_in_at is not None:
                raise AlreadyCheckedIn()  # checked in early: the answer is given
            status = SignupStatus.GOING if going else SignupStatus.EXCUSED
            return await slots_repo.answer(conn, slot_id, user.id, status, why, now)

    # --- check-in -----------------------------------------------------------------------------

    async def check_in(self, user: User, slot_id: int, code: str) -> tuple[Signup, int]:
        """Check in to a session of one's audience with its code, in its window; a member is
        credited once. The signup and the points credited (0: none, or credited before).
        Raises OutsideWindow (with the window in local time), WrongCode (how many tries
        left; counted), TooManyTries, AlreadyCheckedIn, NoSuchSession."""
        async with self.store.read() as conn:
            session = await self._open_to(conn, user, slot_id)
            if not session.slot.open:
                raise SessionOver()
        if not self.in_window(session):
            opens, closes = self.window(session)
            zone = self.settings.zone
            raise OutsideWindow(opens=local(opens, zone), closes=local(closes, zone))
        _session, signup, points = await self._attempt(user, [session], code)
        return signup, points

    async def _attempt(
        self, user: User, sessions: list[StudySession], code: str
    ) -> tuple[StudySession, Signup, int]:
        """The code tried on these sessions (in their window, of the user's audience): checked
        in to the one whose code it is, else one wrong try counted on each. One transaction
        with the sessions' rows locked (in id order): concurrent tries of the same person run
        one after the other, each seeing the counts the one before left, so the cap holds
        per session however many are sent at once, and by button or /attend alike. A
        session whose tries are used up is not compared at all."""
        done: tuple[StudySession, Signup, int] | None = None
        left: int | None = None
        still_open = False
        async with self.store.transaction() as conn:
            live: list[StudySession] = []
            for session in sorted(sessions, key=lambda s: s.slot.id):
                slot = await slots_repo.lock_slot(conn, session.slot.id)
                if slot is None or not slot.open:
                    continue  # cancelled meanwhile
                still_open = True
                if await repo.wrong_tries(conn, slot.id, user.id) < MAX_WRONG_TRIES:
                    live.append(session)
            for session in live:
                right = await repo.session_code(conn, session.slot.id)
                if right is not None and _same(code, right):
                    done = (session, *await self._checked_in(conn, user, session))
                    break
            else:
                for session in live:
                    tries = await repo.add_wrong_try(conn, session.slot.id, user.id)
                    left = max(left or 0, MAX_WRONG_TRIES - tries)
        if done is not None:
            self.notifier.wake()
            return done
        if not still_open:
            raise SessionOver()
        if not left:
            raise TooManyTries()
        raise WrongCode(left=left)

    async def _checked_in(
        self, conn: AsyncConnection, user: User, session: StudySession
    ) -> tuple[Signup, int]:
        signup = await self.engine.check_in(
            conn,
            session.slot,
            user,
            opens_before=CHECK_IN_BEFORE,
            closes_after=CHECK_IN_AFTER,
            require_signup=False,
        )
        points = 0
        if user.has(Role.MEMBER):
            made = await self.passbook.credit(
                conn,
                community_id=session.slot.community_id,
                member_ids={user.id},
                kind=LedgerKind.STUDY,
                ref=study_ref(session.slot.id),
            )
            if made:
                points = await self.passbook.points_for(
                    conn, session.slot.community_id, LedgerKind.STUDY
                )
        return signup, points

    async def check_in_by_code(self, user: User, code: str) -> tuple[StudySession, Signup, int]:
        """`/attend <code>`: check in to the session of one's audience open for check-in now
        whose code it is. Raises NoSessionNow, WrongCode, TooManyTries, AlreadyCheckedIn."""
        now = self.clock.now()
        async with self.store.read() as conn:
            candidates = [
                s
                for s in await repo.sessions_open_to(conn, user, after=now - CHECK_IN_AFTER)
                if self.in_window(s)
            ]
        if not candidates:
            # A session of theirs whose window has closed, when the code was its own (useless
            # now): say when it was. One not yet open is named whatever was typed, so codes
            # cannot be tried out, uncounted, before the window.
            async with self.store.read() as conn:
                recent = await repo.sessions_open_to(conn, user, after=now - timedelta(days=1))
                zone = self.settings.zone
                for session in recent:
                    opens, closes = self.window(session)
                    if closes < now:
                        right = await repo.session_code(conn, session.slot.id)
                        told = right is not None and _same(code, right)
                    else:
                        told = opens - now <= timedelta(days=1)
                    if told:
                        raise OutsideWindow(opens=local(opens, zone), closes=local(closes, zone))
            raise NoSessionNow()
        return await self._attempt(user, candidates, code)

    # --- attendance ---------------------------------------------------------------------------

    async def roll(self, actor: User, slot_id: int) -> SessionRoll:
        """A session's attendance for a coordinator in reach."""
        require_coordinator(actor)
        async with self.store.read() as conn:
            session = await self._coordinated(conn, actor, slot_id)
            signups = await slots_repo.signups_of(conn, slot_id)
            audience = set(await repo.audience_ids(conn, slot_id))
        attended: list[str] = []
        excused: list[tuple[str, str]] = []
        going: list[str] = []
        accounted: set[int] = set()
        for s in signups:
            name = s.user_name or str(s.user_id)
            if s.checked_in_at is not None:
                attended.append(name)
            elif s.status is SignupStatus.EXCUSED:
                excused.append((name, s.reason or ""))
            elif s.status is SignupStatus.GOING:
                going.append(name)
                continue
            accounted.add(s.user_id)
        return SessionRoll(
            session=session,
            attended=attended,
            excused=excused,
            going=going,
            absent=len(audience - accounted),
        )

    async def attendance(
        self,
        viewer: User,
        start: datetime,
        end: datetime,
        *,
        community_id: int | None = None,
        building_id: int | None = None,
    ) -> AttendanceReport:
        """Attendance of the sessions that started in [start, end) and have ended, per
        session and per person in their audience (attended, excused, absent), for a
        coordinator in reach (a building's: the sessions for its members and for its whole
        community, counting its people only)."""
        reach = require_coordinator(viewer)
        if building_id is not None:
            async with self.store.read() as conn:
                building = await org.get_building(conn, building_id)
            if building is None:
                raise NotFound()
            require_covers(viewer, building.community_id, building.id)
            communities: Collection[int] = [building.community_id]
        elif community_id is not None:
            require_covers(viewer, community_id)
            communities = [community_id]
        else:
            communities = reach.community_ids
        now = self.clock.now()
        sessions_found: dict[int, list[int]] = {}
        people: dict[int, list[int]] = {}
        async with self.store.read() as conn:
            sessions = await repo.sessions_between(
                conn,
                community_ids=communities,
                start=start,
                end=end,
                building_id=building_id,
                limit=10_000,
            )
            sessions = [s for s in sessions if s.slot.starts_at >= start and s.slot.ends_at <= now]
            for session in sessions:
                slot_id = session.slot.id
                audience = set(await repo.audience_ids(conn, slot_id))
                if building_id is not None:
                    found = await users_repo.get_users(conn, audience)
                    audience = {p.id for p in found if p.building_id == building_id}
                signups = {s.user_id: s for s in await slots_repo.signups_of(conn, slot_id)}
                if building_id is None:
                    audience |= set(signups)  # checked in or excused, out of it since
                tally = [0, 0, 0]
                for person in sorted(audience):
                    which = _which(signups.get(person))
                    tally[which] += 1
                    people.setdefault(person, [0, 0, 0])[which] += 1
                sessions_found[slot_id] = tally
        return AttendanceReport(
            sessions={k: _attendance(v) for k, v in sessions_found.items()},
            members={k: _attendance(v) for k, v in people.items()},
        )

    # --- reminders ----------------------------------------------------------------------------

    async def _reminded(self, conn: AsyncConnection, slot_id: int) -> list[int]:
        """Those attending and those in the audience who have not answered."""
        going = await slots_repo.signups_of(conn, slot_id, [SignupStatus.GOING])
        return sorted({s.user_id for s in going} | set(await repo.unanswered_ids(conn, slot_id)))

    async def on_announce(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        session = await repo.get_session(conn, int(reminder.payload["slot_id"]))
        if session is None or not session.slot.open or session.slot.starts_at <= self.clock.now():
            return
        await self._announce(conn, session, repeats=1)

    async def on_remind(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        session = await repo.get_session(conn, int(reminder.payload["slot_id"]))
        now = self.clock.now()
        if session is None or not session.slot.open or session.slot.starts_at <= now:
            return  # cancelled, or begun while the bot was down
        stage = Stage(reminder.payload["stage"])
        people = await users_repo.get_users(conn, await self._reminded(conn, session.slot.id))
        zone = self.settings.zone
        await self.notifier.tell_all(
            conn,
            people,
            SessionReminder(stage=stage, **self._notice_place(session)),
            dedupe_prefix=reminder.dedupe_key,
            # The day before waits for the end of quiet hours; an hour before cannot wait.
            not_before=(lambda person: quiet_until(person, now, zone))
            if stage is Stage.DAY
            else None,
        )


def _which(signup: Signup | None) -> int:
    """0 attended (checked in), 1 excused, 2 absent."""
    if signup is not None and signup.checked_in_at is not None:
        return 0
    if signup is not None and signup.status is SignupStatus.EXCUSED:
        return 1
    return 2


def _attendance(tally: list[int]) -> Attendance:
    return Attendance(attended=tally[0], excused=tally[1], absent=tally[2])


def _same(typed: str, right: str) -> bool:
    """The typed code is the right one (full-width digits and spaces forgiven)."""
    cleaned = "".join(unicodedata.normalize("NFKC", typed).split())
    return secrets.compare_digest(cleaned.encode(), right.encode())
