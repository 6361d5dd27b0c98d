"""The handshake at the door: each claim gives the wish a fresh random code that only its
resident sees (their card, the "someone will help" notice). When the work is done the resident
tells the helper the code; the helper types it while reporting done, and the wish is done and
confirmed at once, in one transaction, crediting the passbook like the resident's own
confirmation. Wrong codes are counted in a guarded UPDATE, per wish across its claims; after
`HANDSHAKE_TRIES` the code locks for good, the coordinators are told, and the resident confirms
as usual. A wish posted on
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

from bot.models import N_, User, Wish, WishEventKind, WishStatus
from bot.services.errors import InvalidInput
from bot.services.lifecycle import Party
from bot.services.wishes.completion import WishCompletion
from bot.services.wishes.core import Move
from bot.services.wishes.drafts import clean_text
from bot.services.wishes.notices import HandshakeLocked, WishConfirmed, WishConfirmedByCode
from bot.services.wishes.rules import (
    HANDSHAKE_DIGITS,
    HANDSHAKE_TRIES,
    NOTE_MAX,
    NoHandshake,
    WishChanged,
    subject_of,
)
from storage import users as users_repo
from storage import wishes as repo

log = logging.getLogger(__name__)

# The note on the CONFIRMED event of a wish confirmed by its code (never the code itself).
HANDSHAKE_NOTE = "handshake"
_HELPS = frozenset({Party.HANDLER, Party.ASSIGNEE})  # those who may report it done
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
    if wish.posted_by != actor.id or wish.is_proxy or wish.status != WishStatus.CLAIMED:
        return None
    if claimed_by is not None and wish.claimed_by != claimed_by:
        return None
    found = await repo.handshake_of(conn, wish.id)
    return found.code if found is not None and not found.locked else None


class HandshakeOutcome(StrEnum):
    CONFIRMED = "confirmed"  # the right code: done and confirmed at once
    ALREADY = "already"  # confirmed before (a retry, the resident, a restart in between)
    WRONG = "wrong"  # counted; `tries_left` more
    LOCKED = "locked"  # too many wrong codes: the resident confirms as usual


@dataclass(frozen=True)
class HandshakeResult:
    outcome: HandshakeOutcome
    wish: Wish
    tries_left: int = 0


class WishHandshake(WishCompletion):
    async def takes_code(self, actor: User, wish_id: int, *, note: str | None = None) -> bool:
        """Whether the helper may give the wish's code while reporting it done: they may
        report it done now, and it has a code that still works. Their `note` is checked
        first, so a note too long is refused where it was typed."""
        clean_text(note, NOTE_MAX, required=False)
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id, actor)
            self._move(wish, WishEventKind.DONE, await self._parties_in(conn, actor, wish))
            found = await repo.handshake_of(conn, wish_id)
        return (
            not wish.is_proxy and found is not None and found.code is not None and not found.locked
        )

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

    async def done_with_code(
        self,
        actor: User,
        wish_id: int,
        code: str | None,
        *,
        note: str | None,
        photo_file_id: str | None = None,
        voice_file_id: str | None = None,
    ) -> HandshakeResult:
        """The helper reports the wish done with the code the resident gave them: the right
        one confirms it at once (credited once, however often it is typed); a wrong one is
        counted, and the last allowed locks the code and tells the coordinators."""
        typed = read_code(code)
        note_text = clean_text(note, NOTE_MAX, required=False)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            parties = await self._parties_in(conn, actor, wish)
            if wish.status == WishStatus.CONFIRMED and parties & _HELPS:
                return HandshakeResult(HandshakeOutcome.ALREADY, wish)
            move = self._move(wish, WishEventKind.DONE, parties)
            found = await repo.handshake_of(conn, wish_id)
            if wish.is_proxy or found is None or found.code is None:
                raise NoHandshake(id=wish_id)
            if found.locked:
                return HandshakeResult(HandshakeOutcome.LOCKED, wish)
            if secrets.compare_digest(found.code, typed):
                result = await self._done_by_code(
                    conn,
                    wish,
                    move,
                    typed,
                    actor=actor,
                    now=now,
                    note=note_text,
                    photo_file_id=photo_file_id,
                    voice_file_id=voice_file_id,
                )
            else:
                result = await self._wrong_code(conn, wish, typed, actor=actor)
        self.notifier.wake()
        return result

    async def _done_by_code(
        self,
        conn: AsyncConnection,
        wish: Wish,
        move: Move,
        typed: str,
        *,
        actor: User,
        now: datetime,
        note: str | None,
        photo_file_id: str | None,
        voice_file_id: str | None,
    ) -> HandshakeResult:
        """Done and confirmed in the caller's transaction: the events DONE then CONFIRMED,
        the credits, the resident and the other helpers told."""
        assert wish.claimed_by is not None  # DONE moves only a claimed wish
        if not await repo.done_by_handshake(
            conn,
            wish.id,
            code=typed,
            held_by=wish.claimed_by,
            now=now,
            done_note=note,
            done_photo_file_id=photo_file_id,
            done_voice_file_id=voice_file_id,
        ):
            # Moved on since it was read: on PostgreSQL, maybe by the same code typed twice at
            # once (the other one confirmed it).
            now_is = await self._get(conn, wish.id)
            if now_is.status == WishStatus.CONFIRMED:
                return HandshakeResult(HandshakeOutcome.ALREADY, now_is)
            raise self._wrong_state(now_is, WishEventKind.DONE)
        await self._record(
            conn,
            wish,
            WishEventKind.DONE,
            actor=actor,
            now=now,
            move=move,
            note=note,
            voice_file_id=voice_file_id,
        )
        done = await self._get(conn, wish.id)
        # The code is the resident's word that it is done: their move, made for them.
        confirm = self._move(done, WishEventKind.CONFIRMED, frozenset({Party.OWNER}))
        confirmed = await self._close_confirmed(
            conn, done, confirm, actor=actor, now=now, note=HANDSHAKE_NOTE
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
        """Count the wrong code; at the last allowed, lock it and tell the coordinators."""
        assert wish.claimed_by is not None
        tries = await repo.wrong_handshake(
            conn, wish.id, code=typed, held_by=wish.claimed_by, limit=HANDSHAKE_TRIES
        )
        if tries is None:
            # Another try locked it between our read and this count, or the wish moved on.
            now_is = await repo.handshake_of(conn, wish.id)
            if now_is is not None and now_is.locked:
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
        return HandshakeResult(HandshakeOutcome.LOCKED, wish)
