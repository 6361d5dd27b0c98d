"""The rules and the words-as-data of broadcasts: limits, audiences, refusals, the delivery
report, and the notices the broadcast service records (rendered by handlers/broadcast/views.py)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta

from bot.models import (
    N_,
    AudienceKind,
    Broadcast,
    Delivery,
    DeliveryPolicy,
    Model,
    Notice,
    OutboxStatus,
    ReceivedBroadcast,
)
from bot.services.errors import Conflict, InvalidInput

# Telegram allows 4096 characters of text and 1024 of caption; the header needs the rest.
TEXT_MAX = 3900
CAPTION_MAX = 900
EARLIEST_SCHEDULE = timedelta(minutes=1)
LATEST_SCHEDULE = timedelta(days=366)
NEWS_PAGE_SIZE = 5  # announcements per page of /news
DELIVERING_KEPT = 16  # broadcasts whose content the sender keeps in memory while sending
AUDIENCES_WITH_REF = frozenset({AudienceKind.BUILDING, AudienceKind.TEAM, AudienceKind.SESSION})

AUDIENCE_LABELS: dict[AudienceKind, str] = {
    AudienceKind.EVERYONE: N_("Everyone"),
    AudienceKind.RESIDENTS: N_("Residents (not members)"),
    AudienceKind.MEMBERS: N_("Members"),
    AudienceKind.COORDINATORS: N_("Coordinators"),
    AudienceKind.BUILDING: N_("One building"),
    AudienceKind.TEAM: N_("One service team"),
    AudienceKind.SESSION: N_("A study session"),
}

_TAG = re.compile(r"<[^>]*>")


def visible_length(html_text: str) -> int:
    """Characters Telegram counts (UTF-16 units) once the HTML is parsed."""
    plain = html.unescape(_TAG.sub("", html_text))
    return len(plain.encode("utf-16-le")) // 2


class EmptyBroadcast(InvalidInput):
    message = N_("The announcement is empty. Please send some text, a photo or a document.")


class NoRecipients(InvalidInput):
    message = N_("No one is in that audience. Please choose another one.")


class AlreadyDecided(Conflict):
    message = N_("This announcement was already sent or cancelled.")


class DeliveryReport(Model):
    """What became of a broadcast's messages."""

    total: int
    delivered: int
    blocked: int
    failed: int
    pending: int
    cancelled: int
    # Of the delivered: whose request left and whose answer never came (AT_MOST_ONCE, not
    # sent twice); most likely delivered, but Telegram did not confirm it.
    unconfirmed: int = 0

    @classmethod
    def from_counts(
        cls, counts: dict[OutboxStatus, int], *, unconfirmed: int = 0
    ) -> DeliveryReport:
        return cls(
            unconfirmed=unconfirmed,
            total=sum(counts.values()),
            delivered=counts[OutboxStatus.SENT],
            blocked=counts[OutboxStatus.BLOCKED],
            failed=counts[OutboxStatus.FAILED],
            pending=counts[OutboxStatus.PENDING] + counts[OutboxStatus.SENDING],
            cancelled=counts[OutboxStatus.CANCELLED],
        )


@dataclass(frozen=True)
class Draft:
    """A broadcast with its audience resolved for showing."""

    broadcast: Broadcast
    recipients: int
    audience_name: str | None  # the building's, team's or study session's name


class Announcement(Notice):
    """A broadcast's message to one recipient (rendered from the broadcast when sent)."""

    KIND = "broadcast.announcement"
    # A second copy to thousands of people is not wanted; an announcement keeps for days.
    POLICY = DeliveryPolicy(Delivery.AT_MOST_ONCE, stale_after=timedelta(days=3))
    broadcast_id: int


class BroadcastFinished(Notice):
    """To the coordinator who sent it: every message was handled; the delivery report."""

    KIND = "broadcast.finished"
    broadcast_id: int
    report: DeliveryReport


PROGRESS_VIEW = "broadcast.progress"  # the live message that shows a broadcast's progress


def thing_of(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


def progress_key(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}:progress"


@dataclass(frozen=True)
class NewsItem:
    """One announcement in someone's archive, with the place it came from (its heading)."""

    received: ReceivedBroadcast
    sender: str


@dataclass(frozen=True)
class NewsPage:
    """A page of someone's announcements archive, newest first."""

    items: tuple[NewsItem, ...]
    page: int
    more: bool  # an older page follows
