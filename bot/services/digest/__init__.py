"""你说我做 ("you said, we did"): a community's monthly digest to its residents — what they
asked for (suggestions by topic, wishes by kind of help) and what was done about it (answered,
done, fixed), with counts from the statistics and up to three short stories a coordinator
chose; previewed, then sent as an announcement rendered in each reader's language.

A digest is a community's: a coordinator over one community (or above it, naming it) makes
it; a building's coordinator may not. One per community and month: the second is refused."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import (
    N_,
    Digest,
    DigestCounts,
    DigestScreen,
    Figures,
    Node,
    NodeKind,
    Notice,
    Period,
    Reminder,
    Story,
    StoryKind,
    User,
)
from bot.services.broadcast import BroadcastService
from bot.services.days import local_day
from bot.services.errors import Conflict, InvalidInput, NotAllowed
from bot.services.notify import Notifier
from bot.services.reminders import ReminderService
from bot.services.scope import require_coordinator, working_community
from bot.services.stats.period import PeriodInFuture, bounds, month_of, shifted
from bot.services.text import visible
from storage import audit, org
from storage import digest as digest_repo
from storage import users as users_repo
from storage.common import is_row_id
from storage.digest import Candidate
from storage.store import Store

CONTENT_KIND = "digest"  # the broadcast content kind its announcement is rendered by
STORIES_MAX = 3
WORDS_MAX = 60  # characters of a resident's words in a story
REPLY_MAX = 100  # characters of a suggestion's answer
REWRITE_MAX = 200  # characters of a story the coordinator types
MONTHS_BACK = 24  # how far back a digest may be made
# The coordinators are reminded on the 1st of each month, in the morning, that last month's
# digest is ready (unless it was sent); a reminder found days late is dropped.
REMIND_KIND = "digest.ready"
REMIND_AT = time(10, 0)
REMIND_STALE = timedelta(days=3)


class DigestReady(Notice):
    """To a community's coordinators on the 1st: last month's digest is ready to preview."""

    KIND = "digest.ready"
    community_id: int
    community_name: str
    month: date  # its first day

    def place(self) -> tuple[int | None, int | None]:
        return self.community_id, None


class TooManyStories(InvalidInput):
    message = N_("A digest tells at most {most} stories. Please take one out first.")


class StoryGone(InvalidInput):
    message = N_("That story is not among this month's any more. Please choose again.")


class RewriteTooLong(InvalidInput):
    message = N_("Please keep a story to {most} characters; yours has {count}.")


class RewriteEmpty(InvalidInput):
    message = N_("Please type the story's words.")


class MonthTooOld(InvalidInput):
    message = N_("Please choose one of the last {months} months.")


class DigestAlreadySent(Conflict):
    message = N_("This month's “You said, we did” has already been sent to the community.")


class FiguresSource(Protocol):
    """The statistics the digest's counts come from (`StatsService`)."""

    async def figures(self, actor: User, node: Node | None, period: Period) -> Figures: ...


@dataclass(frozen=True)
class StoryChoice:
    """A story the coordinator picked, by its key ("s12", "w7", "f3"), in their own words if
    they rewrote it."""

    key: str
    rewrite: str | None = None


_SPACES = re.compile(r"\s+")
_ROW_ID = re.compile(r"[1-9][0-9]{0,9}")
# A phone number in a resident's words (a mobile, a landline with its area code, or any seven
# digits and more): the digest goes to every resident, so a story never tells one.
_PHONE = re.compile(
    r"(?<![0-9])(?:(?:\+?86[ -]?)?1[0-9]{2}[ -]?[0-9]{4}[ -]?[0-9]{4}"
    r"|0[0-9]{2,3}[ -]?[0-9]{7,8}|[0-9]{7,})(?![0-9])"
)
HIDDEN = "***"


def shorten(text: str, limit: int) -> str:
    """The words on one line, at most `limit` characters (cut with "…")."""
    flat = _SPACES.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def counts_of(figures: Figures) -> DigestCounts:
    """The few figures a digest shows, as `Figures` has them; topics and kinds of help with
    none are left out, the largest first."""
    return DigestCounts(
        suggestions=figures.suggestions.received,
        by_topic=sorted(
            (t for t in figures.suggestions.by_topic if t.received),
            key=lambda t: -t.received,
        ),
        wishes=figures.wishes.posted,
        by_category=sorted(
            (c for c in figures.wishes.by_category if c.posted), key=lambda c: -c.posted
        ),
        suggestions_answered=figures.suggestions.answered,
        wishes_done=figures.wishes.done,
        findings_handled=figures.patrol.findings_handled,
    )


def story_of(candidate: Candidate) -> Story:
    """A candidate as a story: the words shortened (phone numbers hidden), the answer
    shortened, nothing else."""
    return Story(
        kind=candidate.kind,
        ref_id=candidate.ref_id,
        words=shorten(_PHONE.sub(HIDDEN, candidate.words), WORDS_MAX),
        reply=shorten(candidate.reply, REPLY_MAX) if candidate.reply else None,
        team_name=candidate.team_name,
        made_wish=candidate.made_wish,
    )


def check_rewrite(text: str) -> str:
    """A story the coordinator typed, trimmed; refused when empty or too long."""
    words = text.strip()
    if not visible(words):  # zero-width characters alone show nothing
        raise RewriteEmpty()
    if len(words) > REWRITE_MAX:
        raise RewriteTooLong(most=REWRITE_MAX, count=len(words))
    return words


@dataclass
class DigestService:
    store: Store
    settings: Settings
    clock: Clock
    notifier: Notifier
    broadcasts: BroadcastService
    stats: FiguresSource
    _reminders: ReminderService = field(init=False)

    def this_month(self) -> Period:
        return month_of(local_day(self.clock.now(), self.settings.zone))

    def month(self, first_day: date | None) -> Period:
        """The month starting on `first_day` (None: last month); not one to come, nor more
        than `MONTHS_BACK` ago."""
        this = self.this_month()
        if first_day is None:
            return shifted(this, -1)
        period = month_of(first_day)
        if period.first_day > this.first_day:
            raise PeriodInFuture()
        if period.first_day < shifted(this, -MONTHS_BACK).first_day:
            raise MonthTooOld(months=MONTHS_BACK)
        return period

    async def screen(
        self,
        actor: User,
        first_day: date | None = None,
        choices: Sequence[StoryChoice] = (),
        *,
        community_id: int | None = None,
    ) -> DigestScreen:
        """The month's digest as it would be sent with these stories, and the candidates."""
        community = self._community(actor, community_id)
        period = self.month(first_day)
        firsts: dict[str, StoryChoice] = {}
        for choice in choices:  # each story once, where it was first chosen
            firsts.setdefault(choice.key, choice)
        choices = list(firsts.values())
        if len(choices) > STORIES_MAX:
            raise TooManyStories(most=STORIES_MAX)
        figures = await self.stats.figures(
            actor, Node(kind=NodeKind.COMMUNITY, id=community), period
        )
        start, after = bounds(period, self.settings.zone)
        async with self.store.read() as conn:
            found = [
                *await digest_repo.answered_suggestions(conn, community, start, after),
                *await digest_repo.wishes_done(conn, community, start, after),
                *await digest_repo.findings_handled(conn, community, start, after),
            ]
            candidates = {story.key: story for story in map(story_of, found)}
            missing = [c.key for c in choices if c.key not in candidates]
            if missing:
                # A story chosen from a longer list (older than the newest few): read it alone.
                for candidate in await self._by_keys(conn, community, start, after, missing):
                    story = story_of(candidate)
                    candidates[story.key] = story
            sent = await digest_repo.sent_digest(conn, community, period.first_day)
        stories = []
        for choice in choices:
            chosen = candidates.get(choice.key)
            if chosen is None:
                raise StoryGone()
            if choice.rewrite is not None:
                chosen = chosen.model_copy(
                    update={"words": check_rewrite(choice.rewrite), "rewritten": True}
                )
            stories.append(chosen)
        this = self.this_month()
        return DigestScreen(
            digest=Digest(
                community_id=community,
                community_name=figures.node_name,
                month=period.first_day,
                counts=counts_of(figures),
                stories=stories,
            ),
            candidates=list(candidates.values()),
            sent_broadcast_id=sent,
            earliest=shifted(this, -MONTHS_BACK).first_day,
            latest=this.first_day,
        )

    async def keep_reminding(self, actor: User, *, community_id: int | None = None) -> None:
        """From now on, remind the community's coordinators on each 1st (the coordinator who
        opened the screen asks for it; the next month's reminder is set whenever one runs)."""
        community = self._community(actor, community_id)
        async with self.store.transaction() as conn:
            await self._remind_next(conn, community, self.clock.now())

    def register_reminders(self, reminders: ReminderService) -> None:
        self._reminders = reminders
        reminders.on(REMIND_KIND, self.on_reminder)

    async def on_reminder(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        """The 1st has come: the community's coordinators (or, where it has none, the nearest
        above it) are told that last month's digest is ready, unless it was sent already; the
        next month's reminder is set."""
        community = int(reminder.payload["community_id"])
        await self._remind_next(conn, community, reminder.due_at)
        day = reminder.due_at.astimezone(self.settings.zone).date()
        month = shifted(month_of(day), -1).first_day
        if await digest_repo.sent_digest(conn, community, month) is not None:
            return
        place = await org.get_community(conn, community)
        if place is None:
            return
        # The community's own coordinators; where it has none yet, those of its street, else
        # of its district (a building's coordinator does not send community announcements).
        chain = [
            Node(kind=NodeKind.COMMUNITY, id=community),
            Node(kind=NodeKind.STREET, id=place.street_id),
            Node(kind=NodeKind.DISTRICT, id=place.district_id),
        ]
        found = await users_repo.coordinators_at(conn, chain)
        name = place.name
        for uid in next((found[node] for node in chain if found[node]), []):
            user = await users_repo.get_user(conn, uid)
            if user is not None:
                await self.notifier.tell(
                    conn,
                    user,
                    DigestReady(community_id=community, community_name=name, month=month),
                    dedupe_key=f"digest.ready:{community}:{month:%Y%m}:{uid}",
                )

    async def _remind_next(self, conn: AsyncConnection, community: int, after: datetime) -> None:
        """The reminder on the 1st after `after` (once per community and month)."""
        day = after.astimezone(self.settings.zone).date()
        first = shifted(month_of(day), 1).first_day
        await self._reminders.schedule(
            conn,
            subject=f"community:{community}:digest",
            kind=REMIND_KIND,
            due_at=datetime.combine(first, REMIND_AT, tzinfo=self.settings.zone),
            payload={"community_id": community},
            stale_after=REMIND_STALE,
            dedupe_key=f"digest.ready:{community}:{first:%Y%m}",
        )

    async def send(
        self,
        actor: User,
        first_day: date,
        choices: Sequence[StoryChoice],
        *,
        community_id: int | None = None,
    ) -> tuple[int, int]:
        """Send the month's digest to everyone in the community (each in their language), as
        an announcement; (its id, how many it goes to). Refused when this month's was sent."""
        screen = await self.screen(actor, first_day, choices, community_id=community_id)
        if screen.sent_broadcast_id is not None:
            raise DigestAlreadySent()
        digest = screen.digest
        now = self.clock.now()
        async with self.store.transaction() as conn:
            broadcast_id, queued = await self.broadcasts.send_content(
                conn,
                actor,
                node=Node(kind=NodeKind.COMMUNITY, id=digest.community_id),
                kind=CONTENT_KIND,
                content=digest.model_dump(mode="json"),
                now=now,
            )
            if not await digest_repo.insert_digest(
                conn,
                community_id=digest.community_id,
                month=digest.month,
                broadcast_id=broadcast_id,
                sent_by=actor.id,
                now=now,
            ):
                raise DigestAlreadySent()  # someone else's went first: this one rolls back
            await self._remind_next(conn, digest.community_id, now)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="digest.send",
                subject=f"broadcast:{broadcast_id}",
                now=now,
                community_id=digest.community_id,
                after={
                    "month": digest.month.isoformat(),
                    "stories": [s.key for s in digest.stories],
                    "recipients": queued,
                },
            )
        self.notifier.wake()
        return broadcast_id, queued

    # --- inside ------------------------------------------------------------------------------

    @staticmethod
    def _community(actor: User, community_id: int | None) -> int:
        """The community the digest is about: a community announcement, so never from a
        building's coordinator; above one community, the one named (checked) or their own."""
        reach = require_coordinator(actor)
        if not reach.whole_communities:
            raise NotAllowed()
        return working_community(actor, community_id)

    @staticmethod
    async def _by_keys(
        conn: AsyncConnection, community: int, start: datetime, after: datetime, keys: list[str]
    ) -> list[Candidate]:
        """The candidates of these keys that qualify (forged or stale keys find nothing)."""
        wanted: dict[StoryKind, list[int]] = {kind: [] for kind in StoryKind}
        for key in keys:
            kind = next((k for k in StoryKind if key[:1] == k.value), None)
            # ASCII digits only (str.isdigit takes "²", which int() refuses) and a row id.
            if kind is not None and _ROW_ID.fullmatch(key[1:]) and is_row_id(int(key[1:])):
                wanted[kind].append(int(key[1:]))
        readers = {
            StoryKind.SUGGESTION: digest_repo.answered_suggestions,
            StoryKind.WISH: digest_repo.wishes_done,
            StoryKind.FINDING: digest_repo.findings_handled,
        }
        found: list[Candidate] = []
        for kind, ids in wanted.items():
            if ids:
                found += await readers[kind](
                    conn, community, start, after, limit=len(ids), ids=ids
                )
        return found
