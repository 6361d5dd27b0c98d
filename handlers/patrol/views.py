"""Patrol duty's texts, cards and keyboards: /patrol (my shifts, open shifts of a day), a
shift's card and its buttons, every patrol notice, and the week's roster kept current (a live
message for coordinators and the members' group). Times in the community's zone.

`shift_rows` is the one place where a member's buttons on a shift are built, and
`checked_in_rows` those of a shift they have checked in to (check out; findings add their
"report" row there)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton

from bot.i18n import Translate, babel_locale, esc
from bot.models import LiveMessage, Shift, Signup, SignupStatus, Slot
from bot.services.errors import LinliError
from bot.services.patrol import (
    ROSTER_VIEW,
    AutoCheckedOut,
    LateDropOut,
    LetOff,
    MissedShift,
    RosterDay,
    ShiftCancelledNotice,
    ShiftReminder,
    ShiftShort,
    SwapOffered,
    SwapTaken,
    parse_roster_thing,
)
from bot.services.patrol.notices import PatrolNotice
from bot.services.patrol.rules import CHECK_IN_OPENS, OPEN_DAYS_AHEAD
from handlers.notices import Shown, ViewEnv, live_view, notice_view
from handlers.patrol.buttons import (
    AcceptSwap,
    CantCome,
    CheckIn,
    CheckOut,
    LetOffMember,
    OfferSwap,
    PatrolList,
    ShiftCard,
    TakeShift,
)
from handlers.patrol.findings_views import report_row

Rows = list[list[tuple[str, str]]]
TEXT_MAX = 3900  # a roster longer than a message is cut (Telegram: 4096)
MINE_SHOWN = 10  # /patrol lists this many of my shifts (the next ones) …
DAY_SHOWN = 25  # … and of the day's: with 64-character post names, within one message


# --- times -----------------------------------------------------------------------------------


def day_label(language: str, day: date) -> str:
    """ "12月1日周二" / "Tue 1 Dec"."""
    return format_skeleton("MMMEd", day, locale=babel_locale(language))


def clock_range(slot: Slot, zone: ZoneInfo) -> str:
    start, end = slot.starts_at.astimezone(zone), slot.ends_at.astimezone(zone)
    return f"{start:%H:%M}–{end:%H:%M}"


def when(language: str, zone: ZoneInfo, starts_at: datetime, ends_at: datetime) -> str:
    """ "12月1日周二 19:00–21:00"."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    return f"{day_label(language, start.date())} {start:%H:%M}–{end:%H:%M}"


def slot_when(language: str, zone: ZoneInfo, slot: Slot) -> str:
    return when(language, zone, slot.starts_at, slot.ends_at)


def places(t: Translate, slot: Slot) -> str:
    if slot.capacity is None:
        return t("{taken} members").format(taken=slot.taken)
    return t("{taken}/{capacity} members").format(taken=slot.taken, capacity=slot.capacity)


# --- the member's screens --------------------------------------------------------------------


def checked_in_rows(t: Translate, shift: Shift) -> Rows:
    """The buttons of a shift the member has checked in to and not out of: the one place
    where they are built (findings add their row here)."""
    return [
        report_row(t, shift.slot.id),
        [(t("🏁 Check out"), CheckOut(slot_id=shift.slot.id).pack())],
    ]


def shift_rows(t: Translate, shift: Shift, signup: Signup | None, now: datetime) -> Rows:
    """A member's buttons on a shift, as it stands for them now."""
    slot = shift.slot
    rows: Rows = []
    if signup is None or not signup.holding:
        if slot.open and now < slot.starts_at and not slot.full:
            rows.append([(t("✋ Take this shift"), TakeShift(slot_id=slot.id).pack())])
    elif signup.checked_in_at is not None:
        if signup.checked_out_at is None:
            rows.extend(checked_in_rows(t, shift))
    else:
        if slot.starts_at - CHECK_IN_OPENS <= now < slot.ends_at:
            rows.append([(t("✅ Check in"), CheckIn(slot_id=slot.id).pack())])
        if now < slot.starts_at:
            row = [(t("🙅 Can't come"), CantCome(slot_id=slot.id).pack())]
            if signup.status is SignupStatus.GOING:
                row.append((t("🔁 Offer to swap"), OfferSwap(slot_id=slot.id).pack()))
            rows.append(row)
    rows.append([(t("« Patrol duty"), PatrolList(day=0).pack())])
    return rows


def shift_card(
    t: Translate,
    language: str,
    zone: ZoneInfo,
    shift: Shift,
    signup: Signup | None,
    now: datetime,
    *,
    head: str | None = None,
) -> tuple[str, Rows]:
    slot = shift.slot
    lines = [head] if head else []
    lines += [
        t("🚓 <b>{post}</b>").format(post=esc(shift.post_name)),
        slot_when(language, zone, slot),
        places(t, slot),
    ]
    if not slot.open:
        lines.append(t("This shift has been cancelled."))
    elif signup is not None and signup.holding:
        if signup.checked_out_at is not None:
            lines.append(
                t("Checked out at {time}.").format(
                    time=f"{signup.checked_out_at.astimezone(zone):%H:%M}"
                )
            )
        elif signup.checked_in_at is not None:
            lines.append(
                t("✅ Checked in at {time}.").format(
                    time=f"{signup.checked_in_at.astimezone(zone):%H:%M}"
                )
            )
        elif signup.status is SignupStatus.LEAVING:
            lines.append(t("You asked to be let off; the coordinators will decide."))
        else:
            lines.append(t("You are on this shift."))
    return "\n".join(lines), shift_rows(t, shift, signup, now)


def patrol_screen(
    t: Translate,
    language: str,
    zone: ZoneInfo,
    offset: int,
    day: date,
    mine: list[tuple[Shift, Signup]],
    open_shifts: list[tuple[Shift, bool]],
) -> tuple[str, Rows]:
    """/patrol: my shifts coming up, then the shifts of one day with Take buttons."""
    lines = [t("<b>🚓 Patrol duty</b>"), "", t("<b>My shifts</b>")]
    rows: Rows = []
    if not mine:
        lines.append(t("You have no shifts coming up."))
    for shift, signup in mine[:MINE_SHOWN]:
        mark = " ✅" if signup.checked_in_at else ""
        lines.append(f"• {slot_when(language, zone, shift.slot)} {esc(shift.post_name)}{mark}")
        label = f"📋 {slot_when(language, zone, shift.slot)} {shift.post_name}"
        rows.append([(label, ShiftCard(slot_id=shift.slot.id).pack())])
    if len(mine) > MINE_SHOWN:
        lines.append(t("… and {count} more later").format(count=len(mine) - MINE_SHOWN))
    lines += ["", t("<b>Shifts on {day}</b>").format(day=day_label(language, day))]
    if not open_shifts:
        lines.append(t("No shifts on this day."))
    if len(open_shifts) > DAY_SHOWN:  # the ones still needing members first
        open_shifts = sorted(open_shifts, key=lambda o: o[1] or o[0].slot.full)[:DAY_SHOWN]
        open_shifts.sort(key=lambda o: (o[0].slot.starts_at, o[0].slot.id))
        more = True
    else:
        more = False
    for shift, held in open_shifts:
        slot = shift.slot
        note = t("you are on it") if held else places(t, slot)
        lines.append(f"• {clock_range(slot, zone)} {esc(shift.post_name)} ({note})")
        if not held and not slot.full:
            label = t("✋ Take {time} {post}").format(
                time=clock_range(slot, zone), post=shift.post_name
            )
            rows.append([(label, TakeShift(slot_id=slot.id).pack())])
    if more:
        lines.append(t("… and more on this day: ask the community staff."))
    turns = []
    if offset > 0:
        before = day - timedelta(days=1)
        turns.append(("◀ " + day_label(language, before), PatrolList(day=offset - 1).pack()))
    if offset < OPEN_DAYS_AHEAD - 1:
        after = day + timedelta(days=1)
        turns.append((day_label(language, after) + " ▶", PatrolList(day=offset + 1).pack()))
    rows.append(turns)
    return "\n".join(lines), rows


# --- notices ---------------------------------------------------------------------------------


def _what(notice: PatrolNotice, env: ViewEnv) -> dict[str, str]:
    zone = env.services.settings.zone
    return {
        "post": esc(notice.post_name),
        "when": when(env.language, zone, notice.starts_at, notice.ends_at),
    }


def _card_button(t: Translate, slot_id: int) -> Rows:
    return [[(t("📋 Open the shift"), ShiftCard(slot_id=slot_id).pack())]]


@notice_view(ShiftReminder)
async def reminder_view(notice: ShiftReminder, env: ViewEnv) -> Shown | None:
    if await env.services.patrol.still_reminded(notice.slot_id, notice.user_id) is None:
        return None  # dropped, swapped, cancelled or begun while it waited
    t = env.t
    if notice.soon:
        start = notice.starts_at.astimezone(env.services.settings.zone)
        text = t(
            "🚓 Your patrol shift at {post} starts at {time} ({when}). Please check in when "
            "you arrive."
        ).format(time=f"{start:%H:%M}", **_what(notice, env))
    else:
        zone = env.services.settings.zone
        today = env.services.clock.now().astimezone(zone).date()
        if notice.starts_at.astimezone(zone).date() <= today:  # held past midnight
            text = t("🚓 Reminder: you are on patrol duty today, {when}, at {post}.")
        else:
            text = t("🚓 Reminder: you are on patrol duty tomorrow, {when}, at {post}.")
        text = text.format(**_what(notice, env))
    if notice.late:
        text += "\n" + t("(This reminder comes late: the bot was away for a while.)")
    return Shown(text, _card_button(t, notice.slot_id))


@notice_view(ShiftCancelledNotice)
async def cancelled_view(notice: ShiftCancelledNotice, env: ViewEnv) -> Shown:
    text = env.t(
        "❌ The patrol shift at {post}, {when}, has been cancelled by the community staff. "
        "Thank you all the same."
    ).format(**_what(notice, env))
    return Shown(text)


@notice_view(SwapOffered)
async def swap_offered_view(notice: SwapOffered, env: ViewEnv) -> Shown | None:
    if not await env.services.patrol.swap_open(notice.swap_id):
        return None  # taken, withdrawn or begun while it waited
    t = env.t
    text = t(
        "🔁 {name} can't make their patrol shift at {post}, {when}. Can you take it over? "
        "The first to press takes it."
    ).format(name=esc(notice.from_name), **_what(notice, env))
    return Shown(text, [[(t("✋ I'll take it"), AcceptSwap(swap_id=notice.swap_id).pack())]])


@notice_view(SwapTaken)
async def swap_taken_view(notice: SwapTaken, env: ViewEnv) -> Shown:
    text = env.t(
        "🔁 {name} has taken over your patrol shift at {post}, {when}. You are off it now. "
        "Thank you!"
    ).format(name=esc(notice.taker_name), **_what(notice, env))
    return Shown(text)


@notice_view(LetOff)
async def let_off_view(notice: LetOff, env: ViewEnv) -> Shown:
    text = env.t(
        "The community staff have let you off your patrol shift at {post}, {when}."
    ).format(**_what(notice, env))
    return Shown(text)


@notice_view(AutoCheckedOut)
async def auto_out_view(notice: AutoCheckedOut, env: ViewEnv) -> Shown:
    t = env.t
    text = t(
        "🏁 You did not check out of your patrol shift at {post}, {when}, so it was closed "
        "at its scheduled end."
    ).format(**_what(notice, env))
    text += "\n" + credited_text(t, notice.hours)
    return Shown(text)


def credited_text(t: Translate, hours: int) -> str:
    if hours <= 0:
        return t("Less than 30 minutes on duty, so nothing was added to your passbook.")
    return t("{hours} h of patrol duty added to your love-savings passbook.").format(hours=hours)


@notice_view(ShiftShort)
async def short_view(notice: ShiftShort, env: ViewEnv) -> Shown | None:
    shift = await env.services.patrol.still_short(notice.slot_id)
    if shift is None:
        return None  # filled, cancelled or begun while the alert waited
    text = env.t(
        "⚠️ The patrol shift at {post}, {when}, has only {taken} of {capacity} members. "
        "Please find more members."
    ).format(taken=shift.slot.taken, capacity=shift.slot.capacity, **_what(notice, env))
    return Shown(text)


@notice_view(LateDropOut)
async def late_drop_view(notice: LateDropOut, env: ViewEnv) -> Shown | None:
    if not await env.services.patrol.still_asking(notice.slot_id, notice.member_id):
        return None  # let off (or back on it) while the alert waited
    t = env.t
    text = t(
        "⚠️ {member} can't come to the patrol shift at {post}, {when} (a late drop-out). "
        "Let them off to free the place, or get in touch with them."
    ).format(member=esc(notice.member_name), **_what(notice, env))
    button = LetOffMember(slot_id=notice.slot_id, user_id=notice.member_id)
    return Shown(text, [[(t("✅ Let them off"), button.pack())]])


@notice_view(MissedShift)
async def missed_view(notice: MissedShift, env: ViewEnv) -> Shown:
    text = env.t("⚠️ Missed patrol shift at {post}, {when}: {names} did not check in.").format(
        names=esc("、".join(notice.member_names)), **_what(notice, env)
    )
    return Shown(text)


# --- the roster --------------------------------------------------------------------------------


def roster_text(
    t: Translate,
    language: str,
    zone: ZoneInfo,
    monday: date,
    days: list[RosterDay],
    *,
    for_group: bool = False,
) -> str:
    """The week's roster; in the members' group without who asked to be let off (the
    coordinators' business, not the group's)."""
    sunday = monday + timedelta(days=6)
    lines = [
        t("<b>🚓 Patrol roster</b> {start} – {end}").format(
            start=day_label(language, monday), end=day_label(language, sunday)
        )
    ]
    empty = True
    for day in days:
        if not day.shifts:
            continue
        empty = False
        lines += ["", f"<b>{day_label(language, day.day)}</b>"]
        for shift, signups in day.shifts:
            names = "、".join(
                esc(s.user_name or "?")
                + (" 🙅" if s.status is SignupStatus.LEAVING and not for_group else "")
                for s in signups
            )
            lines.append(
                f"• {clock_range(shift.slot, zone)} {esc(shift.post_name)} "
                f"({places(t, shift.slot)})" + (f": {names}" if names else "")
            )
    if empty:
        lines.append(t("No shifts this week."))
    text = "\n".join(lines)
    if len(text) > TEXT_MAX:
        text = text[: text.rfind("\n", 0, TEXT_MAX)] + "\n…"
    return text


@live_view(ROSTER_VIEW)
async def roster_view(live: LiveMessage, env: ViewEnv) -> Shown | None:
    community_id, monday = parse_roster_thing(live.thing)
    if live.viewer_id is not None:
        viewer = await env.services.users.get(live.viewer_id)
        if viewer is None or not viewer.covers(community_id):
            return None  # no longer a coordinator of it
    try:
        days = await env.services.patrol.roster(community_id, monday)
    except LinliError:
        return None
    zone = env.services.settings.zone
    group = live.viewer_id is None
    return Shown(roster_text(env.t, env.language, zone, monday, days, for_group=group))
