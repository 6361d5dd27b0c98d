"""Domain types shared by every layer: enums and pydantic models. No Telegram, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

# The languages Linli speaks (zh-CN first); every text exists in each.
LANGUAGES: tuple[str, ...] = ("zh", "en")


def N_(message: str) -> str:
    """Mark a text for translation where it is defined; it is translated where it is shown."""
    return message


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- people and the organisation tree ------------------------------------------------------


class Role(StrEnum):
    RESIDENT = "resident"
    MEMBER = "member"
    COORDINATOR = "coordinator"


class Skill(StrEnum):
    DOMESTIC_HELP = "domestic_help"
    REPAIRS = "repairs"
    ELDERLY_CARE = "elderly_care"
    TUTORING = "tutoring"
    LEGAL = "legal"
    MEDICAL = "medical"
    EMPLOYMENT = "employment"
    COUNSELLING = "counselling"
    OTHER = "other"


SKILL_LABELS: dict[Skill, str] = {
    Skill.DOMESTIC_HELP: N_("Domestic help"),
    Skill.REPAIRS: N_("Repairs"),
    Skill.ELDERLY_CARE: N_("Elderly care"),
    Skill.TUTORING: N_("Tutoring"),
    Skill.LEGAL: N_("Legal advice"),
    Skill.MEDICAL: N_("Medical care"),
    Skill.EMPLOYMENT: N_("Employment guidance"),
    Skill.COUNSELLING: N_("Psychological counselling"),
    Skill.OTHER: N_("Other"),
}


class NodeKind(StrEnum):
    """The levels of the organisation tree, from the bottom up."""

    BUILDING = "building"
    COMMUNITY = "community"
    STREET = "street"
    DISTRICT = "district"


NODE_LABELS: dict[NodeKind, str] = {
    NodeKind.BUILDING: N_("Building"),
    NodeKind.COMMUNITY: N_("Community"),
    NodeKind.STREET: N_("Street"),
    NodeKind.DISTRICT: N_("District"),
}


class Node(Model):
    """One place in the tree: a building, a community, a street or a district."""

    kind: NodeKind
    id: int


class Reach(Model):
    """What a coordinator appointed to `node` sees and acts on: the communities below it. A
    building's coordinator reaches one community, and in it only that building's people and
    wishes."""

    node: Node
    community_ids: frozenset[int]
    building_id: int | None = None

    def covers(self, community_id: int | None, building_id: int | None = None) -> bool:
        if community_id not in self.community_ids:
            return False
        return self.building_id is None or building_id == self.building_id

    @property
    def only_community(self) -> int | None:
        """The community, when the node holds exactly one (None: several, or none)."""
        return next(iter(self.community_ids)) if len(self.community_ids) == 1 else None

    @property
    def whole_communities(self) -> bool:
        """False for a building's coordinator: they run no community-wide housekeeping."""
        return self.building_id is None


class Community(Model):
    id: int
    name: str
    street_id: int
    street_name: str
    district_id: int
    district_name: str


class Street(Model):
    id: int
    name: str
    district_id: int
    district_name: str


class Building(Model):
    id: int
    community_id: int
    name: str
    archived: bool = False


class User(Model):
    """A registered person. `id` is the Telegram user id (and private chat id)."""

    id: int
    display_name: str
    language: str
    building_id: int | None = None
    room: str | None = None
    phone: str | None = None
    roles: frozenset[Role] = frozenset({Role.RESIDENT})
    skills: frozenset[Skill] = frozenset()
    announcements: bool = True
    # A member's consent to show their phone to the residents whose wishes they take on.
    share_phone: bool = False
    quiet_start: int = 22 * 60  # minutes after local midnight
    quiet_end: int = 7 * 60
    unreachable: bool = False
    registered_at: datetime
    community_id: int | None = None
    reach: Reach | None = None  # a coordinator's: where they are appointed

    def has(self, role: Role) -> bool:
        return role in self.roles

    def covers(self, community_id: int | None, building_id: int | None = None) -> bool:
        """A coordinator whose node lies above this community (and building)."""
        return (
            self.is_coordinator
            and self.reach is not None
            and self.reach.covers(community_id, building_id)
        )

    def belongs_to(self, community_id: int | None) -> bool:
        return community_id is not None and self.community_id == community_id

    @property
    def is_member(self) -> bool:
        return Role.MEMBER in self.roles

    @property
    def is_coordinator(self) -> bool:
        return Role.COORDINATOR in self.roles


class Invite(Model):
    id: int
    code: str
    created_by: int
    created_at: datetime
    expires_at: datetime
    max_uses: int
    uses: int
    revoked: bool = False
    community_id: int | None = None


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class MemberApplication(Model):
    id: int
    user_id: int
    invite_id: int
    building_id: int | None
    skills: frozenset[Skill]
    status: ApplicationStatus
    reason: str | None = None
    created_at: datetime
    decided_by: int | None = None
    decided_at: datetime | None = None


class AuditEntry(Model):
    id: int
    actor_id: int
    action: str
    subject: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    at: datetime
    community_id: int | None = None
    # Filled for reading (never stored): who acted and what the subject is called, by name.
    actor_name: str | None = None
    subject_name: str | None = None


# --- delivery ------------------------------------------------------------------------------


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by the sender; its request may be in flight
    SENT = "sent"
    BLOCKED = "blocked"  # Forbidden: the user blocked the bot or left the chat
    FAILED = "failed"  # gave up after retries or a permanent error
    CANCELLED = "cancelled"


class OutgoingMessage(Model):
    """What to send; services build these, the outbox stores and sends them."""

    chat_id: int
    text: str | None = None
    photo_file_id: str | None = None
    document_file_id: str | None = None
    # A voice note with the text as its caption: only for notices, rendered when they leave
    # (the outbox table keeps no voice for a message of its own).
    voice_file_id: str | None = None
    parse_mode: str | None = "HTML"
    # Inline keyboard as rows of (label, callback_data); built by the service's caller.
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()


class Delivery(StrEnum):
    """What the sender does with a message whose fate it cannot know: the request left, then
    the connection broke or timed out before the answer, or the bot was killed meanwhile. The
    Bot API has no idempotency key, so the choice is between a possible duplicate and a
    possible loss; each kind of message makes it (see bot/runtime/outbox.py)."""

    AT_LEAST_ONCE = "at_least_once"  # sent again: a rare duplicate is worth it
    AT_MOST_ONCE = "at_most_once"  # counted as delivered: a second copy is not wanted


@dataclass(frozen=True)
class DeliveryPolicy:
    """How one message is delivered: its choice after an ambiguous outcome, and how long it
    may wait (through outages and flood waits) before it is no longer worth sending."""

    delivery: Delivery = Delivery.AT_LEAST_ONCE
    stale_after: timedelta = timedelta(days=1)


class Notice(Model):
    """What must be told to someone, as data: a kind and its parameters. A service records a
    notice in the transaction of the change it announces; the feature's views render it (in the
    recipient's language) when the outbox sends it. Each subclass names its KIND once, and may
    name how it is delivered (POLICY, or `policy` when it depends on the parameters) and whom to
    tell when it went stale instead (`when_stale`)."""

    KIND: ClassVar[str] = ""
    TYPES: ClassVar[dict[str, type[Notice]]] = {}
    POLICY: ClassVar[DeliveryPolicy] = DeliveryPolicy()

    @classmethod
    def policy(cls, params: dict[str, Any]) -> DeliveryPolicy:
        """This message's delivery policy (from the row's parameters, without loading them)."""
        return cls.POLICY

    @classmethod
    def when_stale(cls, params: dict[str, Any]) -> tuple[Notice, str] | None:
        """What coordinators are told when this message went stale unsent, and what it is
        about (they are told once per subject); None: nobody is told."""
        return None

    def place(self) -> tuple[int | None, int | None]:
        """The community and building the notice is about, for telling the coordinators above
        it; (None, None): about the bot itself."""
        return None, None

    @staticmethod
    def type_of(kind: str | None) -> type[Notice] | None:
        """The notice class an outbox row's kind names (None: no kind, or an unknown one)."""
        return Notice.TYPES.get(kind) if kind is not None else None

    @staticmethod
    def policy_of(kind: str | None, params: dict[str, Any] | None) -> DeliveryPolicy:
        """The policy of an outbox row's notice (rows without a kind: the default)."""
        known = Notice.type_of(kind)
        return known.policy(params or {}) if known is not None else Notice.POLICY

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if not cls.KIND:
            return
        known = Notice.TYPES.get(cls.KIND)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"notice kind {cls.KIND!r} is defined twice")
        Notice.TYPES[cls.KIND] = cls

    def params(self) -> dict[str, Any]:
        """The parameters as JSON-ready values (what the outbox row keeps)."""
        return self.model_dump(mode="json")

    @staticmethod
    def load(kind: str, params: dict[str, Any]) -> Notice:
        """The notice an outbox row holds; KeyError for a kind this release does not know."""
        return Notice.TYPES[kind].model_validate(params)


class OutboxItem(Model):
    id: int
    message: OutgoingMessage  # the content, for rows queued already rendered (none today)
    kind: str | None = None  # a notice kind (rendered when sent), or None
    params: dict[str, Any] | None = None
    language: str | None = None  # the recipient's language when it was queued
    dedupe_key: str | None
    not_before: datetime
    status: OutboxStatus
    attempts: int
    last_error: str | None = None
    sent_message_id: int | None = None
    broadcast_id: int | None = None
    created_at: datetime
    sent_at: datetime | None = None


class LiveMessage(Model):
    """A message that shows a thing (a wish's wall post, the card someone opened, a
    broadcast's progress) and is edited whenever the thing changes."""

    id: int
    key: str  # unique: one message per place, e.g. "wish:12:wall", "wish:12:card:42"
    thing: str  # what it shows, e.g. "wish:12": a change to it edits every message of it
    view: str  # which view renders it, e.g. "wish.wall", "wish.card"
    chat_id: int
    message_id: int | None  # None until its first send (through the outbox) went out
    outbox_id: int | None  # the row that sends it first, when it goes through the outbox
    viewer_id: int | None  # whose eyes it is rendered for (buttons, contact), if anyone's
    language: str


class ReminderStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"  # fell due while the bot was down and went stale
    CANCELLED = "cancelled"
    FAILED = "failed"  # its action raised; logged, not retried


class Reminder(Model):
    id: int
    subject: str  # what it is about, e.g. "wish:12" or "shift:5"; used to cancel them together
    kind: str  # what to do when due, e.g. "wish.escalate"
    recipient_id: int | None
    payload: dict[str, Any]
    due_at: datetime
    stale_after: datetime | None
    dedupe_key: str
    status: ReminderStatus


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class RecurringSchedule(Model):
    """A repeating reminder at a local time; expanded into Reminder rows ahead of time."""

    id: int
    subject: str
    kind: str
    recipient_id: int | None
    payload: dict[str, Any]
    frequency: Frequency
    local_time: str  # HH:MM in the community's zone
    weekday: int | None = None  # 0 = Monday, for weekly
    day_of_month: int | None = None  # 1-31 (clamped to the month's last day), for monthly
    stale_minutes: int | None = None
    expanded_until: datetime | None = None
    active: bool = True


class AudienceKind(StrEnum):
    EVERYONE = "everyone"
    RESIDENTS = "residents"
    MEMBERS = "members"
    COORDINATORS = "coordinators"
    BUILDING = "building"
    TEAM = "team"
    SESSION = "session"


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(Model):
    id: int
    created_by: int
    audience: AudienceKind
    audience_ref: int | None
    text: str | None
    photo_file_id: str | None
    document_file_id: str | None
    urgent: bool
    status: BroadcastStatus
    scheduled_at: datetime | None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    node: Node | None = None  # whose people it goes to: its coordinator's node
    # A body that is data, rendered in each reader's language by the view registered for the
    # kind (a monthly digest); None: `text` is the body.
    content_kind: str | None = None
    content: dict[str, Any] | None = None


class ReceivedBroadcast(Model):
    """An announcement as it reached one person: when it was delivered to their chat."""

    broadcast: Broadcast
    received_at: datetime


# --- micro-wishes and service teams --------------------------------------------------------


class WishStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"  # the member reported it done; the resident has not confirmed yet
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


WISH_STATUS_LABELS: dict[WishStatus, str] = {
    WishStatus.OPEN: N_("Waiting for a helper"),
    WishStatus.CLAIMED: N_("Being helped"),
    WishStatus.DONE: N_("Done, waiting for confirmation"),
    WishStatus.CONFIRMED: N_("Confirmed"),
    WishStatus.CANCELLED: N_("Cancelled"),
    WishStatus.EXPIRED: N_("Expired"),
}


class WishCategory(StrEnum):
    DAILY_LIFE = "daily_life"
    ELDERLY_CARE = "elderly_care"
    CHILDREN_STUDY = "children_study"
    HEALTH = "health"
    LEGAL = "legal"
    EMPLOYMENT = "employment"
    REPAIRS = "repairs"
    PSYCHOLOGICAL = "psychological"
    OTHER = "other"


WISH_CATEGORY_LABELS: dict[WishCategory, str] = {
    WishCategory.DAILY_LIFE: N_("Daily life"),
    WishCategory.ELDERLY_CARE: N_("Care for the elderly"),
    WishCategory.CHILDREN_STUDY: N_("Children and study"),
    WishCategory.HEALTH: N_("Health"),
    WishCategory.LEGAL: N_("Legal help"),
    WishCategory.EMPLOYMENT: N_("Work and jobs"),
    WishCategory.REPAIRS: N_("Repairs at home"),
    WishCategory.PSYCHOLOGICAL: N_("Someone to talk to"),
    WishCategory.OTHER: N_("Something else"),
}


class Wish(Model):
    """A micro-wish or urgent help request. Contact details are NOT here: see WishContact."""

    id: int
    community_id: int
    building_id: int | None
    posted_by: int  # the resident, or the member/coordinator who posted on someone's behalf
    for_name: str | None = None  # set when posted on behalf of someone without a phone
    category: WishCategory
    text: str | None = None
    photo_file_id: str | None = None
    voice_file_id: str | None = None
    urgent: bool = False
    status: WishStatus
    needed_by: datetime | None = None
    created_at: datetime
    claimed_by: int | None = None
    team_id: int | None = None
    claimed_at: datetime | None = None
    done_at: datetime | None = None
    done_note: str | None = None
    done_photo_file_id: str | None = None
    done_voice_file_id: str | None = None
    closed_at: datetime | None = None  # confirmed, cancelled or expired
    rating: int | None = None
    thanks: str | None = None
    thanks_voice_file_id: str | None = None
    escalated_at: datetime | None = None  # coordinators were asked to help (urgent only)
    # Joined for display, so lists need no extra queries.
    poster_name: str | None = None
    claimer_name: str | None = None
    building_name: str | None = None
    team_name: str | None = None

    @property
    def is_proxy(self) -> bool:
        return self.for_name is not None

    @property
    def thanked(self) -> bool:
        """The resident has thanked (in words or with a voice note): once only."""
        return self.thanks is not None or self.thanks_voice_file_id is not None


class WishContact(Model):
    """Who to see and how to reach them: only for the claimer and coordinators."""

    wish_id: int
    name: str
    building_name: str | None = None
    room: str | None = None
    phone: str | None = None


class Visitor(Model):
    """Someone who may come to a resident's door for a wish, as the resident is told: the
    name to ask for, and the phone only when they agreed to show it (in /profile)."""

    user_id: int
    name: str
    phone: str | None = None


class AtDoor(Model):
    """Who is coming for a wish in hand, for its resident to check at the door: the claimer
    first, then anyone the team leader put on it; the team and its leader for a team claim."""

    wish_id: int
    visitors: tuple[Visitor, ...]
    team_name: str | None = None
    leader_name: str | None = None


class WishEventKind(StrEnum):
    POSTED = "posted"
    CLAIMED = "claimed"
    RELEASED = "released"
    DONE = "done"
    NOT_DONE = "not_done"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REPOSTED = "reposted"
    ESCALATED = "escalated"
    RATED = "rated"
    THANKED = "thanked"
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    REASSIGNED = "reassigned"  # a coordinator moved a claimed wish to another member


class WishEvent(Model):
    id: int
    wish_id: int
    kind: WishEventKind
    actor_id: int | None  # None: the system (expiry, escalation)
    at: datetime
    from_status: WishStatus | None = None
    to_status: WishStatus | None = None
    note: str | None = None
    voice_file_id: str | None = None  # "not done" said as a voice note


class Handshake(Model):
    """A wish's handshake at the door: the code only its resident sees, and the wrong tries.
    Never part of `Wish`: read on purpose (`storage.wishes.handshake_of`) for the resident's
    own card and notice, and for checking a code."""

    code: str | None = Field(default=None, repr=False)
    tries: int = 0
    locked: bool = False


class WishParticipant(Model):
    """Someone credited for a confirmed wish (the passbook turns these into points)."""

    wish_id: int
    user_id: int
    team_id: int | None = None
    credited_at: datetime


class WishPage(Model):
    wishes: tuple[Wish, ...]
    next_before: int | None = None  # keyset: pass as `before` for the next page


class TeamKind(StrEnum):
    LEGAL = "legal"
    MEDICAL = "medical"
    DOMESTIC = "domestic"
    EMPLOYMENT = "employment"
    PSYCHOLOGICAL = "psychological"
    OTHER = "other"


TEAM_KIND_LABELS: dict[TeamKind, str] = {
    TeamKind.LEGAL: N_("Legal team"),
    TeamKind.MEDICAL: N_("Medical team"),
    TeamKind.DOMESTIC: N_("Domestic help team"),
    TeamKind.EMPLOYMENT: N_("Employment team"),
    TeamKind.PSYCHOLOGICAL: N_("Counselling team"),
    TeamKind.OTHER: N_("Other team"),
}


class Team(Model):
    id: int
    community_id: int
    name: str
    kind: TeamKind
    leader_id: int
    active: bool = True
    created_at: datetime
    member_ids: frozenset[int] = frozenset()


# --- the love-savings passbook -------------------------------------------------------------


class LedgerKind(StrEnum):
    """What points are for. Each kind's points come from the community's rules
    (`point_rules`, defaults in bot/services/passbook/rules.py), but for adjustments and
    corrections, which a coordinator writes with a reason."""

    WISH = "wish"  # a confirmed wish, for everyone who took part
    URGENT = "urgent"  # a confirmed urgent request
    RATING = "rating"  # the resident's stars above 3 (points per star)
    PATROL = "patrol"  # per hour of a patrol shift served
    STUDY = "study"  # a study session attended
    VISIT = "visit"  # a twinning visit logged
    ADJUSTMENT = "adjust"  # a coordinator's, with a written reason
    CORRECTION = "correct"  # undoes an entry (its ref names it), with a written reason


class LedgerEntry(Model):
    id: int
    community_id: int
    member_id: int
    kind: LedgerKind
    ref: str
    points: int
    quarter: str
    reason: str | None = None
    corrects_id: int | None = None
    granted_by: int | None = None
    created_at: datetime


class Balance(Model):
    """A member's points: this quarter and all time (every community they served in)."""

    member_id: int
    quarter: str
    this_quarter: int = 0
    all_time: int = 0


class RankedMember(Model):
    place: int
    member_id: int
    display_name: str
    building_name: str | None = None
    points: int


# --- twinning (结对帮扶): households, pairs, visits -------------------------------------------


class Circumstance(StrEnum):
    """Why a household is looked after (a household may have several)."""

    ELDERLY_ALONE = "elderly_alone"  # 独居老人
    DISABLED = "disabled"  # 残疾人
    LAID_OFF = "laid_off"  # 下岗职工
    LEFT_BEHIND_CHILDREN = "left_behind_children"  # 留守儿童
    LOW_INCOME = "low_income"  # 低收入家庭


CIRCUMSTANCE_LABELS: dict[Circumstance, str] = {
    Circumstance.ELDERLY_ALONE: N_("Elderly living alone"),
    Circumstance.DISABLED: N_("Disabled"),
    Circumstance.LAID_OFF: N_("Laid-off workers"),
    Circumstance.LEFT_BEHIND_CHILDREN: N_("Left-behind children"),
    Circumstance.LOW_INCOME: N_("Low-income family"),
}


class Cadence(IntEnum):
    """How often a pair's member visits: the value is the days between visits."""

    WEEKLY = 7
    FORTNIGHTLY = 14
    MONTHLY = 30


CADENCE_LABELS: dict[Cadence, str] = {
    Cadence.WEEKLY: N_("Every week"),
    Cadence.FORTNIGHTLY: N_("Every two weeks"),
    Cadence.MONTHLY: N_("Every month"),
}


class VisitCategory(StrEnum):
    """What was done on a visit (a visit may do several)."""

    CHAT = "chat"  # 聊天陪伴
    CLEANING = "cleaning"  # 打扫卫生
    ERRANDS = "errands"  # 代购代办
    RICE_AND_OIL = "rice_and_oil"  # 送米送油
    POLICY = "policy"  # 政策宣讲
    MEDICAL_ESCORT = "medical_escort"  # 就医陪护
    OTHER = "other"  # 其他


VISIT_CATEGORY_LABELS: dict[VisitCategory, str] = {
    VisitCategory.CHAT: N_("Chatting and company"),
    VisitCategory.CLEANING: N_("Cleaning"),
    VisitCategory.ERRANDS: N_("Shopping and errands"),
    VisitCategory.RICE_AND_OIL: N_("Rice and oil delivered"),
    VisitCategory.POLICY: N_("Explaining policies"),
    VisitCategory.MEDICAL_ESCORT: N_("Going to the doctor together"),
    VisitCategory.OTHER: N_("Something else"),
}


class HelpKind(StrEnum):
    """Help given on a visit, valued in RMB: money, or goods."""

    FUNDS = "funds"  # 资金
    MATERIALS = "materials"  # 物资


HELP_KIND_LABELS: dict[HelpKind, str] = {
    HelpKind.FUNDS: N_("Funds"),
    HelpKind.MATERIALS: N_("Materials"),
}


class Household(Model):
    """A household looked after by twinned members; it need not be on Telegram. Its phone is
    NOT here: see HouseholdContact (paired members and coordinators in reach only)."""

    id: int
    community_id: int
    building_id: int
    building_name: str | None = None
    name: str
    room: str | None = None
    circumstances: frozenset[Circumstance] = frozenset()
    notes: str | None = None
    resident_id: int | None = None  # a registered resident of the household (told of pairs)
    consent_by: int  # who recorded the household's consent to be registered
    consent_at: datetime
    created_by: int
    created_at: datetime


class HouseholdContact(Model):
    """Who to visit and how to reach them; also what a wish posted for them carries."""

    household_id: int
    name: str
    building_id: int
    building_name: str | None = None
    room: str | None = None
    phone: str | None = None


class Pair(Model):
    """A member twinned with a household (结对), from `started_at` until ended."""

    id: int
    member_id: int
    household_id: int
    community_id: int
    building_id: int
    cadence_days: int
    started_at: datetime
    created_by: int
    ended_at: datetime | None = None
    end_reason: str | None = None
    ended_by: int | None = None
    last_visited_on: date | None = None  # joined for display and for the cadence
    member_name: str | None = None
    household_name: str | None = None
    building_name: str | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None


class Visit(Model):
    """A visit a member logged (append-only). `help_fen`: the RMB value in fen (分)."""

    id: int
    pair_id: int
    household_id: int
    member_id: int
    community_id: int
    building_id: int
    visited_on: date  # in the community's time zone
    categories: frozenset[VisitCategory] = frozenset()
    text: str | None = None
    voice_file_id: str | None = None
    photo_file_id: str | None = None
    help_kind: HelpKind | None = None
    help_fen: int = 0
    wellbeing: int | None = None  # 1 (poorly) to 5 (well)
    wellbeing_note: str | None = None
    created_at: datetime


class WellbeingPoint(Model):
    visited_on: date
    mark: int
    visit_id: int


class AttentionReason(StrEnum):
    DROPPED = "dropped"  # the latest wellbeing mark is below the one before
    LOW = "low"  # the latest wellbeing mark is 2 or less
    UNVISITED = "unvisited"  # no visit for 60 days (or never, registered that long ago)


class AttentionItem(Model):
    """A household a coordinator should look at, and why."""

    household: Household
    reasons: frozenset[AttentionReason]
    latest_mark: int | None = None
    previous_mark: int | None = None
    last_visited_on: date | None = None


class TwinningTotals(Model):
    """What the seeds report for a period and place: pairs formed, real things done (visits),
    and the RMB value of help given (in fen)."""

    start: date  # first day counted, in the community's time zone
    end: date  # last day counted
    community_id: int | None = None
    building_id: int | None = None
    households: int = 0  # registered by the end
    pairs_active: int = 0  # active at the end
    pairs_formed: int = 0  # started within the period
    visits: int = 0
    funds_fen: int = 0
    materials_fen: int = 0

    @property
    def help_fen(self) -> int:
        return self.funds_fen + self.materials_fen


# --- slots: patrol shifts and study sessions ----------------------------------------------


class SlotKind(StrEnum):
    PATROL = "patrol"  # a patrol shift (巡逻值守), at a post
    STUDY = "study"  # a study session (学习)


class SlotStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class SignupStatus(StrEnum):
    """A person's answer to a slot. Patrol: GOING, then LEAVING (asked a coordinator to be let
    off, past the time to drop out alone) or DROPPED. Study: GOING (will attend) or EXCUSED
    (with a reason); the audience who have not answered have no row."""

    GOING = "going"
    LEAVING = "leaving"
    DROPPED = "dropped"
    EXCUSED = "excused"


# The statuses that hold a place in the slot (count in `taken`, are reminded, may check in).
HOLDING = frozenset({SignupStatus.GOING, SignupStatus.LEAVING})


class SwapStatus(StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    WITHDRAWN = "withdrawn"  # the offer was taken back, or the shift began or was cancelled


class FindingStatus(StrEnum):
    NEW = "new"
    HANDLED = "handled"
    WISHED = "wished"  # turned into a wish (its wish_id)


class StudyAudience(StrEnum):
    MEMBERS = "members"  # the community's members
    BUILDING = "building"  # one building's members (the slot's building)
    EVERYONE = "everyone"  # everyone registered in the community


STUDY_AUDIENCE_LABELS: dict[StudyAudience, str] = {
    StudyAudience.MEMBERS: N_("Members"),
    StudyAudience.BUILDING: N_("One building's members"),
    StudyAudience.EVERYONE: N_("Everyone"),
}


class Recurrence(StrEnum):
    ONCE = "once"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"  # the same day of the month ("theme day on the 1st")


class Slot(Model):
    """A time people sign up for, are reminded of and check in to."""

    id: int
    kind: SlotKind
    community_id: int
    building_id: int | None = None
    series_id: int | None = None
    starts_at: datetime
    ends_at: datetime
    capacity: int | None = None  # None: as many as come
    taken: int = 0  # sign-ups holding a place
    status: SlotStatus
    created_by: int
    created_at: datetime
    cancelled_at: datetime | None = None

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.taken >= self.capacity

    @property
    def open(self) -> bool:
        return self.status is SlotStatus.OPEN


class Signup(Model):
    id: int
    slot_id: int
    user_id: int
    status: SignupStatus
    reason: str | None = None
    starts_at: datetime
    ends_at: datetime
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    created_at: datetime
    updated_at: datetime
    user_name: str | None = None  # joined for display

    @property
    def holding(self) -> bool:
        return self.status in HOLDING


class Swap(Model):
    id: int
    slot_id: int
    from_user_id: int
    taken_by: int | None = None
    status: SwapStatus
    created_at: datetime
    decided_at: datetime | None = None


class PatrolPost(Model):
    id: int
    community_id: int
    name: str
    area: str | None = None
    building_ids: tuple[int, ...] = ()
    archived: bool = False
    created_by: int
    created_at: datetime


class Shift(Model):
    """A patrol shift: a slot at a post."""

    slot: Slot
    post_id: int
    post_name: str


class Finding(Model):
    """Something a member on patrol saw and reported to the coordinators."""

    id: int
    slot_id: int
    community_id: int
    building_id: int | None = None
    reported_by: int
    reporter_name: str | None = None
    text: str | None = None
    voice_file_id: str | None = None
    photo_file_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    status: FindingStatus
    handled_by: int | None = None
    handled_at: datetime | None = None
    wish_id: int | None = None
    created_at: datetime


class StudySession(Model):
    """A study session (小家庭党校, a theme day): a slot with what, where and for whom. Its
    check-in code is not here: the coordinator's screen reads it (`session_code`)."""

    slot: Slot
    title: str
    topic: str | None = None
    place: str | None = None
    link: str | None = None
    material_file_id: str | None = None
    material_name: str | None = None
    material_link: str | None = None
    audience: StudyAudience
    recurrence: Recurrence


class Attendance(Model):
    """Attendance over a period, of one session or one member: attended (checked in), excused,
    absent (in the audience, neither)."""

    attended: int = 0
    excused: int = 0
    absent: int = 0

    @property
    def expected(self) -> int:
        return self.attended + self.excused + self.absent


# --- suggestions (社区智囊团) ----------------------------------------------------------------


class SuggestionTopic(StrEnum):
    ENVIRONMENT = "environment"  # 环境卫生
    SAFETY = "safety"
    SERVICES = "services"
    FACILITIES = "facilities"
    NEIGHBOURS = "neighbours"  # 邻里关系
    OTHER = "other"


SUGGESTION_TOPIC_LABELS: dict[SuggestionTopic, str] = {
    SuggestionTopic.ENVIRONMENT: N_("Environment and sanitation"),
    SuggestionTopic.SAFETY: N_("Safety"),
    SuggestionTopic.SERVICES: N_("Services"),
    SuggestionTopic.FACILITIES: N_("Facilities"),
    SuggestionTopic.NEIGHBOURS: N_("Neighbourhood relations"),
    SuggestionTopic.OTHER: N_("Other"),
}


class SuggestionStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"


SUGGESTION_STATUS_LABELS: dict[SuggestionStatus, str] = {
    SuggestionStatus.NEW: N_("New"),
    SuggestionStatus.IN_PROGRESS: N_("In progress"),
    SuggestionStatus.ANSWERED: N_("Answered"),
    SuggestionStatus.CLOSED: N_("Closed"),
}


class SuggestionLinkKind(StrEnum):
    """What answered a suggestion: a wish posted for it, a patrol finding, an announcement."""

    WISH = "wish"
    FINDING = "finding"
    BROADCAST = "broadcast"


# --- statistics and reports --------------------------------------------------------------


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    CUSTOM = "custom"


class Period(Model):
    """Local days, both counted, in the community's time zone (`bot.services.stats.period`
    makes and checks them; `bounds` turns them into instants)."""

    kind: PeriodKind
    first_day: date
    last_day: date


class CategoryFigures(Model):
    category: WishCategory
    posted: int = 0
    done: int = 0  # done or confirmed


class WishFigures(Model):
    """The wishes posted in the period (urgent ones included), and what has become of them by
    the time the figures are read: claimed at some point (released and re-claimed counts
    once), reported done, confirmed by the resident. Medians in minutes, over the wishes that
    got there; None when none did."""

    posted: int = 0
    claimed: int = 0
    done: int = 0  # reported done, confirmed or not
    confirmed: int = 0
    median_minutes_to_claim: float | None = None
    median_minutes_to_done: float | None = None
    by_category: list[CategoryFigures] = Field(default_factory=list)


class UrgentFigures(Model):
    """The urgent help requests posted in the period and how fast they were claimed."""

    posted: int = 0
    claimed: int = 0
    median_minutes_to_claim: float | None = None


class PatrolFigures(Model):
    """Patrol shifts that started in the period and were not cancelled."""

    shifts: int = 0
    hours: float = 0.0  # served: checked in to checked out, summed over the members
    missed: int = 0  # places held but never checked in to
    findings: int = 0  # reported in the period
    findings_handled: int = 0  # of those: handled or made a wish


class StudyFigures(Model):
    """Study sessions held (started in the period and over by the time the figures are read,
    not cancelled) and their attendance over the audience, counted as the study attendance
    report counts it. (Not "ended in the period": a session from 20:00 to 01:00 on the last
    day would be held in no period at all, and the report would disagree with /stats.)"""

    sessions: int = 0
    attendance: Attendance = Field(default_factory=Attendance)


class TopicFigures(Model):
    topic: SuggestionTopic
    received: int = 0
    answered: int = 0


class SuggestionFigures(Model):
    """Suggestions left in the period and how many have an answer (answered or closed after a
    reply) by the time the figures are read."""

    received: int = 0
    answered: int = 0
    by_topic: list[TopicFigures] = Field(default_factory=list)


class Leader(Model):
    """One of the passbook's leaders over the period: points earned in it."""

    member_id: int
    display_name: str
    points: int


class Figures(Model):
    """Everything `/stats` shows and `/export`'s summary sheet repeats, for one node of the
    organisation tree and one period. Counts add up over communities: a street's figures are
    the sum of its communities' (medians, rates and leaders are recomputed, not added)."""

    node: Node
    node_name: str
    period: Period
    zone: str  # the time zone the period's days are in
    wishes: WishFigures = Field(default_factory=WishFigures)
    urgent: UrgentFigures = Field(default_factory=UrgentFigures)
    active_members: int = 0  # members with any passbook entry in the period
    twinning: TwinningTotals
    patrol: PatrolFigures = Field(default_factory=PatrolFigures)
    study: StudyFigures = Field(default_factory=StudyFigures)
    suggestions: SuggestionFigures = Field(default_factory=SuggestionFigures)
    leaders: list[Leader] = Field(default_factory=list)


# --- reports: the /export workbook ---------------------------------------------------------


class ReportArea(StrEnum):
    """The detail sheets of an export, in their order."""

    WISHES = "wishes"
    VISITS = "visits"
    PATROL = "patrol"
    FINDINGS = "findings"
    STUDY = "study"
    SUGGESTIONS = "suggestions"
    PASSBOOK = "passbook"


class ReportPlan(Model):
    """What one export covers, checked by `ReportsService.plan` (role, node in reach): the
    place, the period as instants, and the moment it was asked for. Plain data, so the writer
    may run in a process of its own."""

    node: Node
    node_name: str
    reach: Reach
    period: Period
    start: datetime  # the period's first instant
    after: datetime  # the instant after its last day
    now: datetime
    zone: str
    contacts: bool = True  # a coordinator's export shows the resident's phone and room


class WishRow(NamedTuple):
    id: int
    posted_at: datetime
    building: str | None
    category: str  # WishCategory
    urgent: bool
    status: str  # WishStatus
    claimed_at: datetime | None
    done_at: datetime | None
    confirmed_at: datetime | None
    helper: str | None  # the member, or the team that took it
    resident: str | None  # contact details: only with ReportPlan.contacts
    room: str | None
    phone: str | None


class VisitRow(NamedTuple):
    visited_on: date
    member: str
    household: str
    building: str | None
    help_fen: int


class ShiftRow(NamedTuple):
    post: str
    starts_at: datetime
    ends_at: datetime
    members: int  # places held or served
    minutes_served: int  # within the shift, checked in to checked out, summed over members
    missed: int  # places held, never checked in to, once the shift ended


class FindingRow(NamedTuple):
    id: int
    reported_at: datetime
    post: str | None
    building: str | None
    reporter: str | None
    status: str  # FindingStatus
    handled_at: datetime | None
    wish_id: int | None


class SessionRow(NamedTuple):
    title: str
    starts_at: datetime
    attended: int
    excused: int
    absent: int


class SuggestionRow(NamedTuple):
    id: int
    topic: str  # SuggestionTopic
    created_at: datetime
    status: str  # SuggestionStatus
    answered_at: datetime | None
    replies: int
    author: str | None  # None when anonymous: nothing in a report names its author


class PassbookRow(NamedTuple):
    member: str
    points: int


# --- suggestions: what the suggestions feature reads and writes -------------------------------


class Suggestion(Model):
    """A view or suggestion as stored. `author_id` and `author_name` are read only to address
    the author's own notices and their "my suggestions"; what coordinators see is built from
    it by the suggestions service, without them when `anonymous`."""

    id: int
    community_id: int
    building_id: int | None = None
    author_id: int = Field(repr=False)
    author_name: str | None = Field(default=None, repr=False)
    anonymous: bool
    heard_from: str | None = None
    topic: SuggestionTopic
    text: str | None = None
    photo_file_id: str | None = None
    voice_file_id: str | None = None
    status: SuggestionStatus
    created_at: datetime
    updated_at: datetime
    answered_at: datetime | None = None


class SuggestionReply(Model):
    id: int
    suggestion_id: int
    replied_by: int
    replier_name: str | None = None
    text: str
    created_at: datetime


class SuggestionLink(Model):
    """What answered a suggestion: a wish, a patrol finding or an announcement, by its id."""

    id: int
    suggestion_id: int
    kind: SuggestionLinkKind
    ref_id: int
    linked_at: datetime


# --- "you said, we did" (你说我做): the monthly digest to residents ------------------------


class StoryKind(StrEnum):
    """What a story of the digest tells: a suggestion answered, a wish done, a patrol finding
    handled (or made a wish)."""

    SUGGESTION = "s"
    WISH = "w"
    FINDING = "f"


class Story(Model):
    """One short story of the digest as residents read it. `words` are the resident's (or
    patrol member's) words shortened, or the coordinator's own when they rewrote the story
    (`rewritten`: then the story is shown as typed, nothing added). Never a resident's name,
    room, contact or an author: the helper is "a Party member" or a team's name."""

    kind: StoryKind
    ref_id: int
    words: str
    reply: str | None = None  # a suggestion's answer, shortened
    team_name: str | None = None  # a wish done by a team
    made_wish: bool = False  # a finding turned into a wish
    rewritten: bool = False

    @property
    def key(self) -> str:
        return f"{self.kind.value}{self.ref_id}"


class DigestCounts(Model):
    """The digest's figures, as residents read them: `Figures` of the month, the few shown."""

    suggestions: int = 0
    by_topic: list[TopicFigures] = Field(default_factory=list)  # topics with any, largest first
    wishes: int = 0
    by_category: list[CategoryFigures] = Field(default_factory=list)
    suggestions_answered: int = 0
    wishes_done: int = 0
    findings_handled: int = 0


class Digest(Model):
    """What a digest holds: the month, the community, its counts and its stories. Stored with
    the announcement (`Broadcast.content`) and rendered in each reader's language."""

    community_id: int
    community_name: str
    month: date  # its first day
    counts: DigestCounts
    stories: list[Story] = Field(default_factory=list)


class DigestScreen(Model):
    """The coordinator's screen for one month: what would be sent, the candidates to choose
    from, and the announcement if it was sent already."""

    digest: Digest
    candidates: list[Story]
    sent_broadcast_id: int | None = None
    earliest: date  # the first month one may go back to
    latest: date  # this month
