"""Finishing a wish: the helper reports it done, the resident confirms (everyone who took
part is credited) or says it is not done, rates and thanks; or withdraws an open wish."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import N_, User, Wish, WishEventKind, WishStatus
from bot.services.errors import InvalidInput
from bot.services.text import trim_text
from bot.services.wishes.core import Move
from bot.services.wishes.notices import (
    WishCancelledForHelper,
    WishCancelledForOwner,
    WishConfirmed,
    WishNotDone,
    WishRated,
    WishReportedDone,
    WishThanked,
)
from bot.services.wishes.nudges import WishNudges
from bot.services.wishes.rules import (
    NOTE_MAX,
    REASON_MAX,
    Rated,
    Thanked,
    WishChanged,
    subject_of,
)
from storage import wishes as repo


def reported_done_key(wish_id: int, done_event_id: int) -> str:
    """The resident's "done, please confirm?" of one done report (its DONE event), so that a
    report still waiting for the handshake code can be sent at once (see `_ask_now`)."""
    return f"{subject_of(wish_id)}:reported_done:{done_event_id}"


class WishCompletion(WishNudges):
    async def report_done(
        self,
        actor: User,
        wish_id: int,
        *,
        note: str | None,
        photo_file_id: str | None = None,
        voice_file_id: str | None = None,
    ) -> Wish:
        """The helper says it is done (a note, a photo or a voice note, or nothing); the
        resident is asked to confirm."""
        note_text = trim_text(note, NOTE_MAX, required=False)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            done = await self._report(
                conn,
                actor,
                wish,
                now=now,
                note=note_text,
                photo_file_id=photo_file_id,
                voice_file_id=voice_file_id,
            )
        self.notifier.wake()
        return done

    async def _report(
        self,
        conn: AsyncConnection,
        actor: User,
        wish: Wish,
        *,
        now: datetime,
        note: str | None,
        photo_file_id: str | None,
        voice_file_id: str | None,
        ask_after: datetime | None = None,
    ) -> Wish:
        """Reported done in the caller's transaction: the move, its event, the confirm nudges,
        and the resident asked to confirm — at `ask_after` when given (the helper may still
        type the code; that notice is dropped when it leaves if the wish is confirmed by then,
        see `awaits_confirmation`)."""
        parties = await self._parties_in(conn, actor, wish)
        move = self._move(wish, WishEventKind.DONE, parties)
        await self._apply(
            conn,
            wish,
            move,
            done_at=now,
            done_note=note,
            done_photo_file_id=photo_file_id,
            done_voice_file_id=voice_file_id,
        )
        event_id = await self._record(
            conn,
            wish,
            WishEventKind.DONE,
            actor=actor,
            now=now,
            move=move,
            note=note,
            voice_file_id=voice_file_id,
        )
        done = await self._changed(conn, wish.id)
        await self._nudge_confirm(conn, done)
        await self._tell_owner(
            conn,
            done,
            WishReportedDone(wish=done),
            dedupe_key=reported_done_key(wish.id, event_id),
            not_before=ask_after,
        )
        return done

    async def _ask_now(self, conn: AsyncConnection, wish_id: int) -> None:
        """The resident's "done, please confirm?" of the latest done report leaves now, if it
        still waits for the code (the helper has none, or it locked)."""
        event_id = await repo.last_event_id(conn, wish_id, WishEventKind.DONE)
        if event_id is not None:
            await self.notifier.hurry(conn, reported_done_key(wish_id, event_id))

    async def awaits_confirmation(self, reported: Wish) -> bool:
        """Whether the done report `reported` shows (a wish as it was reported done) still
        waits for the resident's word as its notice leaves: not confirmed (by the code, say),
        sent back or reported anew since. A wish that cannot be read is taken as waiting."""
        async with self.store.read() as conn:
            now_is = await repo.get_wish(conn, reported.id)
        if now_is is None:
            return True
        return now_is.status == WishStatus.DONE and now_is.done_at == reported.done_at

    async def confirm(self, actor: User, wish_id: int) -> Wish:
        """The resident confirms: the wish is finished and everyone who took part is credited."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            move = self._move(wish, WishEventKind.CONFIRMED, self.parties(actor, wish))
            try:
                await self._apply(conn, wish, move, closed_at=now)
            except WishChanged:
                # Moved on since it was read, e.g. confirmed that moment by the helper's code
                # (on PostgreSQL): said as what happened, not as "the wish changed".
                raise self._wrong_state(await self._get(conn, wish_id), move.event) from None
            confirmed = await self._credit_confirmed(conn, wish, move, actor=actor, now=now)
            await self._tell_helpers(conn, confirmed, WishConfirmed(wish=confirmed))
        self.notifier.wake()
        return confirmed

    async def _credit_confirmed(
        self,
        conn: AsyncConnection,
        wish: Wish,
        move: Move,
        *,
        actor: User,
        now: datetime,
        note: str | None = None,
    ) -> Wish:
        """After the confirming move (made by the caller, in its transaction, in one guarded
        UPDATE, so this runs once per wish): credit everyone who took part (the confirm
        listeners: the passbook) and record it; the wish as confirmed. Shared by the
        resident's confirmation and the helper's handshake."""
        helpers = {wish.claimed_by} | set(await repo.assignees(conn, wish.id))
        # Never the poster (e.g. put on their own wish before that was refused).
        credited_ids = {h for h in helpers if h is not None and h != wish.posted_by}
        await repo.credit(conn, wish.id, credited_ids, team_id=wish.team_id, now=now)
        await self._record(
            conn, wish, WishEventKind.CONFIRMED, actor=actor, now=now, move=move, note=note
        )
        await self.reminders.cancel(conn, subject_of(wish.id), recurring=False)
        confirmed = await self._changed(conn, wish.id)
        credited = await repo.participants(conn, wish.id)
        for listener in self.confirmed_listeners:
            await listener(conn, confirmed, credited)
        return confirmed

    async def not_done(
        self, actor: User, wish_id: int, words: str | None, *, voice_file_id: str | None = None
    ) -> Wish:
        """The resident says it is not done: back to the helper, with the resident's words or
        voice note."""
        words_text = trim_text(words, NOTE_MAX, required=voice_file_id is None)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            move = self._move(wish, WishEventKind.NOT_DONE, self.parties(actor, wish))
            await self._apply(
                conn,
                wish,
                move,
                done_at=None,
                done_note=None,
                done_photo_file_id=None,
                done_voice_file_id=None,
            )
            event_id = await self._record(
                conn,
                wish,
                WishEventKind.NOT_DONE,
                actor=actor,
                now=now,
                move=move,
                note=words_text,
                voice_file_id=voice_file_id,
            )
            await self.reminders.cancel(conn, subject_of(wish_id), recurring=False)
            back = await self._changed(conn, wish_id)
            await self._nudge_overdue(conn, back, now, again=event_id)
            notice = WishNotDone(wish=back, words=words_text or "", voice_file_id=voice_file_id)
            await self._tell_helpers(conn, back, notice)
        self.notifier.wake()
        return back

    async def rate(self, actor: User, wish_id: int, stars: int) -> Wish:
        """1–5 stars for a confirmed wish, once; the helpers are told."""
        if not 1 <= stars <= 5:
            raise InvalidInput(N_("Please choose 1 to 5 stars."))
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            self._move(wish, WishEventKind.RATED, self.parties(actor, wish))
            if not await repo.set_rating(conn, wish_id, stars):
                raise Rated()
            await self._record(
                conn, wish, WishEventKind.RATED, actor=actor, now=now, note=str(stars)
            )
            rated = await self._changed(conn, wish_id)
            credited = await repo.participants(conn, wish_id)
            for listener in self.rated_listeners:
                await listener(conn, rated, credited)
            await self._tell_helpers(conn, rated, WishRated(wish=rated, stars=stars))
        self.notifier.wake()
        return rated

    async def thank(
        self, actor: User, wish_id: int, words: str | None, *, voice_file_id: str | None = None
    ) -> Wish:
        """A thank-you (words or a voice note) for a confirmed wish, once; every helper
        receives it."""
        words_text = trim_text(words, NOTE_MAX, required=voice_file_id is None)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            self._move(wish, WishEventKind.THANKED, self.parties(actor, wish))
            if not await repo.set_thanks(conn, wish_id, words_text, voice_file_id=voice_file_id):
                raise Thanked()
            await self._record(
                conn,
                wish,
                WishEventKind.THANKED,
                actor=actor,
                now=now,
                note=words_text,
                voice_file_id=voice_file_id,
            )
            thanked = await self._changed(conn, wish_id)
            notice = WishThanked(wish=thanked, words=words_text or "")
            await self._tell_helpers(conn, thanked, notice)
        self.notifier.wake()
        return thanked

    async def cancel(self, actor: User, wish_id: int, reason: str = "") -> Wish:
        """The poster (or a coordinator) withdraws an open wish; a coordinator also one in
        hand. Whoever did not cancel it themself is told, with the coordinator's reason."""
        reason_text = trim_text(reason, REASON_MAX, required=False) or ""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id, actor)
            move = self._move(wish, WishEventKind.CANCELLED, self.parties(actor, wish))
            await self._apply(conn, wish, move, closed_at=now)
            await self._record(
                conn,
                wish,
                WishEventKind.CANCELLED,
                actor=actor,
                now=now,
                move=move,
                note=reason_text or None,
            )
            await self.reminders.cancel(conn, subject_of(wish_id), recurring=False)
            cancelled = await self._changed(conn, wish_id)
            if wish.posted_by != actor.id:
                notice = WishCancelledForOwner(wish=cancelled, reason=reason_text)
                await self._tell_owner(conn, cancelled, notice)
            if wish.claimed_by is not None:
                helpers = WishCancelledForHelper(wish=cancelled, reason=reason_text)
                await self._tell_helpers(conn, cancelled, helpers)
        self.notifier.wake()
        return cancelled
