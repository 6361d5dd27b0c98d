"""The texts and keyboards of the patrol section of /admin: the section, posts, a post's
card, the steps of defining shifts, a week's shifts, a shift's card for coordinators."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import Translate, esc
from bot.models import N_, Building, PatrolPost, Recurrence, Shift, Signup, SignupStatus
from handlers.admin.buttons import AdminMenu
from handlers.patrol.admin_buttons import (
    AdminShift,
    ArchivePost,
    CancelShift,
    ConfirmCancelShift,
    DefineShifts,
    DropPatrol,
    NewPost,
    OpenPost,
    PatrolMenu,
    PostList,
    RepeatCount,
    Roster,
    SaveShifts,
    ShiftCapacity,
    ShiftDay,
    ShiftRepeat,
    SkipArea,
    WeekShifts,
)
from handlers.patrol.buttons import LetOffMember
from handlers.patrol.findings_views import list_row
from handlers.patrol.views import day_label, places, slot_when

Rows = list[list[tuple[str, str]]]
DAY_BUTTONS = 7
CAPACITIES = (1, 2, 3, 4, 5, 6)
COUNTS = (4, 7, 14, 30)
POSTS_SHOWN = 90  # a keyboard holds at most 100 buttons

REPEAT_LABELS = {
    Recurrence.ONCE: N_("Only once"),
    Recurrence.DAILY: N_("Every day"),
    Recurrence.WEEKLY: N_("Every week"),
}


def cancel_row(t: Translate) -> list[tuple[str, str]]:
    return [(t("✖ Cancel"), DropPatrol().pack())]


def menu_view(t: Translate) -> tuple[str, Rows]:
    text = t(
        "<b>🚓 Patrol duty</b>\nPatrol posts, their shifts, and the week's roster. Members "
        "take shifts with /patrol."
    )
    rows = [
        [(t("➕ New post"), NewPost().pack()), (t("📍 Posts"), PostList().pack())],
        [
            (t("📋 Roster this week"), Roster(week=0).pack()),
            (t("📋 Next week"), Roster(week=1).pack()),
        ],
        [
            (t("🗓 Shifts this week"), WeekShifts(week=0).pack()),
            (t("🗓 Next week"), WeekShifts(week=1).pack()),
        ],
        list_row(t),
        [(t("« Back"), AdminMenu().pack())],
    ]
    return text, rows


def posts_view(t: Translate, posts: Sequence[PatrolPost]) -> tuple[str, Rows]:
    text = t("<b>Patrol posts</b>")
    if not posts:
        text += "\n" + t("No posts yet. Add one with ➕ New post.")
    rows = [[("📍 " + p.name, OpenPost(post_id=p.id).pack())] for p in posts[:POSTS_SHOWN]]
    rows.append([(t("➕ New post"), NewPost().pack()), (t("« Patrol duty"), PatrolMenu().pack())])
    return text, rows


def post_card(
    t: Translate, post: PatrolPost, buildings: dict[int, str], *, head: str | None = None
) -> tuple[str, Rows]:
    lines = [head] if head else []
    lines.append(t("📍 <b>{name}</b>").format(name=esc(post.name)))
    if post.area:
        lines.append(t("Area: {area}").format(area=esc(post.area)))
    names = "、".join(esc(buildings.get(b, f"#{b}")) for b in post.building_ids)
    lines.append(t("Buildings: {names}").format(names=names or "—"))
    if post.archived:
        lines.append(t("This patrol post has been archived."))
    rows: Rows = []
    if not post.archived:
        rows.append([(t("🗓 Add shifts"), DefineShifts(post_id=post.id).pack())])
        rows.append([(t("🗄 Archive"), ArchivePost(post_id=post.id).pack())])
    rows.append([(t("« Posts"), PostList().pack())])
    return "\n".join(lines), rows


def buildings_text(t: Translate, chosen: Sequence[Building]) -> str:
    text = t("Which buildings does the post cover? Tap to choose (several are fine), then Done.")
    if chosen:
        text += "\n" + t("Chosen: {names}").format(names="、".join(esc(b.name) for b in chosen))
    return text


def day_prompt(t: Translate, language: str, post_name: str, today: date) -> tuple[str, Rows]:
    text = t(
        "<b>Shifts at {post}</b>\nOn which day is the (first) shift? Press a day, or type the "
        "date like 12-01."
    ).format(post=esc(post_name))
    cells = [
        (day_label(language, today + timedelta(days=i)), ShiftDay(offset=i).pack())
        for i in range(DAY_BUTTONS)
    ]
    rows = [cells[i : i + 2] for i in range(0, len(cells), 2)]
    rows.append(cancel_row(t))
    return text, rows


def times_prompt(t: Translate, language: str, day: date) -> tuple[str, Rows]:
    text = t("{day}: from when to when? Type it like 19:00-21:00.").format(
        day=day_label(language, day)
    )
    return text, [cancel_row(t)]


def capacity_prompt(t: Translate) -> tuple[str, Rows]:
    text = t("How many members are needed on each shift? Press a number, or type it.")
    rows = [[(str(n), ShiftCapacity(capacity=n).pack()) for n in CAPACITIES], cancel_row(t)]
    return text, rows


def repeat_prompt(t: Translate) -> tuple[str, Rows]:
    text = t("Only this once, or repeating?")
    rows = [[(t(label), ShiftRepeat(recurrence=r).pack())] for r, label in REPEAT_LABELS.items()]
    rows.append(cancel_row(t))
    return text, rows


def count_prompt(t: Translate) -> tuple[str, Rows]:
    text = t("How many shifts in all? Press a number, or type it (at most 62).")
    rows = [[(str(n), RepeatCount(count=n).pack()) for n in COUNTS], cancel_row(t)]
    return text, rows


def confirm_view(
    t: Translate,
    language: str,
    *,
    post_name: str,
    day: date,
    start: time,
    end: time,
    capacity: int,
    recurrence: Recurrence,
    count: int,
    token: str,
) -> tuple[str, Rows]:
    lines = [
        t("<b>Please check the shifts</b>"),
        t("Post: {post}").format(post=esc(post_name)),
        (
            t("First shift: {day} {start}–{end}")
            if end >= start
            else t("First shift: {day} {start}–{end} (ends the next day)")
        ).format(day=day_label(language, day), start=f"{start:%H:%M}", end=f"{end:%H:%M}"),
        t("Members needed: {count}").format(count=capacity),
    ]
    if recurrence is Recurrence.ONCE:
        lines.append(t(REPEAT_LABELS[Recurrence.ONCE]))
    else:
        lines.append(
            t("{repeat}, {count} shifts in all").format(
                repeat=t(REPEAT_LABELS[recurrence]), count=count
            )
        )
    rows = [[(t("💾 Save"), SaveShifts(token=token).pack())], cancel_row(t)]
    return "\n".join(lines), rows


def week_view(
    t: Translate, language: str, zone: ZoneInfo, monday: date, shifts: Sequence[Shift]
) -> tuple[str, Rows]:
    text = t("<b>Shifts of the week from {day}</b>").format(day=day_label(language, monday))
    if not shifts:
        text += "\n" + t("No shifts this week.")
    rows = [
        [
            (
                f"{slot_when(language, zone, s.slot)} {s.post_name} ({places(t, s.slot)})",
                AdminShift(slot_id=s.slot.id).pack(),
            )
        ]
        for s in shifts[:90]
    ]
    rows.append([(t("« Patrol duty"), PatrolMenu().pack())])
    return text, rows


def admin_shift_card(
    t: Translate,
    language: str,
    zone: ZoneInfo,
    shift: Shift,
    signups: Sequence[Signup],
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
    rows: Rows = []
    for signup in signups:
        name = esc(signup.user_name or str(signup.user_id))
        if signup.checked_in_at is not None:
            lines.append(
                t("• {name}: checked in at {time}").format(
                    name=name, time=f"{signup.checked_in_at.astimezone(zone):%H:%M}"
                )
            )
        elif signup.status is SignupStatus.LEAVING:
            lines.append(t("• {name}: asks to be let off").format(name=name))
            label = t("✅ Let {name} off").format(name=signup.user_name or signup.user_id)
            rows.append([(label, LetOffMember(slot_id=slot.id, user_id=signup.user_id).pack())])
        else:
            lines.append(f"• {name}")
    if not slot.open:
        lines.append(t("This shift has been cancelled."))
    elif now < slot.ends_at:
        rows.append([(t("✖ Cancel this shift"), CancelShift(slot_id=slot.id).pack())])
    rows.append([(t("« Patrol duty"), PatrolMenu().pack())])
    return "\n".join(lines), rows


def cancel_confirm(t: Translate, slot_id: int) -> Rows:
    return [
        [(t("Yes, cancel the shift"), ConfirmCancelShift(slot_id=slot_id).pack())],
        [(t("« Patrol duty"), PatrolMenu().pack())],
    ]


def area_prompt(t: Translate) -> tuple[str, Rows]:
    text = t("What does the post cover? A few words, e.g. “the east gate and car park”.")
    return text, [[(t("Skip"), SkipArea().pack())], cancel_row(t)]
