"""Micro-wishes and urgent help requests: post, offer, claim (alone or as a team), do, confirm,
thank. Every change of state is checked here (who, from which state), made with a guarded SQL
statement, recorded in `wish_events`, and announced through the outbox in the same transaction.

Life cycle: open → claimed → done → confirmed; open → cancelled; claimed → open (released);
done → claimed (not done); open → expired (then the resident may post it again).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.i18n import Translate, esc, format_local, translator
from bot.models import (
    N_,
    WISH_CATEGORY_LABELS,
    Reminder,
    Skill,
    Team,
    User,
    Wish,
    WishCategory,
    WishContact,
    WishEvent,
    WishEventKind,
    WishPage,
    WishParticipant,
    WishStatus,
)
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.notify import Buttons, Notifier
from bot.services.reminders import ReminderService
from bot.services.users import clean_name, clean_phone, clean_room
from storage import audit, org
from storage import outbox as outbox_repo
from storage import teams as teams_repo
from storage import users as users_repo
from storage import wishes as repo
from storage.store import Store

TEXT_MAX = 500  # a wish; Telegram allows 4096, but a wish card must stay readable
TITLE_MAX = 40  # the one-line title shown in lists and offers
NOTE_MAX = 500  # done notes, "not done" words, thank-you messages
REASON_MAX = 300
PAGE_SIZE = 8
OFFER_LIMIT = 20  # members offered a new wish (same building first)
URGENT_LIMIT = 200  # members alerted about an urgent request
EXPIRY_GRACE = timedelta(hours=24)  # after the needed-by time, before a wish expires
UNDATED_LIFETIME = timedelta(days=30)  # a wish without a date expires after this
NEEDED_BY_MAX = timedelta(days=365)

KIND_ESCALATE = "wish.escalate"
KIND_WIDEN = "wish.widen"
KIND_EXPIRE = "wish.expire"

# Which members' skills fit which kind of wish (matching and the "my skills" filter).
CATEGORY_SKILLS: dict[WishCategory, frozenset[Skill]] = {
    WishCategory.DAILY_LIFE: frozenset({Skill.DOMESTIC_HELP, Skill.ELDERLY_CARE, Skill.OTHER}),
    WishCategory.ELDERLY_CARE: frozenset({Skill.ELDERLY_CARE, Skill.DOMESTIC_HELP, Skill.MEDICAL}),
    WishCategory.CHILDREN_STUDY: frozenset({Skill.TUTORING}),
    WishCategory.HEALTH: frozenset({Skill.MEDICAL, Skill.ELDERLY_CARE}),
    WishCategory.LEGAL: frozenset({Skill.LEGAL}),
    WishCategory.EMPLOYMENT: frozenset({Skill.EMPLOYMENT}),
    WishCategory.REPAIRS: frozenset({Skill.REPAIRS}),
    WishCategory.PSYCHOLOGICAL: frozenset({Skill.COUNSELLING}),
    WishCategory.OTHER: frozenset({Skill.OTHER, Skill.DOMESTIC_HELP}),
}

WhenChoice = Literal["today", "tomorrow", "3days", "week"]
WHEN_DAYS: dict[str, int] = {"today": 0, "tomorrow": 1, "3days": 3, "week": 7}


def categories_for(skills: Iterable[Skill]) -> list[WishCategory]:
    """The categories a member with these skills can help with."""
    mine = set(skills)
    return [c for c, needed in CATEGORY_SKILLS.items() if needed & mine]


# --- callback data of the buttons this service puts on notifications. The handlers parse the
# same shapes (handlers/wish_views.py); kept here because services cannot import handlers.


def card_data(wish_id: int) -> str:
    return f"w:card:{wish_id}"


def claim_data(wish_id: int) -> str:
    return f"w:claim:{wish_id}"


def confirm_data(wish_id: int) -> str:
    return f"w:ok:{wish_id}"


def not_done_data(wish_id: int) -> str:
    return f"w:nd:{wish_id}"


def done_data(wish_id: int) -> str:
    return f"w:done:{wish_id}"


def repost_data(wish_id: int) -> str:
    return f"w:repost:{wish_id}"


def keep_closed_data(wish_id: int) -> str:
    return f"w:keep:{wish_id}"


def tasks_data() -> str:
    return "w:tasks"


# --- errors: each says what happened; nothing was changed ----------------------------------


class MembersOnly(NotAllowed):
    message = N_("Only members can take on wishes. Send /join with an invite code to become one.")


class OwnWish(NotAllowed):
    message = N_("This is your own wish, so you cannot take it on yourself.")


class NotYourWish(NotAllowed):
    message = N_("Only the person who posted this wish can do that.")


class NotYourTask(NotAllowed):
    message = N_("Only the member who took on this wish can do that.")


class WishTaken(Conflict):
    message = N_("Sorry, {name} has already taken this wish.")


class WishClosed(Conflict):
    message = N_("This wish is closed (finished, cancelled or expired). Nothing was changed.")


class WishChanged(Conflict):
    message = N_("This wish has changed since that button was shown. Nothing was changed.")


class TooManyOpenWishes(Conflict):
    message = N_(
        "You have {count} wishes in progress, which is the most allowed. Please wait until one "
        "is finished, or cancel one in /mywishes."
    )


class TooManyClaims(Conflict):
    message = N_(
        "You already have {count} wishes in hand, which is the most allowed. Please finish or "
        "release one in /mytasks first."
    )


class NotInTeam(NotAllowed):
    message = N_("You are not in that service team.")


def clean_text(text: str | None, limit: int, *, required: bool = True) -> str | None:
    """Trimmed text within `limit` characters; empty is refused when `required`."""
    cleaned = (text or "").strip()
    if not cleaned:
        if required:
            raise InvalidInput(N_("Please write a few words."))
        return None
    if len(cleaned) > limit:
        raise InvalidInput(N_("That text is too long (at most {limit} characters)."), limit=limit)
    return cleaned


def wish_title(wish: Wish, t: Translate, limit: int = TITLE_MAX) -> str:
    """One line for lists and offers (not escaped)."""
    if wish.text:
        line = wish.text.strip().splitlines()[0]
        return line if len(line) <= limit else line[: limit - 1] + "…"
    if wish.voice_file_id:
        return t("Voice note")
    return t("Photo")


def quiet_until(user: User, now: datetime, zone: ZoneInfo) -> datetime | None:
    """When `user`'s quiet hours end, if `now` falls inside them; else None."""
    start, end = user.quiet_start, user.quiet_end
    if start == end:
        return None
    local = now.astimezone(zone)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    until = datetime.combine(local.date(), time(end // 60, end % 60), tzinfo=zone)
    if until <= local:
        until = datetime.combine(local.date() + timedelta(days=1), until.timetz())
    return until.astimezone(UTC)


_DATE = re.compile(
    r"^(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"
    r"(?:\s*(?P<H>\d{1,2})\s*[:：点时]\s*(?P<M>\d{1,2})?\s*分?)?$"
)
_TIME = re.compile(r"^(?P<H>\d{1,2})\s*[:：]\s*(?P<M>\d{2})$")


def parse_needed_by(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """A typed date/time ("12-24", "2026-12-24 15:30", "12月24日 15点", "15:30") in the
    community's zone; a date alone means the end of that day."""
    typed = text.strip()
    local_now = now.astimezone(zone)
    match = _DATE.match(typed)
    time_only = _TIME.match(typed)
    try:
        if match:
            year = int(match["y"]) if match["y"] else local_now.year
            hour = int(match["H"]) if match["H"] else 23
            minute = int(match["M"]) if match["M"] else (0 if match["H"] else 59)
            moment = datetime(year, int(match["m"]), int(match["d"]), hour, minute, tzinfo=zone)
        elif time_only:
            moment = local_now.replace(
                hour=int(time_only["H"]), minute=int(time_only["M"]), second=0, microsecond=0
            )
        else:
            raise ValueError(typed)
    except ValueError:
        raise InvalidInput(
            N_("I could not read that date. Please write it like 12-24 or 12-24 15:30.")
        ) from None
    return check_needed_by(moment.astimezone(UTC), now)


def check_needed_by(moment: datetime, now: datetime) -> datetime:
    if moment <= now:
        raise InvalidInput(N_("That time has already passed. Please choose a later one."))
    if moment > now + NEEDED_BY_MAX:
        raise InvalidInput(N_("Please choose a time within the next year."))
    return moment


def needed_by_choice(choice: str, now: datetime, zone: ZoneInfo) -> datetime:
    """The end of the local day for "today", "tomorrow", "3days" or "week"."""
    if choice not in WHEN_DAYS:
        raise InvalidInput()
    day = now.astimezone(zone).date() + timedelta(days=WHEN_DAYS[choice])
    return datetime.combine(day, time(23, 59), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class WishDraft:
    """What a dialogue collected; checked again by `post`."""

    category: WishCategory
    text: str | None = None
    photo_file_id: str | None = None
    voice_file_id: str | None = None
    needed_by: datetime | None = None
    urgent: bool = False
    # On behalf of someone without a phone (members and coordinators only):
    for_name: str | None = None
    for_building_id: int | None = None
    for_room: str | None = None
    for_phone: str | None = None

    @property
    def is_proxy(self) -> bool:
        return self.for_name is not None


@dataclass(frozen=True)
class WishFilter:
    kind: Literal["all", "building", "skills", "category"] = "all"
    category: WishCategory | None = None


@dataclass(frozen=True)
class WishAccess:
    """What one person may do with one wish (for showing the right buttons)."""

    owns: bool  # posted it (or coordinates a wish posted on someone's behalf)
    handles: bool  # claimed it, leads the claiming team, or was assigned to it
    leads: bool  # leads the team that claimed it
    releases: bool  # may give it back: the claimer, the team leader or a coordinator
    sees_contact: bool


@dataclass(frozen=True)
class WallPost:
    """The wish wall post in the members' group, rendered for the wish's current state."""

    chat_id: int
    message_id: int | None  # None until the outbox has sent it
    text: str
    buttons: Buttons
    in_flight: bool = False  # being sent right now: its message id is not known yet


# Called inside the confirm transaction with the wish and who was credited (the passbook).
ConfirmedListener = Callable[[AsyncConnection, Wish, list[WishParticipant]], Awaitable[None]]


def subject_of(wish_id: int) -> str:
    return f"wish:{wish_id}"


@dataclass
class WishesService:
    store: Store
    settings: Settings
    clock: Clock
    community_id: int
    notifier: Notifier
    reminders: ReminderService
    confirmed_listeners: list[ConfirmedListener] = field(default_factory=list)

    def register_reminders(self, reminders: ReminderService) -> None:
        """What the wish reminders do when due (called once, in `Services.build`)."""
        reminders.on(KIND_ESCALATE, self.on_escalate)
        reminders.on(KIND_WIDEN, self.on_widen)
        reminders.on(KIND_EXPIRE, self.on_expire)

    def on_confirmed(self, listener: ConfirmedListener) -> None:
        """Run `listener` inside every confirm transaction (e.g. to credit passbook points)."""
        self.confirmed_listeners.append(listener)

    # --- reading -----------------------------------------------------------------------

    async def _get(self, conn: AsyncConnection, wish_id: int) -> Wish:
        wish = await repo.get_wish(conn, wish_id)
        if wish is None or wish.community_id != self.community_id:
            raise NotFound(N_("There is no wish with that number."))
        return wish

    async def view(self, actor: User, wish_id: int) -> Wish:
        """A wish card: members and coordinators see any wish, residents their own only."""
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id)
            if not self._may_see(actor, wish) and actor.id not in await repo.assignees(
                conn, wish_id
            ):
                raise NotYourWish()
        return wish

    def _may_see(self, actor: User, wish: Wish) -> bool:
        return actor.is_member or actor.is_coordinator or wish.posted_by == actor.id

    async def contact(self, actor: User, wish_id: int) -> WishContact:
        """Room and phone: only for the member who claimed the wish, and coordinators."""
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id)
            if not self.may_see_contact(actor, wish):
                raise NotYourTask()
            contact = await repo.get_contact(conn, wish_id)
        assert contact is not None
        return contact

    @staticmethod
    def may_see_contact(actor: User, wish: Wish) -> bool:
        if actor.is_coordinator:
            return True
        active = wish.status in (WishStatus.CLAIMED, WishStatus.DONE)
        return active and wish.claimed_by == actor.id

    async def access(self, actor: User, wish: Wish) -> WishAccess:
        async with self.store.read() as conn:
            team = await teams_repo.get_team(conn, wish.team_id) if wish.team_id else None
            assigned = actor.id in await repo.assignees(conn, wish.id)
        leads = team is not None and team.leader_id == actor.id
        return WishAccess(
            owns=self._owns(actor, wish),
            handles=wish.claimed_by == actor.id or leads or assigned,
            leads=leads,
            releases=self._may_handle(actor, wish, team),
            sees_contact=self.may_see_contact(actor, wish),
        )

    async def require_task(self, actor: User, wish_id: int, *, releasing: bool = False) -> Wish:
        """A claimed wish the actor may report done — or, `releasing`, give back (assigned team
        members may report, not give back) — checked before asking them to type."""
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id)
            team = await teams_repo.get_team(conn, wish.team_id) if wish.team_id else None
            assigned = actor.id in await repo.assignees(conn, wish_id) and not releasing
        if not (self._may_handle(actor, wish, team) or assigned):
            raise NotYourTask()
        if wish.status != WishStatus.CLAIMED:
            raise WishChanged()
        return wish

    async def require_owned(self, actor: User, wish_id: int, status: WishStatus) -> Wish:
        """A wish of the actor's in `status` (checked before asking them to type something)."""
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id)
        if not self._owns(actor, wish):
            raise NotYourWish()
        if wish.status != status:
            raise WishChanged()
        return wish

    async def browse(
        self, actor: User, wish_filter: WishFilter, *, before: int | None = None
    ) -> WishPage:
        """A page of open wishes for members (newest first, keyset-paginated)."""
        self._require_member(actor, allow_coordinator=True)
        categories: list[WishCategory] | None = None
        building_id: int | None = None
        if wish_filter.kind == "building":
            if actor.building_id is None:
                raise InvalidInput(
                    N_("Your profile has no building. Set it in /profile to use this filter.")
                )
            building_id = actor.building_id
        elif wish_filter.kind == "skills":
            categories = categories_for(actor.skills)
            if not categories:
                return WishPage(wishes=())
        elif wish_filter.kind == "category":
            if wish_filter.category is None:
                raise InvalidInput()
            categories = [wish_filter.category]
        async with self.store.read() as conn:
            found = await repo.open_wishes(
                conn,
                self.community_id,
                categories=categories,
                building_id=building_id,
                before=before,
                limit=PAGE_SIZE + 1,
            )
        page = found[:PAGE_SIZE]
        more = len(found) > PAGE_SIZE
        return WishPage(wishes=tuple(page), next_before=page[-1].id if more and page else None)

    async def mine(self, actor: User, *, before: int | None = None) -> WishPage:
        """A page of the wishes the actor posted (also on behalf of others), newest first."""
        async with self.store.read() as conn:
            found = await repo.wishes_posted_by(conn, actor.id, before=before, limit=PAGE_SIZE + 1)
        page = found[:PAGE_SIZE]
        more = len(found) > PAGE_SIZE
        return WishPage(wishes=tuple(page), next_before=page[-1].id if more and page else None)

    async def tasks(self, actor: User) -> list[Wish]:
        """Wishes in hand: claimed by me, assigned to me, or claimed by a team I lead."""
        async with self.store.read() as conn:
            led = [
                t.id for t in await teams_repo.teams_of(conn, actor.id) if t.leader_id == actor.id
            ]
            return await repo.tasks_of(conn, actor.id, led)

    async def history(self, actor: User, wish_id: int) -> list[WishEvent]:
        async with self.store.read() as conn:
            wish = await self._get(conn, wish_id)
            if not (actor.is_coordinator or actor.id in (wish.posted_by, wish.claimed_by)):
                raise NotAllowed()
            return await repo.events(conn, wish_id)

    async def assignees(self, wish_id: int) -> list[int]:
        async with self.store.read() as conn:
            return await repo.assignees(conn, wish_id)

    async def participants(self, wish_id: int) -> list[WishParticipant]:
        """Who was credited for a confirmed wish (empty until it is confirmed)."""
        async with self.store.read() as conn:
            return await repo.participants(conn, wish_id)

    async def credited_between(self, start: datetime, end: datetime) -> list[WishParticipant]:
        async with self.store.read() as conn:
            return await repo.credited_between(conn, start, end)

    async def claim_teams(self, actor: User) -> list[Team]:
        """The teams the actor may claim for."""
        async with self.store.read() as conn:
            return await teams_repo.teams_of(conn, actor.id)

    async def open_count(self, actor: User) -> int:
        async with self.store.read() as conn:
            return await repo.count_unfinished_own(conn, actor.id)

    async def check_can_post(self, actor: User, *, proxy: bool = False) -> None:
        """Refuse early (before a dialogue) when the actor may not post now."""
        if proxy:
            self._require_member(actor, allow_coordinator=True)
            return
        count = await self.open_count(actor)
        if count >= self.settings.max_open_wishes:
            raise TooManyOpenWishes(count=count)

    # --- posting -----------------------------------------------------------------------

    async def post(self, actor: User, draft: WishDraft) -> Wish:
        """Post a wish (or urgent request); offers and alerts go out in the same transaction."""
        return await self._post(actor, draft, reposting=None)

    async def _post(self, actor: User, draft: WishDraft, *, reposting: int | None) -> Wish:
        now = self.clock.now()
        text = clean_text(draft.text, TEXT_MAX, required=False)
        if text is None and not draft.photo_file_id and not draft.voice_file_id:
            raise InvalidInput(N_("Please tell us the wish: some words, a photo or a voice note."))
        needed_by = check_needed_by(draft.needed_by, now) if draft.needed_by else None
        values: dict[str, Any] = {}
        if draft.is_proxy:
            self._require_member(actor, allow_coordinator=True)
            values["for_name"] = clean_name(draft.for_name or "")
            values["for_room"] = clean_room(draft.for_room) if draft.for_room else None
            values["for_phone"] = clean_phone(draft.for_phone) if draft.for_phone else None
            building_id = await self._open_building(draft.for_building_id)
        else:
            building_id = actor.building_id
        async with self.store.transaction() as conn:
            if reposting is not None:
                await self._mark_reposted(conn, actor, reposting, now)
            if not draft.is_proxy:
                count = await repo.count_unfinished_own(conn, actor.id)
                if count >= self.settings.max_open_wishes:
                    raise TooManyOpenWishes(count=count)
            wish_id = await repo.insert_wish(
                conn,
                community_id=self.community_id,
                building_id=building_id,
                posted_by=actor.id,
                category=draft.category,
                text=text,
                photo_file_id=draft.photo_file_id,
                voice_file_id=draft.voice_file_id,
                urgent=draft.urgent,
                needed_by=needed_by,
                now=now,
                **values,
            )
            round_id = await repo.add_event(
                conn,
                wish_id,
                WishEventKind.POSTED,
                actor_id=actor.id,
                now=now,
                to_status=WishStatus.OPEN,
            )
            wish = await self._get(conn, wish_id)
            await self._announce_open(conn, wish, round_id, exclude={actor.id})
            await self._post_to_wall(conn, wish)
        self.notifier.wake()
        return wish

    async def _open_building(self, building_id: int | None) -> int | None:
        if building_id is None:
            return None
        async with self.store.read() as conn:
            building = await org.get_building(conn, building_id)
        if building is None or building.archived or building.community_id != self.community_id:
            raise InvalidInput(N_("Please choose a building from the list."))
        return building.id

    async def _announce_open(
        self, conn: AsyncConnection, wish: Wish, round_id: int, *, exclude: set[int]
    ) -> None:
        """Offers (or urgent alerts) and the reminders of an open wish, for one round."""
        now = self.clock.now()
        subject = subject_of(wish.id)
        exclude = exclude | {wish.posted_by}
        if wish.urgent:
            await self._alert(conn, wish, round_id, building_only=wish.building_id is not None)
            minutes = self.settings.urgent_escalate_minutes
            if wish.building_id is not None:
                await self.reminders.schedule(
                    conn,
                    subject=subject,
                    kind=KIND_WIDEN,
                    due_at=now + timedelta(minutes=max(1, minutes // 3)),
                    payload={"wish_id": wish.id, "round": round_id},
                    dedupe_key=f"{subject}:widen:{round_id}",
                )
            await self.reminders.schedule(
                conn,
                subject=subject,
                kind=KIND_ESCALATE,
                due_at=now + timedelta(minutes=minutes),
                payload={"wish_id": wish.id, "round": round_id},
                dedupe_key=f"{subject}:escalate:{round_id}",
            )
        else:
            await self._offer(conn, wish, round_id, exclude=exclude)
        expires = (
            wish.needed_by + EXPIRY_GRACE if wish.needed_by else wish.created_at + UNDATED_LIFETIME
        )
        await self.reminders.schedule(
            conn,
            subject=subject,
            kind=KIND_EXPIRE,
            due_at=max(expires, now + timedelta(minutes=1)),
            recipient_id=wish.posted_by,
            payload={"wish_id": wish.id, "round": round_id},
            dedupe_key=f"{subject}:expire:{round_id}",
        )

    async def _offer(
        self, conn: AsyncConnection, wish: Wish, round_id: int, *, exclude: set[int]
    ) -> int:
        """Offer to members whose skills fit, same building first, after their quiet hours."""
        candidates = await repo.member_candidates(
            conn,
            self.community_id,
            building_id=wish.building_id,
            skills=CATEGORY_SKILLS[wish.category],
            exclude=exclude | {wish.posted_by},
            limit=OFFER_LIMIT,
        )
        now = self.clock.now()
        queued = 0
        for member in candidates:
            if await self.notifier.to_user(
                conn,
                member,
                self._offer_render(wish, member.language),
                buttons=lambda t: self._offer_buttons(wish, t),
                dedupe_key=f"{subject_of(wish.id)}:offer:{round_id}:{member.id}",
                not_before=quiet_until(member, now, self.settings.zone),
            ):
                queued += 1
        return queued

    async def _alert(
        self, conn: AsyncConnection, wish: Wish, round_id: int, *, building_only: bool
    ) -> int:
        """Urgent: members of the building (or the whole community) at once, quiet hours or not."""
        candidates = await repo.member_candidates(
            conn,
            self.community_id,
            building_id=wish.building_id,
            skills=None,
            exclude={wish.posted_by},
            limit=URGENT_LIMIT,
        )
        if building_only:
            candidates = [m for m in candidates if m.building_id == wish.building_id]
        queued = 0
        for member in candidates:
            if await self.notifier.to_user(
                conn,
                member,
                self._offer_render(wish, member.language),
                buttons=lambda t: self._offer_buttons(wish, t),
                # The same key for both waves: nobody is alerted twice in one round.
                dedupe_key=f"{subject_of(wish.id)}:urgent:{round_id}:{member.id}",
            ):
                queued += 1
        return queued

    def _offer_render(self, wish: Wish, language: str) -> Callable[[Translate], str]:
        return lambda t: self._offer_text(wish, t, language)

    def _offer_text(self, wish: Wish, t: Translate, language: str) -> str:
        if wish.urgent:
            head = t("🆘 <b>Urgent help needed</b> (#{id}) in {place}").format(
                id=wish.id, place=esc(wish.building_name or t("our community"))
            )
        else:
            head = t("🙋 <b>A new wish</b> (#{id}) in {place} — {category}").format(
                id=wish.id,
                place=esc(wish.building_name or t("our community")),
                category=t(WISH_CATEGORY_LABELS[wish.category]),
            )
        lines = [head, esc(wish_title(wish, t, 200 if wish.urgent else TITLE_MAX))]
        lines += self._media_lines(wish, t)
        if wish.needed_by:
            lines.append(
                t("Needed by: {when}").format(
                    when=format_local(wish.needed_by, language, self.settings.zone)
                )
            )
        lines.append(t("Can you help?"))
        return "\n".join(lines)

    @staticmethod
    def _media_lines(wish: Wish, t: Translate) -> list[str]:
        lines = []
        if wish.photo_file_id:
            lines.append(t("📷 There is a photo (shown to the helper)."))
        if wish.voice_file_id:
            lines.append(t("🎤 There is a voice note (played to the helper)."))
        return lines

    @staticmethod
    def _offer_buttons(wish: Wish, t: Translate) -> Buttons:
        return (((t("I will help"), claim_data(wish.id)), (t("Details"), card_data(wish.id))),)

    # --- the wish wall -----------------------------------------------------------------

    def _wall_key(self, wish_id: int) -> str:
        return f"{subject_of(wish_id)}:wall"

    async def _post_to_wall(self, conn: AsyncConnection, wish: Wish) -> None:
        group = self.settings.members_group_id
        if group is None:
            return
        post = self.render_wall(wish)
        await self.notifier.to_chat(
            conn, group, post.text, buttons=post.buttons, dedupe_key=self._wall_key(wish.id)
        )

    def render_wall(self, wish: Wish, message_id: int | None = None) -> WallPost:
        """The wall post for the wish's current state, in the community's language."""
        t = translator(self.settings.default_language)
        language = self.settings.default_language
        lines = [self._offer_text(wish, t, language).rsplit("\n", 1)[0]]
        buttons: Buttons = ()
        if wish.status == WishStatus.OPEN:
            buttons = (((t("I will help"), claim_data(wish.id)),),)
        elif wish.status in (WishStatus.CLAIMED, WishStatus.DONE):
            who = esc(wish.team_name or wish.claimer_name or "")
            lines.append(t("✋ Taken by {name}.").format(name=who))
            if wish.status == WishStatus.DONE:
                lines.append(t("✅ Reported done."))
        elif wish.status == WishStatus.CONFIRMED:
            who = esc(wish.team_name or wish.claimer_name or "")
            lines.append(t("🎉 Done by {name}. Thank you!").format(name=who))
        else:
            lines.append(t("This wish is closed."))
        assert self.settings.members_group_id is not None
        return WallPost(
            chat_id=self.settings.members_group_id,
            message_id=message_id,
            text="\n".join(lines),
            buttons=buttons,
        )

    async def wall_post(self, wish_id: int) -> WallPost | None:
        """The wall post for the wish's state now, to edit after a change; None when there is
        no wall. A post still waiting in the outbox is rewritten there instead (then the
        returned message_id is None: nothing to edit)."""
        if self.settings.members_group_id is None:
            return None
        key = self._wall_key(wish_id)
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id)
            message_id = await outbox_repo.sent_message_id(conn, key)
            post = self.render_wall(wish, message_id)
            if message_id is None and not await outbox_repo.rewrite_pending(
                conn, key, post.text, post.buttons
            ):
                return replace(post, in_flight=True)
        return post

    async def _record(
        self,
        conn: AsyncConnection,
        wish: Wish,
        kind: WishEventKind,
        *,
        actor: User,
        now: datetime,
        from_status: WishStatus | None = None,
        to_status: WishStatus | None = None,
        note: str | None = None,
    ) -> int:
        """The wish event; and an audit entry when a coordinator acted on someone else's wish
        (cancelled, released, confirmed, assigned it for them)."""
        event_id = await repo.add_event(
            conn,
            wish.id,
            kind,
            actor_id=actor.id,
            now=now,
            from_status=from_status,
            to_status=to_status,
            note=note,
        )
        if actor.is_coordinator and actor.id not in (wish.posted_by, wish.claimed_by):
            await audit.record(
                conn,
                actor_id=actor.id,
                action=f"wish.{kind.value}",
                subject=subject_of(wish.id),
                now=now,
                before={"status": from_status.value} if from_status else None,
                after={"status": to_status.value, "note": note} if to_status else {"note": note},
            )
        return event_id

    # --- claiming ----------------------------------------------------------------------

    def _require_member(self, actor: User, *, allow_coordinator: bool = False) -> None:
        if actor.is_member or (allow_coordinator and actor.is_coordinator):
            return
        raise MembersOnly()

    @staticmethod
    def _taken_by(wish: Wish) -> str:
        if wish.team_name and wish.claimer_name:
            return f"{wish.team_name} ({wish.claimer_name})"
        return wish.team_name or wish.claimer_name or "?"

    def _not_open(self, wish: Wish) -> Conflict:
        if wish.status in (WishStatus.CLAIMED, WishStatus.DONE):
            return WishTaken(name=self._taken_by(wish))
        if wish.status == WishStatus.OPEN:
            return WishChanged()
        return WishClosed()

    async def claim(self, actor: User, wish_id: int, *, team_id: int | None = None) -> Wish:
        """Take on a wish, alone or for a team. Exactly one of many simultaneous callers wins:
        the claim is one guarded UPDATE inside a BEGIN IMMEDIATE transaction, which also
        counts the member's active claims."""
        self._require_member(actor)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id)
            if wish.posted_by == actor.id:
                raise OwnWish()
            if wish.status != WishStatus.OPEN:
                raise self._not_open(wish)
            team: Team | None = None
            if team_id is not None:
                team = await teams_repo.get_team(conn, team_id)
                if team is None or not team.active or team.community_id != self.community_id:
                    raise NotFound()
                if actor.id not in team.member_ids:
                    raise NotInTeam()
            count = await repo.count_active_claims(conn, actor.id)
            if count >= self.settings.max_active_claims:
                raise TooManyClaims(count=count)
            if not await repo.claim(conn, wish_id, user_id=actor.id, team_id=team_id, now=now):
                raise self._not_open(await self._get(conn, wish_id))
            await repo.add_event(
                conn,
                wish_id,
                WishEventKind.CLAIMED,
                actor_id=actor.id,
                now=now,
                from_status=WishStatus.OPEN,
                to_status=WishStatus.CLAIMED,
                note=f"team:{team_id}" if team_id else None,
            )
            await self.reminders.cancel(conn, subject_of(wish_id))
            wish = await self._get(conn, wish_id)
            await self._tell_owner(
                conn,
                wish,
                lambda t: t(
                    "Good news: {name} will help with your wish #{id} ({title}). "
                    "They will get in touch with you."
                ).format(
                    name=esc(self._taken_by(wish)), id=wish.id, title=esc(wish_title(wish, t))
                ),
            )
            if team is not None and team.leader_id != actor.id:
                leader = await users_repo.get_user(conn, team.leader_id)
                if leader is not None:
                    await self.notifier.to_user(
                        conn,
                        leader,
                        lambda t: t(
                            "{name} took on wish #{id} for {team}. Please choose who takes part "
                            "in /mytasks."
                        ).format(name=esc(actor.display_name), id=wish_id, team=esc(team.name)),
                        buttons=lambda t: (((t("My tasks"), tasks_data()),),),
                    )
        self.notifier.wake()
        return wish

    async def _tell_owner(
        self,
        conn: AsyncConnection,
        wish: Wish,
        render: Callable[[Translate], str],
        *,
        buttons: Callable[[Translate], Buttons] | None = None,
        photo_file_id: str | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        """The resident who posted (or the member/coordinator who posted on their behalf)."""
        owner = await users_repo.get_user(conn, wish.posted_by)
        if owner is not None:
            await self.notifier.to_user(
                conn,
                owner,
                render,
                buttons=buttons,
                photo_file_id=photo_file_id,
                dedupe_key=dedupe_key,
            )

    async def _tell_helpers(
        self, conn: AsyncConnection, wish: Wish, render: Callable[[Translate], str], **kw: Any
    ) -> None:
        """The claimer and everyone assigned to the wish."""
        ids = {wish.claimed_by} | set(await repo.assignees(conn, wish.id))
        helpers = await users_repo.get_users(conn, {i for i in ids if i is not None})
        for helper in helpers:
            await self.notifier.to_user(conn, helper, render, **kw)

    def _may_handle(self, actor: User, wish: Wish, team: Team | None) -> bool:
        """The claimer, the leader of the claiming team, or a coordinator."""
        if actor.is_coordinator or wish.claimed_by == actor.id:
            return True
        return team is not None and team.leader_id == actor.id

    async def release(self, actor: User, wish_id: int, reason: str) -> Wish:
        """Give a claimed wish back: it reopens and is offered again."""
        reason_text = clean_text(reason, REASON_MAX)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id)
            team = await teams_repo.get_team(conn, wish.team_id) if wish.team_id else None
            if not self._may_handle(actor, wish, team):
                raise NotYourTask()
            if wish.status != WishStatus.CLAIMED:
                raise WishChanged()
            if not await repo.change_status(
                conn,
                wish_id,
                from_status=WishStatus.CLAIMED,
                to_status=WishStatus.OPEN,
                claimed_by=None,
                team_id=None,
                claimed_at=None,
            ):
                raise WishChanged()
            await repo.clear_assignments(conn, wish_id)
            round_id = await self._record(
                conn,
                wish,
                WishEventKind.RELEASED,
                actor=actor,
                now=now,
                from_status=WishStatus.CLAIMED,
                to_status=WishStatus.OPEN,
                note=reason_text,
            )
            released = await self._get(conn, wish_id)
            await self._tell_owner(
                conn,
                released,
                lambda t: t(
                    "{name} cannot help with your wish #{id} after all ({reason}). It is open "
                    "again and we are looking for another helper."
                ).format(
                    name=esc(self._taken_by(wish)), id=wish_id, reason=esc(reason_text or "")
                ),
            )
            await self._announce_open(
                conn, released, round_id, exclude={actor.id, wish.claimed_by or actor.id}
            )
        self.notifier.wake()
        return released

    async def report_done(
        self, actor: User, wish_id: int, *, note: str | None, photo_file_id: str | None = None
    ) -> Wish:
        """The helper says it is done; the resident is asked to confirm."""
        note_text = clean_text(note, NOTE_MAX, required=False)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id)
            team = await teams_repo.get_team(conn, wish.team_id) if wish.team_id else None
            assigned = actor.id in await repo.assignees(conn, wish_id)
            if not (self._may_handle(actor, wish, team) or assigned):
                raise NotYourTask()
            if wish.status != WishStatus.CLAIMED:
                raise WishChanged()
            if not await repo.change_status(
                conn,
                wish_id,
                from_status=WishStatus.CLAIMED,
                to_status=WishStatus.DONE,
                done_at=now,
                done_note=note_text,
                done_photo_file_id=photo_file_id,
            ):
                raise WishChanged()
            await self._record(
                conn,
                wish,
                WishEventKind.DONE,
                actor=actor,
                now=now,
                from_status=WishStatus.CLAIMED,
                to_status=WishStatus.DONE,
                note=note_text,
            )
            done = await self._get(conn, wish_id)

            def render(t: Translate) -> str:
                lines = [
                    t("{name} says your wish #{id} ({title}) is done.").format(
                        name=esc(self._taken_by(done)), id=wish_id, title=esc(wish_title(done, t))
                    )
                ]
                if note_text:
                    lines.append(t("Their note: {note}").format(note=esc(note_text)))
                lines.append(t("Is it done? Please tell us."))
                return "\n".join(lines)

            await self._tell_owner(
                conn,
                done,
                render,
                buttons=lambda t: (
                    ((t("Yes, it is done"), confirm_data(wish_id)),),
                    ((t("No, not done yet"), not_done_data(wish_id)),),
                ),
                photo_file_id=photo_file_id,
            )
        self.notifier.wake()
        return done

    def _owns(self, actor: User, wish: Wish) -> bool:
        """The poster; for a wish posted on someone's behalf, coordinators too."""
        return wish.posted_by == actor.id or (wish.is_proxy and actor.is_coordinator)

    async def confirm(self, actor: User, wish_id: int) -> Wish:
        """The resident confirms: the wish is finished and everyone who took part is credited."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id)
            if not self._owns(actor, wish):
                raise NotYourWish()
            if wish.status != WishStatus.DONE or not await repo.change_status(
                conn,
                wish_id,
                from_status=WishStatus.DONE,
                to_status=WishStatus.CONFIRMED,
                closed_at=now,
            ):
                raise WishClosed() if wish.status == WishStatus.CONFIRMED else WishChanged()
            helpers = {wish.claimed_by} | set(await repo.assignees(conn, wish_id))
            await repo.credit(
                conn, wish_id, {h for h in helpers if h is not None}, team_id=wish.team_id, now=now
            )
            await self._record(
                conn,
                wish,
                WishEventKind.CONFIRMED,
                actor=actor,
                now=now,
                from_status=WishStatus.DONE,
                to_status=WishStatus.CONFIRMED,
            )
            confirmed = await self._get(conn, wish_id)
            credited = await repo.participants(conn, wish_id)
            for listener in self.confirmed_listeners:
                await listener(conn, confirmed, credited)
            await self._tell_helpers(
                conn,
                confirmed,
                lambda t: t(
                    "🎉 {name} confirmed that wish #{id} ({title}) is done. Thank you!"
                ).format(
                    name=esc(confirmed.for_name or confirmed.poster_name or ""),
                    id=wish_id,
                    title=esc(wish_title(confirmed, t)),
                ),
            )
        self.notifier.wake()
        return confirmed

    async def not_done(self, actor: User, wish_id: int, words: str) -> Wish:
        """The resident says it is not done: back to the helper, with the resident's words."""
        words_text = clean_text(words, NOTE_MAX)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id)
            if not self._owns(actor, wish):
                raise NotYourWish()
            if wish.status != WishStatus.DONE or not await repo.change_status(
                conn,
                wish_id,
                from_status=WishStatus.DONE,
                to_status=WishStatus.CLAIMED,
                done_at=None,
                done_note=None,
                done_photo_file_id=None,
            ):
                raise WishChanged()
            await self._record(
                conn,
                wish,
                WishEventKind.NOT_DONE,
                actor=actor,
                now=now,
                from_status=WishStatus.DONE,
                to_status=WishStatus.CLAIMED,
                note=words_text,
            )
            back = await self._get(conn, wish_id)
            await self._tell_helpers(
                conn,
                back,
                lambda t: t(
                    "{name} says wish #{id} ({title}) is not done yet:\n«{words}»\n"
                    "Please have another look, then report it done again."
                ).format(
                    name=esc(back.for_name or back.poster_name or ""),
                    id=wish_id,
                    title=esc(wish_title(back, t)),
                    words=esc(words_text or ""),
                ),
                buttons=lambda t: (((t("Report done"), done_data(wish_id)),),),
            )
        self.notifier.wake()
        return back

    async def rate(self, actor: User, wish_id: int, stars: int) -> Wish:
        """1–5 stars for a confirmed wish, once; the helpers are told."""
        if not 1 <= stars <= 5:
            raise InvalidInput(N_("Please choose 1 to 5 stars."))
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id)
            if not self._owns(actor, wish):
                raise NotYourWish()
            if wish.status != WishStatus.CONFIRMED:
                raise WishChanged()
            if not await repo.set_rating(conn, wish_id, stars):
                raise Conflict(N_("You have rated this wish already. Thank you!"))
            await repo.add_event(
                conn, wish_id, WishEventKind.RATED, actor_id=actor.id, now=now, note=str(stars)
            )
            rated = await self._get(conn, wish_id)
            await self._tell_helpers(
                conn,
                rated,
                lambda t: t("{name} gave your help with wish #{id} {stars}").format(
                    name=esc(rated.for_name or rated.poster_name or ""),
                    id=wish_id,
                    stars="★" * stars + "☆" * (5 - stars),
                ),
            )
        self.notifier.wake()
        return rated

    async def thank(self, actor: User, wish_id: int, words: str) -> Wish:
        """A thank-you message for a confirmed wish, once; every helper receives it."""
        words_text = clean_text(words, NOTE_MAX)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id)
            if not self._owns(actor, wish):
                raise NotYourWish()
            if wish.status != WishStatus.CONFIRMED:
                raise WishChanged()
            if not await repo.set_thanks(conn, wish_id, words_text or ""):
                raise Conflict(N_("You have thanked for this wish already."))
            await repo.add_event(
                conn, wish_id, WishEventKind.THANKED, actor_id=actor.id, now=now, note=words_text
            )
            thanked = await self._get(conn, wish_id)
            await self._tell_helpers(
                conn,
                thanked,
                lambda t: t("💌 A thank-you from {name} for wish #{id}:\n«{words}»").format(
                    name=esc(thanked.for_name or thanked.poster_name or ""),
                    id=wish_id,
                    words=esc(words_text or ""),
                ),
            )
        self.notifier.wake()
        return thanked

    async def cancel(self, actor: User, wish_id: int) -> Wish:
        """The poster (or a coordinator) withdraws an open wish."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id)
            if not (wish.posted_by == actor.id or actor.is_coordinator):
                raise NotYourWish()
            if wish.status != WishStatus.OPEN:
                if wish.status in (WishStatus.CLAIMED, WishStatus.DONE):
                    raise Conflict(
                        N_(
                            "{name} has taken this wish already, so it cannot be cancelled now. "
                            "Please talk to them or to a coordinator."
                        ),
                        name=self._taken_by(wish),
                    )
                raise WishClosed()
            if not await repo.change_status(
                conn,
                wish_id,
                from_status=WishStatus.OPEN,
                to_status=WishStatus.CANCELLED,
                closed_at=now,
            ):
                raise WishChanged()
            await self._record(
                conn,
                wish,
                WishEventKind.CANCELLED,
                actor=actor,
                now=now,
                from_status=WishStatus.OPEN,
                to_status=WishStatus.CANCELLED,
            )
            await self.reminders.cancel(conn, subject_of(wish_id))
            cancelled = await self._get(conn, wish_id)
        return cancelled

    async def repost(self, actor: User, wish_id: int) -> Wish:
        """Post an expired wish again, as a new wish with the same content."""
        now = self.clock.now()
        async with self.store.read() as conn:
            old = await self._get(conn, wish_id)
            contact = await repo.get_contact(conn, wish_id)
            reposted = await repo.events(conn, wish_id)
        if old.posted_by != actor.id:
            raise NotYourWish()
        if old.status != WishStatus.EXPIRED or any(
            e.kind == WishEventKind.REPOSTED for e in reposted
        ):
            raise WishChanged()
        needed_by = now + (old.needed_by - old.created_at) if old.needed_by else None
        assert contact is not None
        draft = WishDraft(
            category=old.category,
            text=old.text,
            photo_file_id=old.photo_file_id,
            voice_file_id=old.voice_file_id,
            needed_by=needed_by,
            urgent=old.urgent,
            for_name=old.for_name,
            for_building_id=old.building_id if old.is_proxy else None,
            for_room=contact.room if old.is_proxy else None,
            for_phone=contact.phone if old.is_proxy else None,
        )
        return await self._post(actor, draft, reposting=wish_id)

    async def _mark_reposted(
        self, conn: AsyncConnection, actor: User, wish_id: int, now: datetime
    ) -> None:
        """Inside the posting transaction: an expired wish is posted again at most once."""
        old = await self._get(conn, wish_id)
        events = await repo.events(conn, wish_id)
        if old.status != WishStatus.EXPIRED or any(
            e.kind == WishEventKind.REPOSTED for e in events
        ):
            raise WishChanged()
        await repo.add_event(conn, wish_id, WishEventKind.REPOSTED, actor_id=actor.id, now=now)

    # --- service teams on a wish -------------------------------------------------------

    async def team_of(self, wish: Wish) -> Team | None:
        if wish.team_id is None:
            return None
        async with self.store.read() as conn:
            return await teams_repo.get_team(conn, wish.team_id)

    async def assign(self, actor: User, wish_id: int, user_id: int, *, on: bool) -> list[int]:
        """The team leader puts a team member on a team-claimed wish (or takes them off)."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            wish = await self._get(conn, wish_id)
            team = await teams_repo.get_team(conn, wish.team_id) if wish.team_id else None
            if team is None:
                raise InvalidInput(N_("This wish was not taken on by a team."))
            if not (team.leader_id == actor.id or actor.is_coordinator):
                raise NotAllowed(N_("Only the team leader can choose who takes part."))
            if wish.status not in (WishStatus.CLAIMED, WishStatus.DONE):
                raise WishChanged()
            if user_id not in team.member_ids:
                raise NotInTeam(N_("That person is not in the team."))
            member = await users_repo.get_user(conn, user_id)
            assert member is not None
            if on and await repo.assign(conn, wish_id, user_id, by=actor.id, now=now):
                await self._record(
                    conn,
                    wish,
                    WishEventKind.ASSIGNED,
                    actor=actor,
                    now=now,
                    note=str(user_id),
                )
                if user_id != wish.claimed_by:
                    await self.notifier.to_user(
                        conn,
                        member,
                        lambda t: t(
                            "{leader} put you on wish #{id} ({title}) with {team}. "
                            "{claimer} has the contact details and will tell you more."
                        ).format(
                            leader=esc(actor.display_name),
                            id=wish_id,
                            title=esc(wish_title(wish, t)),
                            team=esc(team.name),
                            claimer=esc(wish.claimer_name or ""),
                        ),
                    )
            elif not on and await repo.unassign(conn, wish_id, user_id):
                await self._record(
                    conn,
                    wish,
                    WishEventKind.UNASSIGNED,
                    actor=actor,
                    now=now,
                    note=str(user_id),
                )
            assigned = await repo.assignees(conn, wish_id)
        self.notifier.wake()
        return assigned

    # --- reminders: escalation, widening, expiry ---------------------------------------

    async def on_escalate(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        """Nobody took an urgent request in time: coordinators (and the resident) are told."""
        wish = await repo.get_wish(conn, int(reminder.payload["wish_id"]))
        if wish is None or wish.status != WishStatus.OPEN:
            return
        now = self.clock.now()
        minutes = max(1, int((now - wish.created_at).total_seconds() // 60))
        await repo.add_event(conn, wish.id, WishEventKind.ESCALATED, actor_id=None, now=now)
        await self.notifier.to_coordinators(
            conn,
            lambda t: t(
                "🆘 Urgent request #{id} in {place} has waited {minutes} minutes and nobody has "
                "taken it yet: {title}"
            ).format(
                id=wish.id,
                place=esc(wish.building_name or t("our community")),
                minutes=minutes,
                title=esc(wish_title(wish, t)),
            ),
            buttons=lambda t: (((t("Details"), card_data(wish.id)),),),
            dedupe_prefix=f"{reminder.dedupe_key}:coordinators",
        )
        await self._tell_owner(
            conn,
            wish,
            lambda t: t(
                "Nobody has taken your urgent request #{id} yet, so we have asked the "
                "coordinators to help."
            ).format(id=wish.id),
            dedupe_key=f"{reminder.dedupe_key}:owner",
        )

    async def on_widen(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        """An urgent request still open after the first minutes: alert the whole community."""
        wish = await repo.get_wish(conn, int(reminder.payload["wish_id"]))
        if wish is None or wish.status != WishStatus.OPEN:
            return
        await self._alert(conn, wish, int(reminder.payload["round"]), building_only=False)

    async def on_expire(self, conn: AsyncConnection, reminder: Reminder, late: bool) -> None:
        """Past its time and nobody took it: expired; the resident may post it again."""
        wish = await repo.get_wish(conn, int(reminder.payload["wish_id"]))
        if wish is None or wish.status != WishStatus.OPEN:
            return
        now = self.clock.now()
        if not await repo.change_status(
            conn, wish.id, from_status=WishStatus.OPEN, to_status=WishStatus.EXPIRED, closed_at=now
        ):
            return
        await repo.add_event(
            conn,
            wish.id,
            WishEventKind.EXPIRED,
            actor_id=None,
            now=now,
            from_status=WishStatus.OPEN,
            to_status=WishStatus.EXPIRED,
        )
        await self._tell_owner(
            conn,
            wish,
            lambda t: t(
                "Nobody could take your wish #{id} ({title}) in time, so it has been closed. "
                "Would you like to post it again?"
            ).format(id=wish.id, title=esc(wish_title(wish, t))),
            buttons=lambda t: (
                ((t("Post it again"), repost_data(wish.id)),),
                ((t("No, thank you"), keep_closed_data(wish.id)),),
            ),
            dedupe_key=f"{reminder.dedupe_key}:owner",
        )
