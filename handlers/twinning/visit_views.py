"""What a member sees of twinning: their households (/twins), a household's card with its
recent visits and how it has been, and each step of logging a visit. Every user value is
escaped here; the phone is shown only when the service gave it (it checks the pair)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.i18n import Translate, esc
from bot.models import (
    CIRCUMSTANCE_LABELS,
    HELP_KIND_LABELS,
    VISIT_CATEGORY_LABELS,
    HelpKind,
    Household,
    HouseholdContact,
    Pair,
    Visit,
    VisitCategory,
    WellbeingPoint,
)
from bot.services.twinning import yuan_text
from handlers.common import Buttons, clipped
from handlers.twinning.views import cadence_label
from handlers.twinning.visit_buttons import (
    CategoriesDone,
    ChooseHelp,
    ConfirmAmount,
    Day,
    DropVisit,
    HelpChoice,
    HouseholdCard,
    MarkWellbeing,
    SaveVisit,
    SkipNote,
    SkipPhoto,
    SkipWords,
    StartVisit,
    ToggleCategory,
    TwinsList,
    TwinsPage,
    VisitDay,
)

RECENT_VISITS = 5
TREND_MARKS = 6
# One Telegram message holds 4,096 characters. A household's block on the list, at the
# longest names and with its notes cut, is some 400; five of them, and a card's five visits
# with their words cut, stay well inside it (tests fill every field to its limit).
TWINS_PAGE = 5
NOTES_SHOWN = 80  # on the list; the card shows the notes whole
VISIT_WORDS_SHOWN = 120


@dataclass(frozen=True)
class Twin:
    """One of the member's households, as the list and the card show it."""

    pair: Pair
    household: Household
    contact: HouseholdContact
    behind: bool
    due_on: date  # the day the next visit is due, in the community's zone


def day_text(t: Translate, day: date) -> str:
    return t("{month}/{day}").format(month=day.month, day=day.day)


def _place(t: Translate, contact: HouseholdContact) -> str:
    building = esc(contact.building_name or "")
    if contact.room:
        return t("{building}, room {room}").format(building=building, room=esc(contact.room))
    return building


def household_lines(t: Translate, twin: Twin, *, notes_max: int | None = None) -> list[str]:
    """The household's name, place, phone, circumstances, cadence and whether a visit is due;
    the notes cut to `notes_max` characters (None: whole)."""
    contact, pair = twin.contact, twin.pair
    lines = [f"🏠 <b>{esc(contact.name)}</b> · {_place(t, contact)}"]
    if contact.phone:
        lines.append(t("📞 Phone: {phone}").format(phone=esc(contact.phone)))
    if twin.household.circumstances:
        labels = sorted(t(CIRCUMSTANCE_LABELS[c]) for c in twin.household.circumstances)
        lines.append(t("Circumstances: {labels}").format(labels="、".join(labels)))
    if twin.household.notes:
        notes = twin.household.notes
        shown = esc(notes) if notes_max is None else clipped(notes, notes_max)
        lines.append(t("Notes: {notes}").format(notes=shown))
    lines.append(t("Visits: {cadence}").format(cadence=cadence_label(t, pair.cadence_days)))
    if pair.last_visited_on is None:
        lines.append(t("Last visit: none yet"))
    else:
        lines.append(t("Last visit: {day}").format(day=day_text(t, pair.last_visited_on)))
    if twin.behind:
        lines.append(t("⏰ A visit is due now."))
    else:
        lines.append(t("Next visit by {day}").format(day=day_text(t, twin.due_on)))
    return lines


def pages_of(count: int) -> int:
    """How many /twins pages `count` households fill (at least one)."""
    return max(1, -(-count // TWINS_PAGE))


def twins_view(t: Translate, twins: Sequence[Twin], page: int = 0) -> tuple[str, Buttons]:
    """/twins: the households the member is twinned with, a page of them at a time (one out of
    range shows the nearest: the list may have changed since the button was drawn), with a
    button to log a visit to each and to read its card."""
    if not twins:
        return (
            t(
                "🤝 You are not twinned with a household yet. The community staff pair members "
                "with households in need; you will be told here when they do."
            ),
            [],
        )
    pages = pages_of(len(twins))
    page = min(max(page, 0), pages - 1)
    heading = t("<b>🤝 My twinned households</b>")
    if pages > 1:
        heading += "\n" + t("Page {page}/{pages}").format(page=page + 1, pages=pages)
    parts = [heading]
    rows: list[list[tuple[str, str]]] = []
    for twin in twins[page * TWINS_PAGE : (page + 1) * TWINS_PAGE]:
        parts.append("\n".join(household_lines(t, twin, notes_max=NOTES_SHOWN)))
        name = twin.contact.name
        rows.append(
            [
                (
                    t("📝 Log a visit: {name}").format(name=name),
                    StartVisit(twin.household.id).pack(),
                ),
                (t("📋 Visits"), HouseholdCard(twin.household.id).pack()),
            ]
        )
    turns = []
    if page > 0:
        turns.append((t("◀ Previous"), TwinsPage(page - 1).pack()))
    if page < pages - 1:
        turns.append((t("Next ▶"), TwinsPage(page + 1).pack()))
    if turns:
        rows.append(turns)
    return "\n\n".join(parts), rows


def _categories(t: Translate, categories: Iterable[VisitCategory]) -> str:
    order = list(VisitCategory)
    return "、".join(t(VISIT_CATEGORY_LABELS[c]) for c in sorted(categories, key=order.index))


def help_text(t: Translate, kind: HelpKind | None, fen: int) -> str:
    if kind is None or not fen:
        return t("none")
    return t("{kind} ¥{amount}").format(kind=t(HELP_KIND_LABELS[kind]), amount=yuan_text(fen))


def visit_line(t: Translate, visit: Visit) -> str:
    what = [_categories(t, visit.categories)] if visit.categories else []
    if visit.text:
        what.append(clipped(visit.text, VISIT_WORDS_SHOWN))
    elif visit.voice_file_id:
        what.append(t("(voice note)"))
    line = f"• {day_text(t, visit.visited_on)} {'；'.join(what)}"
    if visit.help_fen:
        line += " · " + help_text(t, visit.help_kind, visit.help_fen)
    if visit.wellbeing is not None:
        line += " · " + t("mark {mark}").format(mark=visit.wellbeing)
    return line


def trend_text(t: Translate, marks: Sequence[WellbeingPoint]) -> str:
    if not marks:
        return t("How they are: not marked yet.")
    shown = " → ".join(str(p.mark) for p in marks[-TREND_MARKS:])
    text = t("How they are (1 poorly … 5 well): {marks}").format(marks=shown)
    if len(marks) >= 2 and marks[-1].mark < marks[-2].mark:
        text += "\n" + t("⚠️ Worse than at the visit before.")
    return text


def card_view(
    t: Translate, twin: Twin, visits: Sequence[Visit], marks: Sequence[WellbeingPoint]
) -> tuple[str, Buttons]:
    """A household's card: who they are, the latest visits, how they have been."""
    lines = household_lines(t, twin)
    lines.append("")
    if visits:
        lines.append(t("<b>Recent visits</b>"))
        lines.extend(visit_line(t, v) for v in visits[:RECENT_VISITS])
    else:
        lines.append(t("No visits logged yet."))
    lines.append(trend_text(t, marks))
    rows = [
        [(t("📝 Log a visit"), StartVisit(twin.household.id).pack())],
        [(t("« My households"), TwinsList().pack())],
    ]
    return "\n".join(lines), rows


# --- logging a visit, step by step ---------------------------------------------------------


def cancel_row(t: Translate) -> list[tuple[str, str]]:
    return [(t("✖ Cancel"), DropVisit().pack())]


def day_prompt(t: Translate, name: str) -> tuple[str, Buttons]:
    text = t(
        "📝 Logging a visit to <b>{name}</b>.\nWhen was the visit? Press a button, or type "
        "the date, like 12-01 or 2026-12-01."
    ).format(name=esc(name))
    rows = [
        [
            (t("Today"), VisitDay(Day.TODAY).pack()),
            (t("Yesterday"), VisitDay(Day.YESTERDAY).pack()),
        ],
        cancel_row(t),
    ]
    return text, rows


def categories_prompt(t: Translate, chosen: Iterable[VisitCategory]) -> tuple[str, Buttons]:
    picked = set(chosen)
    buttons = [
        (("✅ " if c in picked else "▫️ ") + t(VISIT_CATEGORY_LABELS[c]), ToggleCategory(c).pack())
        for c in VisitCategory
    ]
    rows: list[list[tuple[str, str]]] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(t("Next ➡️"), CategoriesDone().pack())])
    rows.append(cancel_row(t))
    text = t("What was done? Press all that apply, then Next.")
    return text, rows


def words_prompt(t: Translate) -> tuple[str, Buttons]:
    text = t("Anything to add? Write a few words or send a voice note. Or press Skip.")
    return text, [[(t("Skip"), SkipWords().pack())], cancel_row(t)]


def help_prompt(t: Translate) -> tuple[str, Buttons]:
    text = t("Was help given on this visit?")
    rows = [
        [(t("No help given"), ChooseHelp(HelpChoice.NONE).pack())],
        [
            (t("💰 Funds"), ChooseHelp(HelpChoice.FUNDS).pack()),
            (t("📦 Materials"), ChooseHelp(HelpChoice.MATERIALS).pack()),
        ],
        cancel_row(t),
    ]
    return text, rows


def amount_prompt(t: Translate, kind: HelpKind) -> tuple[str, Buttons]:
    text = t("How much was the {kind} worth, in yuan? Type a number, like 200 or 12.5.").format(
        kind=t(HELP_KIND_LABELS[kind])
    )
    return text, [cancel_row(t)]


def amount_check(t: Translate, fen: int) -> tuple[str, Buttons]:
    amount = yuan_text(fen)
    text = t("RMB {amount} is a large amount. Is it right? Please confirm.").format(amount=amount)
    rows = [
        [
            (t("✅ Confirm ¥{amount}").format(amount=amount), ConfirmAmount(True).pack()),
            (t("✏️ Type it again"), ConfirmAmount(False).pack()),
        ],
        cancel_row(t),
    ]
    return text, rows


def photo_prompt(t: Translate) -> tuple[str, Buttons]:
    text = t("Would you like to add a photo of the visit? Send it, or press Skip.")
    return text, [[(t("Skip"), SkipPhoto().pack())], cancel_row(t)]


def wellbeing_prompt(t: Translate) -> tuple[str, Buttons]:
    text = t(
        "How is the household doing? Press a number: 1 = poorly (they need help soon), 5 = well."
    )
    marks = [(str(m), MarkWellbeing(m).pack()) for m in range(1, 6)]
    return text, [marks, [(t("Skip"), MarkWellbeing(0).pack())], cancel_row(t)]


def note_prompt(t: Translate) -> tuple[str, Buttons]:
    text = t(
        "Anything the community staff should know about how they are? Write it, or press Skip."
    )
    return text, [[(t("Skip"), SkipNote().pack())], cancel_row(t)]


@dataclass(frozen=True)
class VisitSummary:
    name: str
    visited_on: date
    categories: frozenset[VisitCategory]
    text: str | None
    voice: bool
    help_kind: HelpKind | None
    help_fen: int
    photo: bool
    wellbeing: int | None
    wellbeing_note: str | None
    token: str


def confirm_card(t: Translate, visit: VisitSummary) -> tuple[str, Buttons]:
    lines = [
        t("<b>Please check the visit</b>"),
        t("Household: {name}").format(name=esc(visit.name)),
        t("Date: {day}").format(day=day_text(t, visit.visited_on)),
    ]
    if visit.categories:
        lines.append(t("Done: {what}").format(what=_categories(t, visit.categories)))
    if visit.text:
        lines.append(t("Words: {text}").format(text=esc(visit.text)))
    if visit.voice:
        lines.append(t("🎙 With a voice note"))
    lines.append(t("Help: {help}").format(help=help_text(t, visit.help_kind, visit.help_fen)))
    if visit.photo:
        lines.append(t("📷 With a photo"))
    if visit.wellbeing is not None:
        lines.append(t("How they are: {mark} of 5").format(mark=visit.wellbeing))
    if visit.wellbeing_note:
        lines.append(t("Note: {note}").format(note=esc(visit.wellbeing_note)))
    rows = [[(t("💾 Save"), SaveVisit(visit.token).pack())], cancel_row(t)]
    return "\n".join(lines), rows


def saved_text(t: Translate, points: int | None, due_on: date | None) -> str:
    lines = [
        t("✅ Visit logged, love-savings passbook +{points} points.").format(points=points)
        if points
        else t("✅ Visit logged.")
    ]
    if points is None:  # a later visit that day: the day's first earned the points
        lines.append(t("A day's visits to a household earn points once."))
    if due_on is not None:
        lines.append(t("Next visit by {day}.").format(day=day_text(t, due_on)))
    return "\n".join(lines)
