"""The texts and keyboards of the twinning section of /admin: the section's menu, the
questions of registering a household, its confirm card, the household card (with its phone:
only coordinators in reach reach it), the list and who needs attention."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from babel.dates import format_skeleton

from bot.i18n import Translate, babel_locale, esc
from bot.models import (
    CIRCUMSTANCE_LABELS,
    AttentionItem,
    AttentionReason,
    Circumstance,
    Household,
    HouseholdContact,
    Pair,
    Visit,
    WellbeingPoint,
)
from handlers.admin.buttons import AdminMenu
from handlers.common import clipped
from handlers.twinning.admin_buttons import (
    CircumstancesDone,
    DropHousehold,
    EditField,
    EditHousehold,
    EndPair,
    EndPairs,
    HouseholdsPage,
    ListByBuilding,
    NeedsAttention,
    NewHousehold,
    OpenHousehold,
    PairWith,
    ToggleCircumstance,
    TwinningMenu,
    VisitMedia,
)
from handlers.twinning.views import cadence_label
from handlers.twinning.visit_views import VISIT_WORDS_SHOWN, visit_line

Rows = list[list[tuple[str, str]]]
TREND_SHOWN = 5  # the latest marks on a card: enough to see a trend, short enough for a line
EDITABLE = ("room", "phone", "notes", "circumstances")


def day_text(day: date, language: str) -> str:
    return format_skeleton("MMMd", day, locale=babel_locale(language))


def cancel_row(t: Translate) -> list[tuple[str, str]]:
    return [(t("✖ Cancel"), DropHousehold().pack())]


def circumstances_text(t: Translate, chosen: Iterable[Circumstance]) -> str:
    picked = set(chosen)
    return "、".join(t(CIRCUMSTANCE_LABELS[c]) for c in Circumstance if c in picked) or "—"


def menu_view(t: Translate) -> tuple[str, Rows]:
    text = t(
        "<b>🤝 Twinning</b>\nHouseholds in difficulty, the members twinned with them, and who "
        "needs looking after."
    )
    rows = [
        [(t("➕ Register a household"), NewHousehold().pack())],
        [(t("🏠 Households"), ListByBuilding().pack())],
        [(t("⚠️ Needs attention"), NeedsAttention().pack())],
        [(t("« Back"), AdminMenu().pack())],
    ]
    return text, rows


def circumstances_view(
    t: Translate, chosen: Iterable[Circumstance], *, done: str
) -> tuple[str, Rows]:
    """The toggle buttons (✅ on the chosen ones), then `done` and ✖."""
    picked = set(chosen)
    text = t("Which of these apply to the household? Tap to choose (several are fine).")
    cells = [
        (("✅ " if c in picked else "") + t(CIRCUMSTANCE_LABELS[c]), ToggleCircumstance(c).pack())
        for c in Circumstance
    ]
    rows: Rows = [cells[i : i + 2] for i in range(0, len(cells), 2)]
    rows.append([(done, CircumstancesDone().pack())])
    rows.append(cancel_row(t))
    return text, rows


def confirm_lines(
    t: Translate,
    *,
    name: str,
    building: str,
    room: str | None,
    phone: str | None,
    circumstances: Iterable[Circumstance],
    notes: str | None,
    resident: str | None,
) -> list[str]:
    return [
        t("Name: {name}").format(name=esc(name)),
        t("Building: {name}").format(name=esc(building)),
        t("Room: {room}").format(room=esc(room or "—")),
        t("Phone: {phone}").format(phone=esc(phone or "—")),
        t("Circumstances: {list}").format(list=esc(circumstances_text(t, circumstances))),
        t("Notes: {notes}").format(notes=esc(notes or "—")),
        t("Registered resident: {name}").format(name=esc(resident or "—")),
    ]


def trend_text(points: Sequence[WellbeingPoint], language: str) -> str:
    """The latest marks, oldest first, with their days and an arrow: "4 → 3 → 2 ↓"."""
    shown = list(points)[-TREND_SHOWN:]
    if not shown:
        return "—"
    line = " → ".join(f"{p.mark} ({day_text(p.visited_on, language)})" for p in shown)
    if len(shown) > 1:
        last, before = shown[-1].mark, shown[-2].mark
        line += " ↓" if last < before else " ↑" if last > before else " →"
    return line


def pair_line(t: Translate, pair: Pair, language: str) -> str:
    last = (
        day_text(pair.last_visited_on, language) if pair.last_visited_on else t("not visited yet")
    )
    return t("• {member}: {cadence}, last visit {last}").format(
        member=esc(pair.member_name or str(pair.member_id)),
        cadence=cadence_label(t, pair.cadence_days),
        last=last,
    )


CARD_VISITS = 3  # the latest visits on a coordinator's household card


def household_card(
    t: Translate,
    household: Household,
    contact: HouseholdContact,
    pairs: Sequence[Pair],
    trend: Sequence[WellbeingPoint],
    resident: str | None,
    language: str,
    visits: Sequence[Visit] = (),
) -> tuple[str, Rows]:
    """The household as a coordinator in reach sees it, phone included, with its actions and
    its latest visits: who went, what was done, and what the member noted for the staff."""
    lines = [f"<b>🏠 {esc(household.name)}</b>"]
    lines += confirm_lines(
        t,
        name=household.name,
        building=household.building_name or "—",
        room=contact.room,
        phone=contact.phone,
        circumstances=household.circumstances,
        notes=household.notes,
        resident=resident,
    )[1:]
    active = [p for p in pairs if p.active]
    lines.append("")
    lines.append(t("<b>Twinned members</b>"))
    lines += [pair_line(t, p, language) for p in active] or [t("Nobody yet.")]
    lines.append(t("Wellbeing: {trend}").format(trend=trend_text(trend, language)))
    if visits:
        names = {p.member_id: p.member_name for p in pairs}
        lines.append("")
        lines.append(t("<b>Latest visits</b>"))
        for visit in visits[:CARD_VISITS]:
            lines.append(f"{visit_line(t, visit)} · {esc(names.get(visit.member_id) or '')}")
            if visit.wellbeing_note:
                note = clipped(visit.wellbeing_note, VISIT_WORDS_SHOWN)
                lines.append("  " + t("Noted for the staff: {note}").format(note=note))
    rows: Rows = [
        [(_media_label(t, visit, language), VisitMedia(visit_id=visit.id).pack())]
        for visit in visits[:CARD_VISITS]
        if visit.photo_file_id or visit.voice_file_id
    ]
    rows.append([(t("🤝 Pair a member"), PairWith(household_id=household.id).pack())])
    if active:
        rows.append([(t("End a pair"), EndPairs(household_id=household.id).pack())])
    rows.append([(t("✏️ Change"), EditHousehold(household_id=household.id).pack())])
    rows.append(
        [
            (t("🏠 Households"), ListByBuilding().pack()),
            (t("« Twinning"), TwinningMenu().pack()),
        ]
    )
    return "\n".join(lines), rows


def _media_label(t: Translate, visit: Visit, language: str) -> str:
    icons = ("🖼" if visit.photo_file_id else "") + ("▶" if visit.voice_file_id else "")
    return t("{icons} The visit of {day}").format(
        icons=icons, day=day_text(visit.visited_on, language)
    )


def households_view(
    t: Translate, found: Sequence[Household], building_id: int, more: bool
) -> tuple[str, Rows]:
    if not found:
        text = t("No households are registered here yet.")
    else:
        text = t("<b>Households</b>") + "\n" + t("Choose one to see its card.")
    rows: Rows = [
        [
            (
                f"{h.name} · {h.building_name or ''} · {circumstances_text(t, h.circumstances)}",
                OpenHousehold(household_id=h.id).pack(),
            )
        ]
        for h in found
    ]
    if more and found:
        rows.append(
            [(t("More ›"), HouseholdsPage(building_id=building_id, after=found[-1].id).pack())]
        )
    rows.append(
        [(t("🏠 Households"), ListByBuilding().pack()), (t("« Twinning"), TwinningMenu().pack())]
    )
    return text, rows


def _reasons(t: Translate, item: AttentionItem) -> str:
    said = []
    if AttentionReason.DROPPED in item.reasons:
        said.append(
            t("wellbeing dropped {before} → {now}").format(
                before=item.previous_mark, now=item.latest_mark
            )
        )
    elif AttentionReason.LOW in item.reasons:
        said.append(t("wellbeing low ({mark})").format(mark=item.latest_mark))
    if AttentionReason.UNVISITED in item.reasons:
        said.append(t("not visited for 60 days"))
    return "; ".join(said)


# The needs-attention screen is one message: Telegram takes 4,096 characters and 100 buttons.
# The worst come first, so the ones left out are the least pressing; the count says so.
ATTENTION_TEXT_BUDGET = 3600
ATTENTION_SHOWN = 30


def attention_view(t: Translate, items: Sequence[AttentionItem]) -> tuple[str, Rows]:
    lines = [t("<b>⚠️ Needs attention</b>")]
    if not items:
        lines.append(t("Every household is doing fine and visited."))
    rows: Rows = []
    size = len(lines[0])
    for item in items:
        household = item.household
        where = esc(household.building_name or "")
        line = f"• {esc(household.name)} ({where}): {_reasons(t, item)}"
        if len(rows) == ATTENTION_SHOWN or size + len(line) > ATTENTION_TEXT_BUDGET:
            more = t("…and {count} more, less pressing. Open the household list for them.")
            lines.append(more.format(count=len(items) - len(rows)))
            break
        size += len(line) + 1
        lines.append(line)
        rows.append(
            [(f"{household.name} · {_reasons(t, item)}", OpenHousehold(household.id).pack())]
        )
    rows.append([(t("« Twinning"), TwinningMenu().pack())])
    return "\n".join(lines), rows


def end_choices(t: Translate, pairs: Sequence[Pair]) -> tuple[str, Rows]:
    rows: Rows = [
        [(pair.member_name or str(pair.member_id), EndPair(pair_id=pair.id).pack())]
        for pair in pairs
        if pair.active
    ]
    rows.append(cancel_row(t))
    return t("Which pair ends?"), rows


def edit_choices(t: Translate, household: Household) -> tuple[str, Rows]:
    labels = {
        "room": t("Room"),
        "phone": t("Phone"),
        "notes": t("Notes"),
        "circumstances": t("Circumstances"),
    }
    rows: Rows = [
        [(labels[f], EditField(field=f).pack()) for f in EDITABLE[:2]],
        [(labels[f], EditField(field=f).pack()) for f in EDITABLE[2:]],
        [(t("↩ Back"), OpenHousehold(household_id=household.id).pack())],
    ]
    return t("What should change for {name}?").format(name=esc(household.name)), rows
