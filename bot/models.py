"""Domain types shared by every layer: enums and pydantic models. No Telegram, no SQL."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


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


class Community(Model):
    id: int
    name: str
    street_name: str
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
    quiet_start: int = 22 * 60  # minutes after local midnight
    quiet_end: int = 7 * 60
    unreachable: bool = False
    registered_at: datetime

    def has(self, role: Role) -> bool:
        return role in self.roles

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


# --- delivery ------------------------------------------------------------------------------


class OutboxStatus(StrEnum):
    PENDING = "pending"
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
    parse_mode: str | None = "HTML"
    # Inline keyboard as rows of (label, callback_data); built by the service's caller.
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()


class OutboxItem(Model):
    id: int
    message: OutgoingMessage
    dedupe_key: str | None
    not_before: datetime
    status: OutboxStatus
    attempts: int
    last_error: str | None = None
    sent_message_id: int | None = None
    broadcast_id: int | None = None
    created_at: datetime
    sent_at: datetime | None = None


class ReminderStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"  # fell due while the bot was down and went stale
    CANCELLED = "cancelled"


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
    progress_chat_id: int | None = None
    progress_message_id: int | None = None
