"""The love-savings passbook (爱心储蓄存折): points credited for work done, read as a
passbook and a ranking; coordinators set the points per kind of work, adjust with a reason,
correct an entry.

Credits are written inside the transaction of what earns them (a wish confirmed, rated; a
shift served…), through `credit`: one entry per member and thing and kind, ever (the ledger's
unique key), so a retry or a restart credits nothing twice. Every coordinator action checks
their reach again and is audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.config import Settings
from bot.models import (
    N_,
    Balance,
    LedgerEntry,
    LedgerKind,
    RankedMember,
    User,
    Wish,
    WishCategory,
    WishParticipant,
)
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.notify import Notifier
from bot.services.passbook.notices import EntryCorrected, PointsAdjusted
from bot.services.passbook.rules import (
    DEFAULT_POINTS,
    PAGE_SIZE,
    RANKING_SIZE,
    RULED,
    AlreadyCorrected,
    NotCorrectable,
    check_adjustment,
    check_rule,
    clean_reason,
    quarter_of,
    rating_bonus_stars,
)
from bot.services.scope import require_coordinator, require_covers, working_community
from storage import audit, org
from storage import ledger as repo
from storage import users as users_repo
from storage import wishes as wishes_repo
from storage.store import Store

SEARCH_MAX = 64  # characters of a typed name or id
FOUND_MAX = 10  # members offered for one search


@dataclass(frozen=True)
class PassbookPage:
    member: User
    balance: Balance
    entries: tuple[LedgerEntry, ...]
    next_before: int | None = None  # keyset: pass as `before` for the next (older) page
    # What the page's entries name, to say what each was for: the kind of help of each wish,
    # the coordinators who wrote adjustments and corrections, and which entries are corrected.
    wish_categories: Mapping[int, WishCategory] = field(default_factory=dict)
    names: Mapping[int, str] = field(default_factory=dict)
    corrected: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Ranking:
    quarter: str
    community: tuple[RankedMember, ...]
    building: tuple[RankedMember, ...]  # the viewer's building (empty without one)
    building_name: str | None
    place: tuple[int, int] | None  # the viewer's place and points in the community
    building_place: tuple[int, int] | None


def wish_ref(wish_id: int) -> str:
    return f"wish:{wish_id}"


def wish_of(entry: LedgerEntry) -> int | None:
    """The wish an entry was credited for (None: not for a wish)."""
    return wish_named(entry.ref)


def wish_named(ref: str) -> int | None:
    """The wish a ref names ("wish:12"), if it names one: `wish_ref` read back."""
    kind, _, value = ref.partition(":")
    return int(value) if kind == "wish" and value.isascii() and value.isdigit() else None


class NoSuchMember(NotFound):
    message = N_("There is no member with that number in your area.")


@dataclass
class PassbookService:
    store: Store
    settings: Settings
    clock: Clock
    notifier: Notifier

    def quarter(self, moment: datetime | None = None) -> str:
        return quarter_of(moment or self.clock.now(), self.settings.zone)

    # --- crediting, inside the caller's transaction ----------------------------------------

    async def points_for(self, conn: AsyncConnection, community_id: int, kind: LedgerKind) -> int:
        return (await repo.rules(conn, community_id)).get(kind, DEFAULT_POINTS[kind])

    async def credit(
        self,
        conn: AsyncConnection,
        *,
        community_id: int,
        member_ids: set[int],
        kind: LedgerKind,
        ref: str,
        units: int = 1,
    ) -> list[int]:
        """Credit each member for `ref` by the community's rule for `kind` (× `units`, e.g.
        hours or stars); the ids of the entries made — none for a member already credited."""
        points = await self.points_for(conn, community_id, kind) * units
        now = self.clock.now()
        made: list[int] = []
        for member_id in sorted(member_ids):
            entry_id = await repo.add_entry(
                conn,
                community_id=community_id,
                member_id=member_id,
                kind=kind,
                ref=ref,
                points=points,
                quarter=self.quarter(now),
                now=now,
            )
            if entry_id is not None:
                made.append(entry_id)
        return made

    async def credit_confirmed_wish(
        self, conn: AsyncConnection, wish: Wish, credited: list[WishParticipant]
    ) -> None:
        """The wishes service's confirm listener: everyone who took part, once."""
        await self.credit(
            conn,
            community_id=wish.community_id,
            member_ids={p.user_id for p in credited},
            kind=LedgerKind.URGENT if wish.urgent else LedgerKind.WISH,
            ref=wish_ref(wish.id),
        )

    async def credit_rated_wish(
        self, conn: AsyncConnection, wish: Wish, credited: list[WishParticipant]
    ) -> None:
        """The wishes service's rating listener: the stars above 3, for everyone credited."""
        stars = rating_bonus_stars(wish.rating or 0)
        if stars:
            await self.credit(
                conn,
                community_id=wish.community_id,
                member_ids={p.user_id for p in credited},
                kind=LedgerKind.RATING,
                ref=wish_ref(wish.id),
                units=stars,
            )

    # --- reading ---------------------------------------------------------------------------

    async def _member(self, conn: AsyncConnection, viewer: User, member_id: int) -> User:
        """The member whose passbook is asked for: the viewer's own, or one in a coordinator's
        reach (anyone else's is "not found")."""
        if member_id != viewer.id:
            require_coordinator(viewer)
        member = await users_repo.get_user(conn, member_id)
        if member is None:
            raise NoSuchMember()
        if member_id != viewer.id:
            try:
                require_covers(viewer, member.community_id, member.building_id)
            except NotFound:
                raise NoSuchMember() from None
        return member

    async def passbook(
        self, viewer: User, member_id: int | None = None, *, before: int | None = None
    ) -> PassbookPage:
        """A page of a passbook, newest first, with its balances."""
        async with self.store.read() as conn:
            member = await self._member(conn, viewer, member_id or viewer.id)
            if member.id == viewer.id and not (viewer.is_member or viewer.is_coordinator):
                raise NotAllowed()
            balance = await repo.balance(conn, member.id, self.quarter())
            found = await repo.entries_of(conn, member.id, before=before, limit=PAGE_SIZE + 1)
            page = tuple(found[:PAGE_SIZE])
            categories: dict[int, WishCategory] = {}
            for wish_id in {w for w in map(wish_of, page) if w is not None}:
                wish = await wishes_repo.get_wish(conn, wish_id)
                if wish is not None:
                    categories[wish_id] = wish.category
            writers = {e.granted_by for e in page if e.granted_by is not None}
            names = {u.id: u.display_name for u in await users_repo.get_users(conn, writers)}
            corrected = await repo.corrected_among(conn, (e.id for e in page))
        more = len(found) > PAGE_SIZE and page
        return PassbookPage(
            member,
            balance,
            page,
            page[-1].id if more else None,
            wish_categories=categories,
            names=names,
            corrected=frozenset(corrected),
        )

    async def find_members(self, actor: User, text: str) -> list[User]:
        """Members in the coordinator's reach whose name contains `text` (or whose id it is),
        to look up their passbook."""
        reach = require_coordinator(actor)
        text = text.strip()
        if not text or len(text) > SEARCH_MAX:
            raise InvalidInput(N_("Please type part of a name, or a Telegram user id."))
        async with self.store.read() as conn:
            found = await users_repo.search_users(conn, text, reach=reach, limit=FOUND_MAX * 2)
        return [u for u in found if u.is_member][:FOUND_MAX]

    async def entry(self, actor: User, entry_id: int) -> LedgerEntry:
        """One entry of a passbook in the coordinator's reach (before correcting it)."""
        require_coordinator(actor)  # a member's own entries are read on their pages only
        async with self.store.read() as conn:
            entry, _ = await self._entry_in_reach(conn, actor, entry_id)
        return entry

    async def _entry_in_reach(
        self, conn: AsyncConnection, actor: User, entry_id: int
    ) -> tuple[LedgerEntry, User]:
        """An entry and its member, when both the member and the community the entry was
        earned in are the coordinator's: a member who moved keeps the old community's entries
        out of the new community's hands."""
        entry = await repo.get_entry(conn, entry_id)
        if entry is None:
            raise NotFound()
        member = await self._member(conn, actor, entry.member_id)
        require_covers(actor, entry.community_id)
        return entry, member

    async def ranking(self, viewer: User, community_id: int | None = None) -> Ranking:
        """This quarter's top members of the viewer's community and building, and their
        place (a coordinator may name a community in their reach)."""
        if community_id is None and viewer.community_id is None and viewer.is_coordinator:
            community_id = working_community(viewer)  # a coordinator living outside it
        if community_id is None or community_id == viewer.community_id:
            community = viewer.community_id
        else:
            require_covers(viewer, community_id)
            community = community_id
        if community is None:
            raise NotAllowed()
        quarter = self.quarter()
        building = viewer.building_id if community == viewer.community_id else None
        async with self.store.read() as conn:
            top = await repo.ranking(conn, community, quarter, limit=RANKING_SIZE)
            place = await repo.place_of(conn, community, quarter, viewer.id)
            building_top: list[RankedMember] = []
            building_place = None
            if building is not None:
                building_top = await repo.ranking(
                    conn, community, quarter, building_id=building, limit=RANKING_SIZE
                )
                building_place = await repo.place_of(
                    conn, community, quarter, viewer.id, building_id=building
                )
            found = await org.get_building(conn, building) if building is not None else None
            building_name = found.name if found is not None else None
        return Ranking(
            quarter,
            tuple(top),
            tuple(building_top),
            building_name,
            place,
            building_place,
        )

    # --- coordinators ----------------------------------------------------------------------

    async def rules(self, actor: User, community_id: int | None = None) -> dict[LedgerKind, int]:
        """The points per kind of work in a community below the coordinator."""
        community = working_community(actor, community_id)
        async with self.store.read() as conn:
            set_here = await repo.rules(conn, community)
        return {kind: set_here.get(kind, DEFAULT_POINTS[kind]) for kind in RULED}

    async def set_rule(
        self, actor: User, kind: LedgerKind, points: int, community_id: int | None = None
    ) -> dict[LedgerKind, int]:
        """Set the points for a kind of work (new entries only), audited."""
        if kind not in RULED:
            raise NotAllowed()
        check_rule(points)
        community = working_community(actor, community_id)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            before = await self.points_for(conn, community, kind)
            await repo.set_rule(conn, community, kind, points, changed_by=actor.id, now=now)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="points.rule",
                subject=kind.value,
                now=now,
                community_id=community,
                before={"points": before},
                after={"points": points},
            )
        return await self.rules(actor, community)

    async def adjust(
        self, actor: User, member_id: int, points: int, reason: str | None, *, token: str
    ) -> LedgerEntry:
        """A coordinator adds or takes away points with a written reason, audited. `token`
        names this one adjustment (the dialogue's): sent twice, it is made once."""
        check_adjustment(points)
        why = clean_reason(reason)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            member = await self._member(conn, actor, member_id)
            if member.id == actor.id:
                raise NotAllowed()  # nobody adjusts their own passbook
            if member.community_id is None or not member.is_member:
                raise NoSuchMember()  # points are for serving members
            ref = f"adjust:{token}"
            entry_id = await repo.add_entry(
                conn,
                community_id=member.community_id,
                member_id=member.id,
                kind=LedgerKind.ADJUSTMENT,
                ref=ref,
                points=points,
                quarter=self.quarter(now),
                now=now,
                reason=why,
                granted_by=actor.id,
            )
            if entry_id is not None:
                await audit.record(
                    conn,
                    actor_id=actor.id,
                    action="points.adjust",
                    subject=f"user:{member.id}",
                    now=now,
                    community_id=member.community_id,
                    after={"points": points, "reason": why, "entry": entry_id},
                )
            entry = await self._entry_by_ref(conn, member.id, LedgerKind.ADJUSTMENT, ref)
            if entry_id is not None:  # told once, with the change (not again for a retry)
                notice = PointsAdjusted(entry=entry, by=actor.display_name)
                await self.notifier.tell(conn, member, notice)
        return entry

    async def correct(self, actor: User, entry_id: int, reason: str | None) -> LedgerEntry:
        """A coordinator undoes an entry: a new entry of the opposite points that names it,
        with a reason, audited. An entry is corrected once."""
        why = clean_reason(reason)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            entry, member = await self._entry_in_reach(conn, actor, entry_id)
            if member.id == actor.id:
                raise NotAllowed()
            if entry.kind is LedgerKind.CORRECTION or entry.points == 0:
                raise NotCorrectable()  # undo the entry it corrected instead; nothing to undo
            ref = f"entry:{entry.id}"
            made = await repo.add_entry(
                conn,
                community_id=entry.community_id,
                member_id=entry.member_id,
                kind=LedgerKind.CORRECTION,
                ref=ref,
                points=-entry.points,
                quarter=self.quarter(now),
                now=now,
                reason=why,
                corrects_id=entry.id,
                granted_by=actor.id,
            )
            if made is None:
                raise AlreadyCorrected()
            await audit.record(
                conn,
                actor_id=actor.id,
                action="points.correct",
                subject=f"user:{member.id}",
                now=now,
                community_id=entry.community_id,
                before={"entry": entry.id, "points": entry.points},
                after={"points": -entry.points, "reason": why, "entry": made},
            )
            correction = await self._entry_by_ref(conn, member.id, LedgerKind.CORRECTION, ref)
            notice = EntryCorrected(entry=correction, by=actor.display_name, corrected=entry)
            await self.notifier.tell(conn, member, notice)
            return correction

    async def _entry_by_ref(
        self, conn: AsyncConnection, member_id: int, kind: LedgerKind, ref: str
    ) -> LedgerEntry:
        found = await repo.entry_by_ref(conn, member_id, kind, ref)
        assert found is not None  # made in this transaction or before it
        return found
