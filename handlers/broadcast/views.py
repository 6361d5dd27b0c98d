"""What broadcasts show: the announcement as each recipient gets it (also the coordinator's
preview), the audience in words, the live progress message and the delivery report."""

from __future__ import annotations

from collections.abc import Callable

from bot.i18n import Translate, esc
from bot.models import AudienceKind, Broadcast, LiveMessage
from bot.services.broadcast import (
    AUDIENCE_LABELS,
    PROGRESS_VIEW,
    Announcement,
    BroadcastFinished,
    DeliveryReport,
    Draft,
)
from bot.services.errors import LinliError
from handlers.notices import Shown, ViewEnv, live_view, notice_view

# The renderers of announcements whose body is data (`Broadcast.content_kind`), by kind: the
# whole message, and its heading for lists (/news); each feature that sends one registers its
# own with `content_view` from its views module.
ContentView = Callable[[Translate, Broadcast, str], Shown]
ContentHeading = Callable[[Translate, Broadcast, str], str]
CONTENT_VIEWS: dict[str, tuple[ContentView, ContentHeading]] = {}


def content_view(kind: str, render: ContentView, heading: ContentHeading) -> None:
    """Register how announcements of this content kind are shown, whole and as a heading."""
    if kind in CONTENT_VIEWS:
        raise TypeError(f"content kind {kind!r} has two views")
    CONTENT_VIEWS[kind] = (render, heading)


def announcement(t: Translate, broadcast: Broadcast, community_name: str) -> Shown:
    """The message exactly as a recipient reading `t`'s language gets it."""
    if broadcast.content_kind is not None:
        return CONTENT_VIEWS[broadcast.content_kind][0](t, broadcast, community_name)
    community = esc(community_name)
    header = (
        "❗ <b>" + t("Urgent announcement from {community}").format(community=community)
        if broadcast.urgent
        else "📢 <b>" + t("Announcement from {community}").format(community=community)
    ) + "</b>"
    # The body is the coordinator's HTML, with their typed text escaped when it was composed.
    text = header + ("\n\n" + broadcast.text if broadcast.text else "")
    return Shown(
        text, photo_file_id=broadcast.photo_file_id, document_file_id=broadcast.document_file_id
    )


def heading(t: Translate, broadcast: Broadcast, community_name: str) -> str:
    """The announcement's first line, for a list of them."""
    if broadcast.content_kind is not None:
        return CONTENT_VIEWS[broadcast.content_kind][1](t, broadcast, community_name)
    return announcement(t, broadcast.model_copy(update={"text": None}), community_name).text


def report_text(t: Translate, report: DeliveryReport) -> str:
    """The counts, one per line, in the reader's language."""
    lines = [
        t("Delivered: {count}").format(count=report.delivered),
        t("Blocked the bot: {count}").format(count=report.blocked),
        t("Failed: {count}").format(count=report.failed),
        t("Still waiting: {count}").format(count=report.pending),
    ]
    if report.unconfirmed:
        lines.append(
            t(
                "Of the delivered, not confirmed by Telegram (the connection broke after sending; "
                "most likely delivered): {count}"
            ).format(count=report.unconfirmed)
        )
    if report.cancelled:
        lines.append(t("Stopped before sending: {count}").format(count=report.cancelled))
    return "\n".join(lines)


def audience_text(t: Translate, draft: Draft) -> str:
    broadcast = draft.broadcast
    label = t(AUDIENCE_LABELS[broadcast.audience])
    if broadcast.audience is AudienceKind.BUILDING and draft.audience_name:
        label = t("Building {name}").format(name=esc(draft.audience_name))
    elif broadcast.audience is AudienceKind.TEAM and draft.audience_name:
        label = team_label(t, draft.audience_name)
    elif broadcast.audience is AudienceKind.SESSION and draft.audience_name:
        label = t("Study session “{title}”").format(title=esc(draft.audience_name))
    return label


def team_label(t: Translate, name: str) -> str:
    """A team by name: "{name}服务队", unless the name already says it is a team (法律援助队,
    Legal aid team), which would read 法律援助队服务队."""
    if name.rstrip().endswith("队") or name.rstrip().lower().endswith("team"):
        return esc(name)
    return t("Team {name}").format(name=esc(name))


def sending_text(t: Translate, report: DeliveryReport) -> str:
    done = report.total - report.pending
    return (
        t("Sending the announcement: {done} of {total} handled.").format(
            done=done, total=report.total
        )
        + "\n\n"
        + report_text(t, report)
    )


def finished_text(t: Translate, report: DeliveryReport) -> str:
    return t("The announcement has been sent.") + "\n\n" + report_text(t, report)


@notice_view(Announcement)
async def announcement_view(notice: Announcement, env: ViewEnv) -> Shown:
    broadcast, community = await env.services.broadcasts.for_delivery(notice.broadcast_id)
    return announcement(env.t, broadcast, community)


@notice_view(BroadcastFinished)
async def finished_view(notice: BroadcastFinished, env: ViewEnv) -> Shown:
    return Shown(finished_text(env.t, notice.report))


@live_view(PROGRESS_VIEW)
async def progress_view(live: LiveMessage, env: ViewEnv) -> Shown | None:
    """The progress message the coordinator watches, as the broadcast stands now."""
    if live.viewer_id is None:
        return None
    viewer = await env.services.users.get(live.viewer_id)
    if viewer is None:
        return None
    broadcast_id = int(live.thing.split(":", 1)[1])
    try:
        broadcast, report = await env.services.broadcasts.report(viewer, broadcast_id)
    except LinliError:
        return None
    t = env.t
    if broadcast.finished_at is not None:
        return Shown(finished_text(t, report))
    if (
        report.total == report.pending
        and broadcast.started_at is not None
        and not report.delivered
    ):
        head = t("Your scheduled announcement is being sent now.")
        return Shown(head + "\n\n" + sending_text(t, report))
    return Shown(sending_text(t, report))
