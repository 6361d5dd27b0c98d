"""Study sessions as texts: a session's lines (what, when in the community's time, where,
the material), the notices (announced with Attend / Excused, reminded, cancelled), the
member's /study list and card, and the coordinator's card with the attendance."""

from __future__ import annotations

import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import Translate, esc, format_local
from bot.models import (
    N_,
    STUDY_AUDIENCE_LABELS,
    Recurrence,
    Signup,
    SignupStatus,
    StudySession,
)
from bot.services.study import (
    REPEATS,
    MySession,
    SessionAnnounced,
    SessionCancelled,
    SessionReminder,
    SessionRoll,
    Stage,
)
from handlers.common import Buttons, clipped
from handlers.notices import Shown, ViewEnv, notice_view
from handlers.study.buttons import (
    AdminCard,
    Attend,
    CancelSession,
    CheckIn,
    Excuse,
    Material,
    NewSession,
    SessionCard,
    ShowCode,
    StudyList,
    StudyMenu,
)

Rows = list[list[tuple[str, str]]]
NAMES_SHOWN = 30
NAME_SHOWN = 24  # characters of a name in a list
REASON_SHOWN = 40  # characters of an excuse's reason in a list
TITLE_SHOWN = 40  # characters of a title in /study's list
TEXT_MAX = 4000  # Telegram allows 4,096 characters (as shown, after the HTML)
REPEAT_LABELS: dict[Recurrence, str] = {
    Recurrence.ONCE: N_("Once"),
    Recurrence.WEEKLY: N_("Every week ({count} sessions)"),
    Recurrence.MONTHLY: N_("Every month on the same day ({count} sessions)"),
}


def repeat_label(t: Translate, recurrence: Recurrence) -> str:
    return t(REPEAT_LABELS[recurrence]).format(count=REPEATS.get(recurrence, 1))


def when_text(session: StudySession, language: str, zone: ZoneInfo) -> str:
    """ "12月3日 19:00–21:00" in the community's time zone."""
    start = format_local(session.slot.starts_at, language, zone)
    end = session.slot.ends_at.astimezone(zone)
    if end.date() == session.slot.starts_at.astimezone(zone).date():
        return f"{start}–{end:%H:%M}"
    return f"{start} – {format_local(session.slot.ends_at, language, zone)}"


def session_lines(t: Translate, session: StudySession, language: str, zone: ZoneInfo) -> str:
    lines = [f"📚 <b>{esc(session.title)}</b>"]
    if session.topic:
        lines.append(t("Topic: {topic}").format(topic=esc(session.topic)))
    lines.append(t("When: {when}").format(when=when_text(session, language, zone)))
    if session.place:
        lines.append(t("Where: {place}").format(place=esc(session.place)))
    if session.link:
        lines.append(t("Online: {link}").format(link=esc(session.link)))
    if session.material_link:
        lines.append(t("Material: {link}").format(link=esc(session.material_link)))
    elif session.material_file_id:
        name = session.material_name or t("a document")
        lines.append(t("Material: {name} (button below)").format(name=esc(name)))
    if not session.slot.open:
        lines.append(t("❌ This session has been cancelled."))
    return "\n".join(lines)


def answer_rows(t: Translate, session: StudySession) -> Rows:
    slot_id = session.slot.id
    rows = [
        [
            (t("✅ Attend"), Attend(slot_id=slot_id).pack()),
            (t("🙏 Excused"), Excuse(slot_id=slot_id).pack()),
        ]
    ]
    if session.material_file_id:
        rows.append([(t("📎 Material"), Material(slot_id=slot_id).pack())])
    return rows


def answer_line(t: Translate, signup: Signup | None, reason_limit: int | None = None) -> str:
    if signup is not None and signup.checked_in_at is not None:
        return t("Your answer: checked in ✅")
    if signup is None:
        return t("Your answer: not given yet")
    if signup.status is SignupStatus.EXCUSED:
        reason = signup.reason or ""
        shown = clipped(reason, reason_limit) if reason_limit else esc(reason)
        return t("Your answer: excused ({reason})").format(reason=shown)
    return t("Your answer: attending")


def _shown_length(text: str) -> int:
    """The characters Telegram counts: the text without its tags, entities decoded."""
    return len(html.unescape(re.sub(r"<[^>]*>", "", text)))


def fitted(lines: list[str], limit: int = TEXT_MAX) -> str:
    """The lines in one message: when too long for it, the last ones give way to "…" (each
    line is whole HTML, so no tag or entity is cut)."""
    kept = list(lines)
    while len(kept) > 1 and _shown_length("\n".join([*kept, "…"])) > limit:
        kept.pop()
    return "\n".join(kept if len(kept) == len(lines) else [*kept, "…"])


# --- notices ---------------------------------------------------------------------------------


@notice_view(SessionAnnounced)
async def announced(notice: SessionAnnounced, env: ViewEnv) -> Shown | None:
    session = await env.services.study.for_notice(notice.slot_id)
    if session is None or session.slot.starts_at <= env.services.clock.now():
        return None  # cancelled, or begun, before the notice left (held for quiet hours)
    t, zone = env.t, env.services.settings.zone
    text = t("📚 A study session for you:") + "\n" + session_lines(t, session, env.language, zone)
    if notice.repeats > 1:
        text += "\n" + t("Repeats: {repeat}. All of them are in /study.").format(
            repeat=repeat_label(t, session.recurrence)
        )
    text += "\n\n" + t("Will you attend? If you cannot come, press Excused and say why.")
    return Shown(text, answer_rows(t, session))


@notice_view(SessionReminder)
async def reminded(notice: SessionReminder, env: ViewEnv) -> Shown | None:
    session = await env.services.study.for_notice(notice.slot_id)
    if session is None or session.slot.starts_at <= env.services.clock.now():
        return None  # cancelled, or begun before the reminder left
    t, zone = env.t, env.services.settings.zone
    if notice.stage is Stage.DAY:
        head = t("⏰ Reminder: a study session tomorrow.")
    else:
        head = t("⏰ Reminder: a study session in an hour.")
    text = head + "\n" + session_lines(t, session, env.language, zone)
    text += "\n\n" + t("At the session, press Check in and type the code shown there.")
    rows = answer_rows(t, session)
    rows.append([(t("📍 Check in"), CheckIn(slot_id=session.slot.id).pack())])
    return Shown(text, rows)


@notice_view(SessionCancelled)
async def cancelled(notice: SessionCancelled, env: ViewEnv) -> Shown:
    zone = env.services.settings.zone
    text = env.t("❌ The study session “{title}” on {when} has been cancelled.").format(
        title=esc(notice.title), when=format_local(notice.starts_at, env.language, zone)
    )
    return Shown(text)


# --- the audience's screens -----------------------------------------------------------------


def list_view(
    t: Translate, mine: list[MySession], language: str, zone: ZoneInfo
) -> tuple[str, Rows]:
    if not mine:
        return t("There are no study sessions open to you at the moment."), []
    lines = [t("<b>📚 Study sessions</b>")]
    rows: Rows = []
    for item in mine:
        session = item.session
        when = when_text(session, language, zone)
        title = clipped(session.title, TITLE_SHOWN)
        lines.append(f"• {when} {title} — {answer_line(t, item.signup, REASON_SHOWN)}")
        rows.append(
            [(f"{when} {clipped(session.title, 20)}", SessionCard(slot_id=session.slot.id).pack())]
        )
    lines.append(t("Check in at the session with its code: /attend 1234"))
    return "\n".join(lines), rows


def card_view(
    t: Translate, item: MySession, language: str, zone: ZoneInfo, now: datetime, window: bool
) -> tuple[str, Rows]:
    session = item.session
    text = session_lines(t, session, language, zone) + "\n\n" + answer_line(t, item.signup)
    rows: Rows = []
    if session.slot.open and now < session.slot.starts_at:
        rows = answer_rows(t, session)
    elif session.material_file_id:
        rows = [[(t("📎 Material"), Material(slot_id=session.slot.id).pack())]]
    checked = item.signup is not None and item.signup.checked_in_at is not None
    if session.slot.open and window and not checked:
        rows.append([(t("📍 Check in"), CheckIn(slot_id=session.slot.id).pack())])
    rows.append([(t("« Back"), StudyList().pack())])
    return text, rows


# --- the coordinators' screens --------------------------------------------------------------


def admin_list(
    t: Translate, sessions: list[StudySession], language: str, zone: ZoneInfo
) -> tuple[str, Buttons]:
    lines = [t("<b>📚 Study sessions</b>")]
    if not sessions:
        lines.append(t("No sessions are scheduled."))
    rows: Rows = [[(t("➕ Schedule a session"), NewSession().pack())]]
    for session in sessions:
        mark = "" if session.slot.open else " ❌"
        label = f"{when_text(session, language, zone)} {clipped(session.title, 20)}{mark}"
        rows.append([(label, AdminCard(slot_id=session.slot.id).pack())])
    return "\n".join(lines), rows


def _names(names: list[str]) -> str:
    shown = ", ".join(clipped(n, NAME_SHOWN) for n in names[:NAMES_SHOWN])
    return shown + (" …" if len(names) > NAMES_SHOWN else "")


def admin_card(
    t: Translate, roll: SessionRoll, language: str, zone: ZoneInfo, building: str | None
) -> tuple[str, Rows]:
    session = roll.session
    audience = t(STUDY_AUDIENCE_LABELS[session.audience])
    if building:
        audience += f" ({esc(building)})"
    lines = [
        session_lines(t, session, language, zone),
        t("For: {audience}").format(audience=audience),
    ]
    if session.recurrence is not Recurrence.ONCE:
        lines.append(t("Repeats: {repeat}").format(repeat=repeat_label(t, session.recurrence)))
    counts = roll.counts
    lines.append(
        t("Attended {attended} · excused {excused} · absent {absent}").format(
            attended=counts.attended, excused=counts.excused, absent=counts.absent
        )
    )
    if roll.attended:
        lines.append(t("Checked in: {names}").format(names=_names(roll.attended)))
    if roll.going:
        lines.append(t("Said they attend: {names}").format(names=_names(roll.going)))
    for name, reason in roll.excused[:NAMES_SHOWN]:
        lines.append(
            t("Excused: {name} ({reason})").format(
                name=clipped(name, NAME_SHOWN), reason=clipped(reason, REASON_SHOWN)
            )
        )
    slot_id = session.slot.id
    rows: Rows = []
    if session.slot.open:
        rows.append([(t("🔢 Show the check-in code"), ShowCode(slot_id=slot_id).pack())])
        rows.append([(t("❌ Cancel this session"), CancelSession(slot_id=slot_id).pack())])
    rows.append([(t("« Study sessions"), StudyMenu().pack())])
    return fitted(lines), rows
