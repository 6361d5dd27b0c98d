"""Twinning (结对帮扶): coordinators register households that need no phone and pair members
with them; members log visits (what was done, help in RMB, how the household is); the
cadence reminds members and then coordinators; coordinators read who needs attention and
the totals the seeds report.

Who may do what, checked here whatever the buttons showed:
- a coordinator registers, changes, pairs and unpairs households of the buildings in their
  reach (audited, without contact details);
- a member logs visits to, and reads, the households they are actively paired with;
- a household's phone goes to its actively paired members and to coordinators in reach only
  (`contact`), everyone else is refused. A wish posted for a household copies its contact
  into the wish, which goes, as every wish's does, to whoever takes it on: the household is
  told so when it agrees to be registered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    AttentionItem,
    AttentionReason,
    Cadence,
    Circumstance,
    HelpKind,
    Household,
    HouseholdContact,
    LedgerKind,
    Model,
    Pair,
    Role,
    TwinningTotals,
    User,
    Visit,
    VisitCategory,
    WellbeingPoint,
)
from bot.services.days import local_day
from bot.services.errors import NotAllowed, NotFound
from bot.services.passbook import PassbookService, clean_reason, quarter_bounds
from bot.services.scope import require_coordinator, require_covers
from bot.services.text import fold_text
from bot.services.twinning.cadence import TwinningCadence
from bot.services.twinning.notices import (
    PairEndedForHousehold,
    PairEndedNotice,
    PairMade,
    PairMadeForHousehold,
)
from bot.services.twinning.rules import (
    NAME_MAX,
    NOTES_MAX,
    SAVED_AGAIN_WITHIN,
    TOKEN_MAX,
    VISIT_TEXT_MAX,
    WELLBEING_NOTE_MAX,
    AlreadyPaired,
    BadPeriod,
    ConsentRequired,
    EmptyVisit,
    HelpKindRequired,
    HouseholdExists,
    NameRequired,
    NoSuchHousehold,
    NotAMember,
    NotPaired,
    PairEnded,
    ResidentNotHere,
    VisitBeforePair,
    attention_reasons,
    check_help,
    check_visit_date,
    check_wellbeing,
    is_behind,
    visit_ref,
)
from bot.services.users import clean_phone, clean_room
from storage import audit, org
from storage import ledger as ledger_repo
from storage import twinning as repo
from storage import users as users_repo

ATTENTION_BATCH = 1000  # households read at a time for the "needs attention" list
HOUSEHOLDS_PAGE = 50


class HouseholdDraft(Model):
    """What a coordinator types to register (or change) a household."""

    name: str
    building_id: int
    room: str | None = None
    phone: str | None = None
    circumstances: frozenset[Circumstance] = frozenset()
    notes: str | None = None
    resident_id: int | None = None  # a registered resident of the household, to link
    consent: bool = False  # the household agreed to be registered (required)


class VisitDraft(Model):
    """What a member logs about one visit. `help_fen`: RMB in fen (see `parse_yuan`)."""

    household_id: int
    visited_on: date | None = None  # None: today, in the community's time zone
    categories: frozenset[VisitCategory] = Field(default_factory=frozenset)
    text: str | None = None
    voice_file_id: str | None = None
    photo_file_id: str | None = None
    help_kind: HelpKind | None = None
    help_fen: int = 0
    wellbeing: int | None = None  # 1 (poorly) to 5 (well)
    wellbeing_note: str | None = None


def _audited(household: Household) -> dict[str, Any]:
    """A household as the audit log keeps it: no contact details, neither phone nor room (the
    audit is read by every coordinator of the community, not only those of its building)."""
    return {
        "name": household.name,
        "building_id": household.building_id,
        "circumstances": sorted(c.value for c in household.circumstances),
        "resident_id": household.resident_id,
    }


@dataclass
class TwinningService(TwinningCadence):
    passbook: PassbookService

    # --- households -------------------------------------------------------------------------

    async def _household_in_reach(
        self, conn: AsyncConnection, actor: User, household_id: int
    ) -> Household:
        household = await repo.get_household(conn, household_id)
        if household is None:
            raise NoSuchHousehold()
        try:
            require_covers(actor, household.community_id, household.building_id)
        except NotFound:
            raise NoSuchHousehold() from None
        return household

    async def _checked_draft(
        self, conn: AsyncConnection, actor: User, draft: HouseholdDraft
    ) -> tuple[int, dict[str, Any]]:
        """The draft's building's community (in the actor's reach) and its cleaned values."""
        building = await org.get_building(conn, draft.building_id)
        if building is None or building.archived:
            raise NotFound()
        require_covers(actor, building.community_id, building.id)
        name = fold_text(draft.name, NAME_MAX)
        if name is None:
            raise NameRequired()
        if draft.resident_id is not None:
            resident = await users_repo.get_user(conn, draft.resident_id)
            if resident is None or resident.community_id != building.community_id:
                raise ResidentNotHere()
        return building.community_id, {
            "building_id": building.id,
            "name": name,
            # The residents' own rules for a room and a phone: one meaning of "a phone number".
            "room": clean_room(draft.room) if draft.room and draft.room.strip() else None,
            "phone": clean_phone(draft.phone) if draft.phone and draft.phone.strip() else None,
            "notes": fold_text(draft.notes, NOTES_MAX),
            "resident_id": draft.resident_id,
        }

    async def register_household(self, actor: User, draft: HouseholdDraft) -> Household:
        """A coordinator registers a household of a building in their reach, with the
        household's consent (recorded: by whom, when); audited. The same coordinator saving
        the same household (building, name, room) with the same details again within minutes
        — a second press — gets the one registered; anyone else, later, or other details,
        HouseholdExists. Raises
        ConsentRequired, InvalidInput (name, linked resident, too long), NotFound (building
        out of reach)."""
        require_coordinator(actor)
        if not draft.consent:
            raise ConsentRequired()
        now = self.clock.now()
        async with self.store.transaction() as conn:
            community_id, values = await self._checked_draft(conn, actor, draft)
            same = await repo.same_household(
                conn, values["building_id"], values["name"], values["room"]
            )
            if same is not None:
                if (
                    same.created_by == actor.id
                    and now - same.created_at < SAVED_AGAIN_WITHIN
                    and await self._same_details(conn, same, draft, values)
                ):
                    return same  # the same save pressed again
                # Someone else's, older, or saved again with other details (a phone put
                # right): registered already — changes go through update_household, audited.
                raise HouseholdExists(name=same.name)
            household_id = await repo.insert_household(
                conn,
                community_id=community_id,
                circumstances=draft.circumstances,
                consent_by=actor.id,
                now=now,
                **values,
            )
            household = await repo.get_household(conn, household_id)
            assert household is not None
            await audit.record(
                conn,
                actor_id=actor.id,
                action="household.register",
                subject=f"household:{household_id}",
                now=now,
                community_id=community_id,
                after=_audited(household),
            )
        return household

    @staticmethod
    async def _same_details(
        conn: AsyncConnection, saved: Household, draft: HouseholdDraft, values: dict[str, Any]
    ) -> bool:
        contact = await repo.contact_of(conn, saved.id)
        return (
            contact is not None
            and contact.phone == values["phone"]
            and saved.notes == values["notes"]
            and saved.resident_id == values["resident_id"]
            and saved.circumstances == draft.circumstances
        )

    async def update_household(
        self, actor: User, household_id: int, draft: HouseholdDraft
    ) -> Household:
        """A coordinator in reach changes a household (also links or unlinks its resident:
        `resident_id`); audited without the phone (only whether it changed). The consent
        recorded at registration stays."""
        require_coordinator(actor)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            before = await self._household_in_reach(conn, actor, household_id)
            community_id, values = await self._checked_draft(conn, actor, draft)
            if community_id != before.community_id:
                raise NotAllowed()  # a household moves within its community only
            old = await repo.contact_of(conn, household_id)
            await repo.update_household(conn, household_id, **values)
            await repo.set_circumstances(conn, household_id, draft.circumstances)
            after = await repo.get_household(conn, household_id)
            assert after is not None and old is not None
            await audit.record(
                conn,
                actor_id=actor.id,
                action="household.update",
                subject=f"household:{household_id}",
                now=now,
                community_id=community_id,
                before=_audited(before),
                after={
                    **_audited(after),
                    "phone_changed": old.phone != values["phone"],
                    "room_changed": old.room != values["room"],
                },
            )
        return after

    async def household(self, viewer: User, household_id: int) -> Household:
        """A household, for a member actively paired with it or a coordinator in reach
        (anyone else: NoSuchHousehold)."""
        async with self.store.read() as conn:
            household = await repo.get_household(conn, household_id)
            if household is None or not await self._may_see(conn, viewer, household):
                raise NoSuchHousehold()
        return household

    async def _may_see(self, conn: AsyncConnection, viewer: User, household: Household) -> bool:
        if viewer.covers(household.community_id, household.building_id):
            return True
        return await repo.active_pair(conn, viewer.id, household.id) is not None

    async def households(
        self, actor: User, *, building_id: int | None = None, after_id: int | None = None
    ) -> list[Household]:
        """A page of the households in a coordinator's reach (one building when named), in
        id order: pass the last id as `after_id` for the next page."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            return await repo.households_in(
                conn, reach, building_id=building_id, after_id=after_id, limit=HOUSEHOLDS_PAGE
            )

    async def contact(self, viewer: User, household_id: int) -> HouseholdContact:
        """The household's name, building, room and phone: for a member actively paired with
        it and a coordinator whose reach covers its building; NotAllowed for anyone else.
        Also what /wish_for fills a wish posted for the household with."""
        async with self.store.read() as conn:
            household = await repo.get_household(conn, household_id)
            if household is None or not await self._may_see(conn, viewer, household):
                raise NotAllowed()
            found = await repo.contact_of(conn, household_id)
        if found is None:
            raise NotAllowed()
        return found

    async def proxy_households(self, viewer: User) -> list[Household]:
        """The households the viewer may post a wish for (/wish_for): a member's actively
        paired ones, and for a coordinator also the first page of those in reach."""
        async with self.store.read() as conn:
            paired = await repo.pairs_of_member(conn, viewer.id)
            found = {
                h.id: h
                for h in await repo.households_by_id(conn, (p.household_id for p in paired))
            }
            if viewer.is_coordinator and viewer.reach is not None:
                for h in await repo.households_in(conn, viewer.reach, limit=HOUSEHOLDS_PAGE):
                    found.setdefault(h.id, h)
        return [found[i] for i in sorted(found)]

    # --- pairs ------------------------------------------------------------------------------

    async def pair(self, actor: User, member_id: int, household_id: int, cadence: Cadence) -> Pair:
        """A coordinator in reach pairs a member (Role.MEMBER, of the household's community)
        with a household; both are told (the household if a resident is linked); audited;
        the cadence reminders are set. Raises NotAMember, AlreadyPaired, NoSuchHousehold,
        NotAllowed (the coordinator themselves, or the household's own resident)."""
        require_coordinator(actor)
        cadence = Cadence(cadence)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            household = await self._household_in_reach(conn, actor, household_id)
            member = await users_repo.get_user(conn, member_id)
            if (
                member is None
                or not member.has(Role.MEMBER)
                or member.community_id != household.community_id
            ):
                raise NotAMember()
            if member.id in (actor.id, household.resident_id):
                # Visits earn points: nobody twins themselves, nor a member with their own home.
                raise NotAllowed()
            pair_id = await repo.insert_pair(
                conn,
                member_id=member.id,
                household=household,
                cadence_days=cadence.value,
                created_by=actor.id,
                now=now,
            )
            if pair_id is None:
                raise AlreadyPaired(name=member.display_name)
            pair = await repo.get_pair(conn, pair_id)
            assert pair is not None
            await audit.record(
                conn,
                actor_id=actor.id,
                action="pair.make",
                subject=f"pair:{pair_id}",
                now=now,
                community_id=household.community_id,
                after={
                    "member_id": member.id,
                    "household_id": household.id,
                    "cadence_days": cadence.value,
                },
            )
            await self.arm(conn, pair, previous=None)
            place = {
                "community_id": household.community_id,
                "building_id": household.building_id,
                "household_name": household.name,
                "building_name": household.building_name or "",
            }
            await self.notifier.tell(
                conn, member, PairMade(pair_id=pair.id, cadence_days=cadence.value, **place)
            )
            resident = await self._resident(conn, household)
            if resident is not None:
                notice = PairMadeForHousehold(member_name=member.display_name, **place)
                await self.notifier.tell(conn, resident, notice)
        self.notifier.wake()
        return pair

    async def _resident(self, conn: AsyncConnection, household: Household) -> User | None:
        if household.resident_id is None:
            return None
        return await users_repo.get_user(conn, household.resident_id)

    async def end_pair(self, actor: User, pair_id: int, reason: str | None) -> Pair:
        """A coordinator in reach ends a pair with a written reason; both sides are told;
        audited; its reminders are cancelled. Raises ReasonRequired, PairEnded, NotFound."""
        require_coordinator(actor)
        why = clean_reason(reason)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            pair = await repo.get_pair(conn, pair_id)
            if pair is None:
                raise NotFound()
            household = await self._household_in_reach(conn, actor, pair.household_id)
            if not await repo.end_pair(conn, pair.id, reason=why, ended_by=actor.id, now=now):
                raise PairEnded()
            await self.reminders.cancel(conn, f"pair:{pair.id}", recurring=False)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="pair.end",
                subject=f"pair:{pair.id}",
                now=now,
                community_id=household.community_id,
                before={"member_id": pair.member_id, "household_id": household.id},
                after={"reason": why},
            )
            place = {
                "community_id": household.community_id,
                "building_id": household.building_id,
                "household_name": household.name,
                "building_name": household.building_name or "",
            }
            member = await users_repo.get_user(conn, pair.member_id)
            if member is not None:
                await self.notifier.tell(conn, member, PairEndedNotice(reason=why, **place))
            resident = await self._resident(conn, household)
            if resident is not None:
                notice = PairEndedForHousehold(member_name=pair.member_name or "", **place)
                await self.notifier.tell(conn, resident, notice)
            ended = await repo.get_pair(conn, pair.id)
            assert ended is not None
        self.notifier.wake()
        return ended

    async def my_pairs(self, member: User) -> list[Pair]:
        """The member's active pairs, with household names and the latest visit day."""
        async with self.store.read() as conn:
            return await repo.pairs_of_member(conn, member.id)

    async def pairs_of(self, actor: User, household_id: int) -> list[Pair]:
        """Every pair of a household in a coordinator's reach, active and ended."""
        async with self.store.read() as conn:
            await self._household_in_reach(conn, actor, household_id)
            return await repo.pairs_of_household(conn, household_id)

    def is_behind(self, pair: Pair) -> bool:
        """More than the cadence has passed since the pair's latest visit (or its start)."""
        return pair.active and is_behind(
            self.anchor(pair), pair.cadence_days, self.clock.now(), self.settings.zone
        )

    # --- visits -----------------------------------------------------------------------------

    async def log_visit(
        self, member: User, draft: VisitDraft, *, token: str, confirmed: bool = False
    ) -> Visit:
        """A member logs a visit to a household they are actively paired with; the passbook
        is credited for it in the same transaction and the cadence re-armed. `token` names
        this one visit (the dialogue's): sent twice, the visit is made once and returned
        again. Help over RMB 100,000 needs `confirmed=True` (else NeedsConfirmation).
        Raises NotPaired, FutureVisit, VisitTooOld, BadAmount, AmountTooLarge,
        HelpKindRequired, BadWellbeing, EmptyVisit, TextTooLong."""
        token = token.strip()
        if not token or len(token) > TOKEN_MAX:
            raise ValueError("a visit's token is 1 to 64 characters")
        now = self.clock.now()
        today = local_day(now, self.settings.zone)
        visited_on = check_visit_date(draft.visited_on or today, today)
        fen = check_help(draft.help_fen, confirmed=confirmed)
        if fen and draft.help_kind is None:
            raise HelpKindRequired()
        wellbeing = check_wellbeing(draft.wellbeing)
        text = fold_text(draft.text, VISIT_TEXT_MAX)
        note = fold_text(draft.wellbeing_note, WELLBEING_NOTE_MAX)
        if not (draft.categories or text or draft.voice_file_id):
            raise EmptyVisit()
        async with self.store.transaction() as conn:
            done = await repo.visit_by_token(conn, member.id, token)
            if done is not None:
                return done  # the same "save" again
            pair = await repo.active_pair(conn, member.id, draft.household_id)
            if pair is None or not member.is_member:
                raise NotPaired()
            self._after_start(pair, visited_on)
            previous = self.anchor(pair)
            visit_id = await repo.insert_visit(
                conn,
                pair=pair,
                visited_on=visited_on,
                categories=draft.categories,
                text=text,
                voice_file_id=draft.voice_file_id,
                photo_file_id=draft.photo_file_id,
                help_kind=draft.help_kind,
                help_fen=fen,
                wellbeing=wellbeing,
                wellbeing_note=note,
                token=token,
                now=now,
            )
            if visit_id is None:  # raced with the same token
                raced = await repo.visit_by_token(conn, member.id, token)
                assert raced is not None
                return raced
            await self.passbook.credit(
                conn,
                community_id=pair.community_id,
                member_ids={member.id},
                kind=LedgerKind.VISIT,
                ref=visit_ref(pair.id, visited_on),
            )
            moved = pair.model_copy(
                update={"last_visited_on": max(visited_on, pair.last_visited_on or visited_on)}
            )
            await self.arm(conn, moved, previous=previous)
            visit = await repo.get_visit(conn, visit_id)
            assert visit is not None
        return visit

    def _after_start(self, pair: Pair, day: date) -> None:
        paired_on = local_day(pair.started_at, self.settings.zone)
        if day < paired_on:
            raise VisitBeforePair(day=paired_on.isoformat())

    async def check_visit_day(self, member: User, household_id: int, day: date) -> date:
        """The day a member says they visited, checked as `log_visit` will check it (not in
        the future, not too old, not before the pair began), for the dialogue's first step."""
        check_visit_date(day, local_day(self.clock.now(), self.settings.zone))
        async with self.store.read() as conn:
            pair = await repo.active_pair(conn, member.id, household_id)
        if pair is None or not member.is_member:
            raise NotPaired()
        self._after_start(pair, day)
        return day

    async def visit_points(self, member: User, visit: Visit) -> int | None:
        """The points the member's visit earned: the passbook entry of its pair's day, when
        it was that day's first visit (None for a later one that day, which earns nothing)."""
        if visit.member_id != member.id:
            raise NotPaired()
        async with self.store.read() as conn:
            first = await repo.first_visit_of_day(conn, visit.pair_id, visit.visited_on)
            if first != visit.id:
                return None
            entry = await ledger_repo.entry_by_ref(
                conn, member.id, LedgerKind.VISIT, visit_ref(visit.pair_id, visit.visited_on)
            )
        return entry.points if entry is not None else None

    async def visit(self, viewer: User, visit_id: int) -> Visit:
        """One visit (its photo, its voice note) for a paired member or a coordinator in
        reach of its household; anyone else: NoSuchHousehold."""
        async with self.store.read() as conn:
            visit = await repo.get_visit(conn, visit_id)
            household = await repo.get_household(conn, visit.household_id) if visit else None
            if (
                visit is None
                or household is None
                or not await self._may_see(conn, viewer, household)
            ):
                raise NoSuchHousehold()
        return visit

    async def visits(
        self, viewer: User, household_id: int, *, before_id: int | None = None
    ) -> list[Visit]:
        """A page of a household's visits, newest first, for a paired member or a
        coordinator in reach (keyset: the last visit's id as `before_id`)."""
        async with self.store.read() as conn:
            household = await repo.get_household(conn, household_id)
            if household is None or not await self._may_see(conn, viewer, household):
                raise NoSuchHousehold()
            return await repo.visits_of_household(conn, household_id, before_id=before_id)

    async def wellbeing(self, viewer: User, household_id: int) -> list[WellbeingPoint]:
        """The household's wellbeing marks over its visits, oldest first: (day, mark)."""
        async with self.store.read() as conn:
            household = await repo.get_household(conn, household_id)
            if household is None or not await self._may_see(conn, viewer, household):
                raise NoSuchHousehold()
            return await repo.wellbeing_of(conn, household_id)

    # --- for coordinators: attention and totals ---------------------------------------------

    async def needs_attention(self, actor: User) -> list[AttentionItem]:
        """Households in the coordinator's reach whose latest wellbeing mark dropped or is 2
        or less, or not visited for 60 days (never visited: registered that long ago); the
        lowest marks first, then the longest unvisited."""
        reach = require_coordinator(actor)
        zone = self.settings.zone
        today = local_day(self.clock.now(), zone)
        # household → (why, latest mark, the one before, last visited)
        flagged: dict[int, tuple[frozenset[AttentionReason], int | None, int | None, date | None]]
        flagged = {}
        # Every household in reach, a batch at a time (a district holds thousands of pairs):
        # its registration day, marks and last visit read by id, off the loop; only the
        # households that need a look are then loaded whole.
        async with self.store.read(off_loop=True) as conn:
            after: int | None = None
            while True:
                batch = await repo.registered_in(
                    conn, reach, after_id=after, limit=ATTENTION_BATCH
                )
                ids = [i for i, _ in batch]
                marks = await repo.latest_marks(conn, ids)
                last = await repo.last_visits(conn, ids)
                for household_id, registered in batch:
                    latest, previous = marks.get(household_id, (None, None))
                    visited = last.get(household_id)
                    registered_on = local_day(registered, zone)
                    reasons = attention_reasons(latest, previous, visited, registered_on, today)
                    if reasons:
                        flagged[household_id] = (reasons, latest, previous, visited)
                if len(batch) < ATTENTION_BATCH:
                    break
                after = ids[-1]
            wanted = sorted(flagged)
            found: list[Household] = []
            for start in range(0, len(wanted), ATTENTION_BATCH):
                found += await repo.households_by_id(conn, wanted[start : start + ATTENTION_BATCH])
        items = [
            AttentionItem(
                household=h,
                reasons=flagged[h.id][0],
                latest_mark=flagged[h.id][1],
                previous_mark=flagged[h.id][2],
                last_visited_on=flagged[h.id][3],
            )
            for h in found
        ]
        items.sort(
            key=lambda i: (
                i.latest_mark if i.latest_mark is not None else 6,
                i.last_visited_on or date.min,
                i.household.id,
            )
        )
        return items

    async def totals(
        self,
        actor: User,
        start: date,
        end: date,
        *,
        community_id: int | None = None,
        building_id: int | None = None,
    ) -> TwinningTotals:
        """Pairs formed and active, visits, RMB of help (funds, materials) from `start` to
        `end` (local days, both counted), for one building, one community, or everything in
        the coordinator's reach. Off the event loop: a year of a street is a long read."""
        reach = require_coordinator(actor)
        if end < start:
            raise BadPeriod()
        async with self.store.read(off_loop=True) as conn:
            if building_id is not None:
                building = await org.get_building(conn, building_id)
                if building is None:
                    raise NotFound()
                require_covers(actor, building.community_id, building.id)
                communities = {building.community_id}
            elif community_id is not None:
                require_covers(actor, community_id)  # a building's coordinator: refused
                communities = {community_id}
            else:
                communities = set(reach.community_ids)
                building_id = reach.building_id
            zone = self.settings.zone
            counted = await repo.totals(
                conn,
                community_ids=communities,
                building_id=building_id,
                start=start,
                end=end,
                from_moment=datetime.combine(start, datetime.min.time(), tzinfo=zone),
                until_moment=datetime.combine(
                    end + timedelta(days=1), datetime.min.time(), tzinfo=zone
                ),
            )
        return TwinningTotals(
            start=start,
            end=end,
            community_id=community_id,
            building_id=building_id,
            **counted,
        )

    async def quarter_totals(
        self,
        actor: User,
        quarter: str,
        *,
        community_id: int | None = None,
        building_id: int | None = None,
    ) -> TwinningTotals:
        """`totals` for a quarter ("2026Q4"), in the community's time zone."""
        start, after = quarter_bounds(quarter, self.settings.zone)
        return await self.totals(
            actor,
            start.date(),
            after.date() - timedelta(days=1),
            community_id=community_id,
            building_id=building_id,
        )
