"""The handshake at the door: each claim gives the wish a fresh random code that only its
resident sees (their card, the "someone will help" notice). The contract: the work is reported
done first; the code confirms it within the same visit; walking away loses nothing.

When the helper sends their done note, the wish is done at once (note, photo, voice note kept)
and the resident's usual "done, please confirm?" is queued to leave after `HANDSHAKE_GRACE`.
The resident tells the helper the code; typed (at the code prompt, or as the note itself) it
confirms the wish in one guarded UPDATE, crediting the passbook once like the resident's own
confirmation, and the waiting request is dropped as it leaves. A helper with no code has the
request sent now; one who walks away has it sent after the grace. Wrong codes are counted in a
guarded UPDATE, per wish across its claims; after `HANDSHAKE_TRIES` the code locks for good,
the coordinators are told, and the resident is asked to confirm now. A wish posted on
someone's behalf has no code: whoever posted it (or a coordinator) confirms."""

from __future__ import annotations

import logging
import secrets
import string
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import N_, Handshake, User, Wish, WishEventKind, WishStatus
from bot.services.errors import InvalidInput
from bot.services.lifecycle import Party
from bot.services.text import trim_text
from bot.services.wishes.completion import WishCompletion
from bot.services.wishes.notices import HandshakeLocked, WishConfirmed, WishConfirmedByCode
from bot.services.wishes.rules import (
    HANDSHAKE_DIGITS,
    HANDSHAKE_GRACE,
    HANDSHAKE_TRIES,
    NOTE_MAX,
    WISH_LIFECYCLE,
    NoHandshake,
    NotYourTask,
    WishChanged,
    subject_of,
)
from storage import users as users_repo
from storage import wishes as repo

log = logging.getLogger(__name__)

# The note on the CONFIRMED event of a wish confirmed by its code (never the code itself).
HANDSHAKE_NOTE = "handshake"
_HELPS = frozenset({Party.HANDLER, Party.ASSIGNEE})  # those who came to the door
# The code is shown while it can be given: in hand, and once reported done until confirmed.
_IN_HAND = frozenset({WishStatus.CLAIMED, WishStatus.DONE})
# A code typed again this long after it confirmed a wish is answered with that wish.
ECHO_WINDOW = timedelta(hours=1)


def fresh_code(wish: Wish) -> str | None:
    """A new random code for a new claim (never derived from the wish); none for a wish
    posted on someone's behalf."""
    if wish.is_proxy:
        return None
    return "".join(secrets.choice(string.digits) for _ in range(HANDSHAKE_DIGITS))


def read_code(text: str | None) -> str:
    """The code as typed: its digits (full-width ones too), spaces left out."""
    typed = unicodedata.normalize("NFKC", text or "").replace(" ", "")
    if len(typed) != HANDSHAKE_DIGITS or not (typed.isascii() and typed.isdigit()):
        raise InvalidInput(
            N_("Please type the {digits} digits of the confirmation code."),
            digits=HANDSHAKE_DIGITS,
        )
    return typed


async def owner_code(
    conn: AsyncConnection, actor: User, wish: Wish, *, claimed_by: int | None = None
) -> str | None:
    """The code, for the resident who posted the wish alone (not for whoever posted it on
    someone's behalf), while it is in hand — by `claimed_by`, when given — and still works."""
    if wish.posted_by != actor.id or wish.is_proxy or wish.status not in _IN_HAND:
        return None
    if claimed_by is not None and wish.claimed_by != claimed_by:
        return None
    found = await repo.handshake_of(conn, wish.id)
    return found.code if found is not None and not found.locked else None


class HandshakeOutcome(StrEnum):
    REPORTED = "reported"  # reported done, the resident asked to confirm: no code to take
    CODE_NEXT = "code_next"  # reported done; the code may follow, else the resident is asked
    CONFIRMED = "confirmed"  # the right code: confirmed at once
    ALREADY = "already"  # confirmed before (a retry, the resident, a restart in between)
    WRONG = "wrong"  # counted; `tries_left` more
    LOCKED = "locked"  # too many wrong codes: the resident is asked to confirm now


@dataclass(frozen=True)
class HandshakeResult:
    outcome: HandshakeOutcome
    wish: Wish
    tries_left: int = 0


def _as_code(text: str | None) -> str | None:
    """The text, when it is a code on its own (the 4 digits typed as the done note)."""
    try:
        return read_code(text)
    except InvalidInput:
        return None


def _works(wish: Wish, found: Handshake | None) -> bool:
    """The wish has a code the helper may still give."""
    return not wish.is_proxy and found is not None and found.code is not None and not found.locked


class WishHandshake(WishCompletion):
    async def report_done_first(
        self,
        actor: User,
        wish_id: int,
        *,
        note: str | None,
        photo_file_id: str | None = None,
        voice_file_id: str | None = None,
    ) -> HandshakeResult:
        """The helper reports the wish done. Without a working code the resident is asked to
        confirm now (REPORTED); with one, after `HANDSHAKE_GRACE` unless the code confirms it
        first (CODE_NEXT). A note that is a code on its own is taken as the code (never kept
        as a note): the outcome of `done_with_code`."""
        typed = _as_code(note) if photo_file_id is None and voice_file_id is None else None
        note_text = trim_text(note, NOTE_MAX, required=False)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            works = _works(wish, await repo.handshake_of(conn, wish_id))
            if works and typed is not None:
                note_text = None
            done = await self._report(
                conn,
                actor,
                wish,
                now=now,
                note=note_text,
                photo_file_id=photo_file_id,
                voice_file_id=voice_file_id,
                ask_after=now + HANDSHAKE_GRACE if works else None,
            )
            if not works:
                result = HandshakeResult(HandshakeOutcome.REPORTED, done)
            elif typed is None:
                result = HandshakeResult(HandshakeOutcome.CODE_NEXT, done)
            else:
                result = await self._give_code(conn, done, typed, actor=actor, now=now)
        self.notifier.wake()
        return result

    async def handshake_code(
        self, actor: User, wish_id: int, *, claimed_by: int | None = None
    ) -> str | None:
        """The code for the resident's own card or notice (see `owner_code`); None for
        anyone else."""
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id, actor)
            return await owner_code(conn, actor, wish, claimed_by=claimed_by)

    async def confirmed_by_code_lately(self, actor: User) -> int | None:
        """The wish the actor confirmed by its code within `ECHO_WINDOW`, if any: the code
        typed again (sent twice, or after a restart) is answered with it."""
        since = self.clock.now() - ECHO_WINDOW
        async with self.store.read() as conn:
            return await repo.last_confirmed_by(conn, actor.id, note=HANDSHAKE_NOTE, since=since)

    async def done_with_code(self, actor: User, wish_id: int, code: str | None) -> HandshakeResult:
        """The code the resident gave, typed by the helper after reporting the wish done: the
        right one confirms it at once (credited once, however often it is typed); a wrong one
        is counted, and the last allowed locks the code, tells the coordinators and asks the
        resident to confirm now."""
        typed = read_code(code)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            parties = await self._parties_in(conn, actor, wish)
            if wish.status == WishStatus.CONFIRMED and parties & _HELPS:
                return HandshakeResult(HandshakeOutcome.ALREADY, wish)
            if not parties & WISH_LIFECYCLE.who_may(WishEventKind.DONE):
                raise NotYourTask()
            if wish.status != WishStatus.DONE:
                # Sent back as not done, given back, or moved on some other way meanwhile.
                raise self._wrong_state(wish, WishEventKind.CONFIRMED)
            result = await self._give_code(conn, wish, typed, actor=actor, now=now)
        self.notifier.wake()
        return result

    async def ask_resident_now(self, actor: User, wish_id: int) -> Wish:
        """The helper has no code: the resident's "done, please confirm?" leaves now instead of
        after the grace (nothing when the wish was confirmed meanwhile). The wish as it is."""
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            parties = await self._parties_in(conn, actor, wish)
            if wish.status == WishStatus.CONFIRMED and parties & _HELPS:
                return wish
            if not parties & WISH_LIFECYCLE.who_may(WishEventKind.DONE):
                raise NotYourTask()
            if wish.status != WishStatus.DONE:
                raise self._wrong_state(wish, WishEventKind.CONFIRMED)
            await self._ask_now(conn, wish_id)
        self.notifier.wake()
        return wish

    async def _give_code(
        self, conn: AsyncConnection, wish: Wish, typed: str, *, actor: User, now: datetime
    ) -> HandshakeResult:
        """A code for the wish just reported done, in the caller's transaction."""
        found = await repo.handshake_of(conn, wish.id)
        if wish.is_proxy or found is None or found.code is None:
            raise NoHandshake(id=wish.id)
        if found.locked:
            await self._ask_now(conn, wish.id)
            return HandshakeResult(HandshakeOutcome.LOCKED, wish)
        if secrets.compare_digest(found.code, typed):
            return await self._confirm_by_code(conn, wish, typed, actor=actor, now=now)
        return await self._wrong_code(conn, wish, typed, actor=actor)

    async def _confirm_by_code(
        self, conn: AsyncConnection, wish: Wish, typed: str, *, actor: User, now: datetime
    ) -> HandshakeResult:
        """Confirmed in the caller's transaction: the CONFIRMED event, the credits, the
        resident and the other helpers told (the resident's waiting "please confirm?" is
        dropped as it leaves: the wish no longer awaits it)."""
        assert wish.claimed_by is not None  # a wish reported done is in someone's hands
        if not await repo.confirm_by_handshake(
            conn, wish.id, code=typed, held_by=wish.claimed_by, now=now
        ):
            # Moved on since it was read: on PostgreSQL, maybe by the same code typed twice at
            # once, or by the resident's own confirmation.
            now_is = await self._get(conn, wish.id)
            if now_is.status == WishStatus.CONFIRMED:
                return HandshakeResult(HandshakeOutcome.ALREADY, now_is)
            raise self._wrong_state(now_is, WishEventKind.CONFIRMED)
        # The code is the resident's word that it is done: their move, made for them.
        confirm = self._move(wish, WishEventKind.CONFIRMED, frozenset({Party.OWNER}))
        confirmed = await self._credit_confirmed(
            conn, wish, confirm, actor=actor, now=now, note=HANDSHAKE_NOTE
        )
        await self._tell_owner(conn, confirmed, WishConfirmedByCode(wish=confirmed))
        ids = {confirmed.claimed_by, *await repo.assignees(conn, wish.id)} - {actor.id, None}
        others = await users_repo.get_users(conn, {i for i in ids if i is not None})
        await self.notifier.tell_all(conn, others, WishConfirmed(wish=confirmed))
        log.info("wish_id=%s confirmed by handshake, user_id=%s", wish.id, actor.id)
        return HandshakeResult(HandshakeOutcome.CONFIRMED, confirmed)

    async def _wrong_code(
        self, conn: AsyncConnection, wish: Wish, typed: str, *, actor: User
    ) -> HandshakeResult:
        """Count the wrong code; at the last allowed, lock it, tell the coordinators and ask
        the resident to confirm now."""
        assert wish.claimed_by is not None
        tries = await repo.wrong_handshake(
            conn, wish.id, code=typed, held_by=wish.claimed_by, limit=HANDSHAKE_TRIES
        )
        if tries is None:
            # Another try locked it between our read and this count, or the wish moved on.
            now_is = await repo.handshake_of(conn, wish.id)
            if now_is is not None and now_is.locked:
                await self._ask_now(conn, wish.id)
                return HandshakeResult(HandshakeOutcome.LOCKED, wish)
            raise WishChanged()
        if tries < HANDSHAKE_TRIES:
            return HandshakeResult(HandshakeOutcome.WRONG, wish, HANDSHAKE_TRIES - tries)
        log.warning("wish_id=%s handshake locked after wrong codes, user_id=%s", wish.id, actor.id)
        claim = wish.claimed_at.isoformat() if wish.claimed_at else "-"
        await self.notifier.tell_coordinators(
            conn,
            HandshakeLocked(wish=wish, member=actor.display_name, tries=tries),
            dedupe_prefix=f"{subject_of(wish.id)}:handshake_locked:{claim}",
        )
        await self._ask_now(conn, wish.id)
        return HandshakeResult(HandshakeOutcome.LOCKED, wish)
