"""Patrol findings' texts, cards and keyboards: the reporting dialogue's prompts and check card,
a finding's card for coordinators (one renderer, for the notice, the list and the answer to a
press), the list of open findings, and the reporter's notices of what became of it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import Translate, esc, format_local
from bot.models import Finding, FindingStatus
from bot.services.patrol.finding_notices import (
    FindingHandledNotice,
    FindingReported,
    FindingWishedNotice,
)
from bot.services.patrol.findings import FindingCard
from handlers.common import Buttons, clipped, media_lines
from handlers.notices import Shown, ViewEnv, notice_view
from handlers.patrol.finding_buttons import (
    FindingDone,
    FindingDrop,
    FindingMedia,
    FindingOpen,
    FindingSend,
    FindingsList,
    FindingStart,
    FindingToWish,
    Media,
)

Rows = list[list[tuple[str, str]]]
SNIPPET = 40  # characters of a finding's words in a list line or a reporter's notice
POST_SHOWN = 24  # characters of a post's name in a list line (30 lines fit one message)


# --- the entries other screens show -------------------------------------------------------------


def report_row(t: Translate, slot_id: int) -> list[tuple[str, str]]:
    """The row a checked-in shift's card carries (patrol's `checked_in_rows`)."""
    return [(t("🔎 Report a finding"), FindingStart(slot_id=slot_id).pack())]


def list_row(t: Translate) -> list[tuple[str, str]]:
    """The row a coordinator's menu carries to the open findings (as /findings)."""
    return [(t("🔎 Patrol findings"), FindingsList().pack())]


# --- the member's dialogue ---------------------------------------------------------------------


def cancel_rows(t: Translate) -> Rows:
    return [[(t("✖ Cancel"), FindingDrop().pack())]]


def ask_prompt(t: Translate, post_name: str) -> tuple[str, Rows]:
    text = t(
        "🔎 <b>Report a finding</b> · {post}\n"
        "What did you see? Type a few words, send a photo (a caption is welcome) or a voice "
        "note. You may also share the location (📎 → Location). Then press ✅ Send."
    ).format(post=esc(post_name))
    return text, cancel_rows(t)


def check_card(
    t: Translate,
    *,
    post_name: str,
    words: str | None,
    photo: bool,
    voice: bool,
    place: bool,
    token: str,
) -> tuple[str, Rows]:
    lines = [t("<b>Your finding — please check</b> · {post}").format(post=esc(post_name))]
    if words:
        lines.append(esc(words))
    lines += media_lines(t, photo=photo, voice=voice, place=place)
    lines += ["", t("Send more to add to it, or press ✅ Send to tell the coordinators.")]
    rows = [
        [
            (t("✅ Send"), FindingSend(token=token).pack()),
            (t("✖ Cancel"), FindingDrop().pack()),
        ]
    ]
    return "\n".join(lines), rows


def sent_text(t: Translate) -> str:
    return t(
        "✅ Sent to the coordinators. Thank you! We will tell you what becomes of it. "
        "Seen something else? Send /finding again."
    )


# --- a finding, for coordinators ---------------------------------------------------------------


def _header(t: Translate, post_name: str, building_name: str | None) -> str:
    where = esc(post_name)
    if building_name:
        where += " · " + esc(building_name)
    return t("🔎 <b>Patrol finding</b> · {where}").format(where=where)


def finding_text(
    t: Translate,
    *,
    post_name: str,
    building_name: str | None,
    reporter_name: str,
    words: str | None,
    finding: Finding | None,
    handler_name: str | None = None,
) -> str:
    """A finding's card text: where, who saw it, their words, what came with it, and what
    became of it (when `finding` is known)."""
    lines = [
        _header(t, post_name, building_name),
        t("Seen by {name}:").format(name=esc(reporter_name)),
    ]
    if words:
        lines.append(esc(words))
    if finding is not None:
        lines += media_lines(
            t,
            photo=finding.photo_file_id is not None,
            voice=finding.voice_file_id is not None,
            place=finding.latitude is not None,
        )
        who = esc(handler_name or "")
        if finding.status is FindingStatus.HANDLED:
            lines += ["", t("✅ Handled by {name}.").format(name=who)]
        elif finding.status is FindingStatus.WISHED:  # made in one step with its wish
            lines += [
                "",
                t("🙋 Turned into micro-wish #{id} by {name}.").format(
                    id=finding.wish_id, name=who
                ),
            ]
    return "\n".join(lines)


def finding_rows(t: Translate, finding_id: int, finding: Finding | None) -> Rows:
    """Its media (each sent to the presser alone) and, while nobody has handled it, ✅ and 🙋."""
    media: list[tuple[str, str]] = []
    if finding is not None and finding.photo_file_id:
        media.append(
            (t("📷 See the photo"), FindingMedia(finding_id=finding_id, what=Media.PHOTO).pack())
        )
    if finding is not None and finding.voice_file_id:
        media.append(
            (t("🔊 Hear it"), FindingMedia(finding_id=finding_id, what=Media.VOICE).pack())
        )
    if finding is not None and finding.latitude is not None:
        media.append(
            (t("📍 Location"), FindingMedia(finding_id=finding_id, what=Media.PLACE).pack())
        )
    rows: Rows = [media] if media else []
    if finding is None or finding.status is FindingStatus.NEW:
        rows.append(
            [
                (t("✅ Handled"), FindingDone(finding_id=finding_id).pack()),
                (t("🙋 Turn into a wish"), FindingToWish(finding_id=finding_id).pack()),
            ]
        )
    return rows


def card_view(t: Translate, card: FindingCard) -> tuple[str, Rows]:
    finding = card.finding
    text = finding_text(
        t,
        post_name=card.post_name,
        building_name=card.building_name,
        reporter_name=finding.reporter_name or "",
        words=finding.text,
        finding=finding,
        handler_name=card.handler_name,
    )
    return text, finding_rows(t, finding.id, finding)


def media_caption(t: Translate, card: FindingCard) -> str:
    return _header(t, card.post_name, card.building_name)


def open_list(
    t: Translate, cards: list[FindingCard], language: str, zone: ZoneInfo
) -> tuple[str, Buttons]:
    if not cards:
        return t("🔎 No open patrol findings in your area. Well done!"), ()
    lines = [t("🔎 <b>Open patrol findings</b> ({count})").format(count=len(cards)), ""]
    rows: Rows = []
    for card in cards:
        finding = card.finding
        when = format_local(finding.created_at, language, zone)
        words = clipped(finding.text, SNIPPET) if finding.text else t("(a photo or voice note)")
        post = clipped(card.post_name, POST_SHOWN)
        lines.append(f"#{finding.id} · {when} · {post} · {words}")
        rows.append(
            [(f"#{finding.id} {card.post_name}"[:40], FindingOpen(finding_id=finding.id).pack())]
        )
    return "\n".join(lines), rows


# --- notices -----------------------------------------------------------------------------------


@notice_view(FindingReported)
async def reported(notice: FindingReported, env: ViewEnv) -> Shown:
    t = env.t
    # Its state when the notice leaves: handled meanwhile, it says so and offers no ✅ or 🙋.
    finding = await env.services.findings.as_told(notice.finding_id)
    handler = None
    if finding is not None and finding.handled_by is not None:
        card = await env.services.findings.card_of(finding)
        handler = card.handler_name
    text = finding_text(
        t,
        post_name=notice.post_name,
        building_name=notice.building_name,
        reporter_name=notice.reporter_name,
        words=notice.words,
        finding=finding,
        handler_name=handler,
    )
    return Shown(text, finding_rows(t, notice.finding_id, finding))


def _said(t: Translate, words: str | None) -> str:
    return "\n" + t("You wrote: {words}").format(words=clipped(words, SNIPPET)) if words else ""


@notice_view(FindingHandledNotice)
async def handled(notice: FindingHandledNotice, env: ViewEnv) -> Shown:
    t = env.t
    text = t(
        "✅ Your patrol finding at {post} has been handled by {name}. Thank you for keeping an "
        "eye out!"
    ).format(post=esc(notice.post_name), name=esc(notice.coordinator_name))
    return Shown(text + _said(t, notice.words))


@notice_view(FindingWishedNotice)
async def wished(notice: FindingWishedNotice, env: ViewEnv) -> Shown:
    t = env.t
    text = t(
        "🙋 {name} turned your patrol finding at {post} into micro-wish #{id}; members who can "
        "help are being asked now. Thank you!"
    ).format(post=esc(notice.post_name), name=esc(notice.coordinator_name), id=notice.wish_id)
    return Shown(text + _said(t, notice.words))
