"""The twinning section of /admin (结对帮扶) for coordinators: registering a household in
difficulty (name, building, room, phone, circumstances, notes, a registered resident to link,
the household's consent, then a confirm card), the households of a building, a household's
card (phone, pairs, wellbeing trend) with pairing a member, ending a pair with a reason and
changing it, and the households that need attention.

The service checks the role and the reach on every call, whatever the buttons showed. The
confirm card carries its draft's token, and the service registers one household for the same
coordinator's repeated save: a double-tapped "save" makes one."""

from __future__ import annotations

import logging
import secrets
from enum import StrEnum
from typing import ClassVar

from pydantic import Field
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.i18n import Translate, esc
from bot.models import N_, Building, Cadence, Circumstance, Household, Role, User
from bot.services.errors import InvalidInput, NotFound
from bot.services.passbook import clean_reason
from bot.services.text import fold_text
from bot.services.twinning import HouseholdDraft
from bot.services.twinning.rules import NOTES_MAX
from bot.services.users import clean_phone, clean_room
from handlers.building_picker import BuildingPicker, page_button
from handlers.buttons import Button, StaleButton
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import (
    END,
    AnyHandler,
    Callback,
    DialogueDraft,
    Next,
    dialogue,
    presses,
    step,
)
from handlers.person_steps import PersonSteps, Who
from handlers.twinning.admin_buttons import (
    CircumstancesDone,
    ConsentGiven,
    ConsentRefused,
    DropHousehold,
    EditField,
    EditHousehold,
    EndPair,
    EndPairs,
    HouseholdBuilding,
    HouseholdsPage,
    LinkResident,
    ListBuilding,
    ListByBuilding,
    NeedsAttention,
    NewHousehold,
    OpenHousehold,
    PairCadence,
    PairMember,
    PairWith,
    SaveHousehold,
    SkipAnswer,
    ToggleCircumstance,
    TwinningMenu,
    VisitMedia,
)
from handlers.twinning.admin_views import (
    EDITABLE,
    attention_view,
    cancel_row,
    circumstances_view,
    confirm_lines,
    edit_choices,
    end_choices,
    household_card,
    households_view,
    menu_view,
)
from handlers.twinning.views import cadence_label
from handlers.twinning.visit_views import visit_line

Handlers = list[BaseHandler[Update, LinliContext, object]]
coordinator_step = step(Role.COORDINATOR)
PAGE = 50  # the service's page of households: a full page means there may be more

log = logging.getLogger(__name__)


class HouseholdDialogue(StrEnum):
    MENU = "menu"  # a menu, list or card is shown: buttons only
    NAME = "name"
    BUILDING = "building"
    ROOM = "room"
    PHONE = "phone"
    CIRCUMSTANCES = "circumstances"
    NOTES = "notes"
    RESIDENT = "resident"  # a registered resident's name or id is typed (or skipped)
    CONSENT = "consent"
    CONFIRM = "confirm"
    LIST = "list"  # the building picker of the list: a typed number finds a building
    MEMBER = "member"  # a member's name or id is typed, to pair
    CADENCE = "cadence"
    REASON = "reason"  # why a pair ends
    EDIT = "edit"  # a new room, phone or notes is typed (or removed)
    EDIT_CIRCUMSTANCES = "edit_circumstances"


class HouseholdForm(DialogueDraft):
    """A household being registered or changed, or the household being paired or unpaired."""

    KEY: ClassVar[str] = "household"
    household_id: int | None = None
    name: str = ""
    building_id: int | None = None
    building_name: str = ""
    room: str | None = None
    phone: str | None = None
    circumstances: list[Circumstance] = Field(default_factory=list)
    notes: str | None = None
    resident_id: int | None = None
    resident_name: str | None = None
    consent: bool = False
    token: str = ""  # names this one registration: the confirm card carries it
    pair_id: int | None = None
    field: str = ""  # the part being changed


# --- the section ---------------------------------------------------------------------------


@coordinator_step
async def section(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    text, rows = menu_view(t)
    await answer(update, text, rows, edit=update.callback_query is not None)
    return HouseholdDialogue.MENU


@coordinator_step
async def dropped(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("Cancelled. Nothing was changed."), edit=True)
    return END


async def _community(context: LinliContext, user: User) -> int:
    """The community whose buildings are offered (the one the coordinator looks after)."""
    try:
        return (await context.services.admin.community(user, context.working_community)).id
    except (InvalidInput, NotFound):
        if user.community_id is None:
            raise
        return user.community_id


# --- registering: name, building, room, phone (the shared person steps) ---------------------


@coordinator_step
async def new_household(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    HouseholdForm(token=secrets.token_hex(8)).save(context)
    intro = t("<b>Register a household</b> (no phone or Telegram needed)\n")
    await PERSON.ask_name(update, t, intro=intro)
    return HouseholdDialogue.NAME


async def _named(
    update: Update, context: LinliContext, user: User | None, t: Translate, name: str
) -> Next:
    assert user is not None
    HouseholdForm.change(context, name=name)
    if await PERSON.ask_building(update, context, t, await _community(context, user)):
        return HouseholdDialogue.BUILDING
    raise InvalidInput(N_("Please add the community's buildings in /admin first."))


async def _housed(
    update: Update, context: LinliContext, user: User | None, t: Translate, building: int | None
) -> Next:
    assert user is not None
    found = await context.services.users.building(building) if building else None
    if found is None or not user.covers(found.community_id, found.id):
        raise NotFound()  # not a building this coordinator looks after
    HouseholdForm.change(context, building_id=found.id, building_name=found.name)
    await PERSON.ask_room(update, t)
    return HouseholdDialogue.ROOM


async def _roomed(
    update: Update, context: LinliContext, _user: User | None, t: Translate, room: str | None
) -> Next:
    HouseholdForm.change(context, room=room)
    await PERSON.ask_phone(update, t)
    return HouseholdDialogue.PHONE


async def _phoned(
    update: Update, context: LinliContext, _user: User | None, t: Translate, phone: str | None
) -> Next:
    form = HouseholdForm.change(context, phone=phone)
    text, rows = circumstances_view(t, form.circumstances, done=t("Next ›"))
    await answer(update, text, rows)
    return HouseholdDialogue.CIRCUMSTANCES


PERSON = PersonSteps(
    who=Who.OTHER,
    building=HouseholdBuilding,
    skip_room=SkipAnswer,
    skip_phone=SkipAnswer,
    cancel=DropHousehold,
    on_name=_named,
    on_building=_housed,
    on_room=_roomed,
    on_phone=_phoned,
    role=Role.COORDINATOR,
)


# --- circumstances, notes, resident, consent, confirm ---------------------------------------


def _toggled(context: LinliContext, pressed: Circumstance) -> list[Circumstance]:
    chosen = set(HouseholdForm.load(context).circumstances) ^ {pressed}
    picked = [c for c in Circumstance if c in chosen]
    HouseholdForm.change(context, circumstances=picked)
    return picked


@coordinator_step
async def toggle(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    picked = _toggled(context, ToggleCircumstance.of(update).circumstance)
    await ack(update)
    text, rows = circumstances_view(t, picked, done=t("Next ›"))
    await answer(update, text, rows, edit=True)
    return None


@coordinator_step
async def circumstances_done(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    await ack(update)
    await answer(
        update,
        t("Anything the members should know (health, family, what helps)? Type it, or skip."),
        [[(t("Skip"), SkipAnswer().pack())], cancel_row(t)],
    )
    return HouseholdDialogue.NOTES


async def _ask_resident(update: Update, t: Translate) -> Next:
    await answer(
        update,
        t(
            "Is someone of the household registered with the bot? Type their name or Telegram "
            "id to link them (they are told when a member is twinned with them), or skip."
        ),
        [[(t("Skip"), SkipAnswer().pack())], cancel_row(t)],
    )
    return HouseholdDialogue.RESIDENT


@coordinator_step
async def typed_notes(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    HouseholdForm.change(context, notes=fold_text(update.message.text, NOTES_MAX))
    return await _ask_resident(update, t)


@coordinator_step
async def skipped_notes(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    HouseholdForm.change(context, notes=None)
    return await _ask_resident(update, t)


@coordinator_step
async def typed_resident(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    found = await context.services.admin.find_users(user, update.message.text or "")
    if not found:
        await answer(update, t("Nobody registered matches that. Type another name, or skip."))
        return None
    rows = [[(f"{u.display_name} ({u.id})", LinkResident(user_id=u.id).pack())] for u in found]
    rows += [[(t("Skip"), SkipAnswer().pack())], cancel_row(t)]
    await answer(update, t("Who is it?"), rows)
    return None


async def _ask_consent(update: Update, t: Translate) -> Next:
    await answer(
        update,
        t(
            "Has the household agreed to be registered and visited? Their phone and room are "
            "seen only by the members twinned with them and the community staff, and, for a "
            "wish posted for them, by the member who takes it on."
        ),
        [
            [(t("✅ They agreed"), ConsentGiven().pack())],
            [(t("They did not agree"), ConsentRefused().pack())],
            cancel_row(t),
        ],
    )
    return HouseholdDialogue.CONSENT


@coordinator_step
async def linked(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    resident = await context.services.users.get(LinkResident.of(update).user_id)
    form = HouseholdForm.load(context)
    building = await context.services.users.building(form.building_id or 0)
    if resident is None or building is None or resident.community_id != building.community_id:
        raise StaleButton()
    await ack(update)
    HouseholdForm.change(context, resident_id=resident.id, resident_name=resident.display_name)
    return await _ask_consent(update, t)


@coordinator_step
async def skipped_resident(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    await ack(update)
    HouseholdForm.change(context, resident_id=None, resident_name=None)
    return await _ask_consent(update, t)


@coordinator_step
async def refused(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    await answer(
        update,
        t("Without the household's consent it cannot be registered. Nothing was saved."),
        edit=True,
    )
    return END


@coordinator_step
async def agreed(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = HouseholdForm.change(context, consent=True)
    if not form.name or form.building_id is None:
        raise StaleButton()
    await ack(update)
    lines = [t("<b>Please check</b>")]
    lines += confirm_lines(
        t,
        name=form.name,
        building=form.building_name,
        room=form.room,
        phone=form.phone,
        circumstances=form.circumstances,
        notes=form.notes,
        resident=form.resident_name,
    )
    lines.append(t("✅ The household agreed to be registered."))
    rows = [[(t("✅ Save"), SaveHousehold(token=form.token).pack()), *cancel_row(t)]]
    await answer(update, "\n".join(lines), rows, edit=True)
    return HouseholdDialogue.CONFIRM


@coordinator_step
async def save(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = HouseholdForm.load(context)
    if not form.token or SaveHousehold.of(update).token != form.token:
        raise StaleButton()  # a card of an earlier registration
    if form.building_id is None:
        raise StaleButton()
    household = await context.services.twinning.register_household(
        user,
        HouseholdDraft(
            name=form.name,
            building_id=form.building_id,
            room=form.room,
            phone=form.phone,
            circumstances=frozenset(form.circumstances),
            notes=form.notes,
            resident_id=form.resident_id,
            consent=form.consent,
        ),
    )
    await ack(update, t("Saved."))
    await answer(
        update,
        t("Registered: {name}. Now pair a member with the household.").format(
            name=esc(household.name)
        ),
        edit=True,
    )
    await _card(update, context, user, t, household.id, edit=False)
    return END


# --- the list, the card, attention ----------------------------------------------------------


async def _buildings(context: LinliContext, user: User) -> list[Building]:
    found = await context.services.admin.all_buildings(user, context.working_community)
    return [b for b in found if not b.archived and user.covers(b.community_id, b.id)]


def _picker() -> BuildingPicker:
    return BuildingPicker(
        choose=lambda b: ListBuilding(building_id=b.id).pack(),
        turn=lambda page: page_button(ListBuilding)(page=page).pack(),
    )


def _list_after(t: Translate) -> list[list[tuple[str, str]]]:
    return [
        [(t("All buildings"), ListBuilding(building_id=0).pack())],
        [(t("« Twinning"), TwinningMenu().pack())],
    ]


@coordinator_step
async def list_buildings(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = update.callback_query.data if update.callback_query else None
    page = 0
    if pressed and page_button(ListBuilding).pattern().fullmatch(pressed):
        page = page_button(ListBuilding).of(update).page
    buildings = await _buildings(context, user)
    await ack(update)
    note, rows = _picker().page(t, buildings, page, after=_list_after(t))
    text = t("Households of which building?") + ("\n" + note if note else "")
    await answer(update, text, rows, edit=update.callback_query is not None)
    return HouseholdDialogue.LIST


@coordinator_step
async def searched(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    buildings = await _buildings(context, user)
    text, rows = _picker().found(t, buildings, update.message.text or "", after=_list_after(t))
    await answer(update, text, rows)
    return None


async def _households(
    update: Update, context: LinliContext, user: User, t: Translate, building: int, after: int
) -> Next:
    found = await context.services.twinning.households(
        user, building_id=building or None, after_id=after or None
    )
    await ack(update)
    text, rows = households_view(t, found, building, more=len(found) >= PAGE)
    await answer(update, text, rows, edit=True)
    return HouseholdDialogue.MENU


@coordinator_step
async def chose_building(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    return await _households(update, context, user, t, ListBuilding.of(update).building_id, 0)


@coordinator_step
async def next_page(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = HouseholdsPage.of(update)
    return await _households(update, context, user, t, pressed.building_id, pressed.after)


async def _card(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    household_id: int,
    *,
    edit: bool,
) -> None:
    twinning = context.services.twinning
    pairs = await twinning.pairs_of(user, household_id)  # in reach, else NoSuchHousehold
    household = await twinning.household(user, household_id)
    contact = await twinning.contact(user, household_id)
    trend = await twinning.wellbeing(user, household_id)
    visits = await twinning.visits(user, household_id)
    resident = (
        await context.services.users.get(household.resident_id)
        if household.resident_id is not None
        else None
    )
    await ack(update)
    text, rows = household_card(
        t,
        household,
        contact,
        pairs,
        trend,
        resident.display_name if resident is not None else None,
        user.language,
        visits,
    )
    await answer(update, text, rows, edit=edit)


@coordinator_step
async def open_card(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await _card(update, context, user, t, OpenHousehold.of(update).household_id, edit=True)
    return HouseholdDialogue.MENU


@coordinator_step
async def visit_media(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """A visit's photo and voice note, below the card (the card stays where it is)."""
    visit = await context.services.twinning.visit(user, VisitMedia.of(update).visit_id)
    await ack(update)
    caption = visit_line(t, visit)
    try:
        if visit.photo_file_id:
            await context.bot.send_photo(
                user.id, visit.photo_file_id, caption=caption, parse_mode=ParseMode.HTML
            )
        if visit.voice_file_id:
            await context.bot.send_voice(
                user.id, visit.voice_file_id, caption=caption, parse_mode=ParseMode.HTML
            )
    except TelegramError:  # a file Telegram no longer has: say so rather than stay silent
        log.warning("could not send the media of visit_id=%s", visit.id)
        await answer(update, t("That photo or voice note can no longer be shown."))
    return None


@coordinator_step
async def attention(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    items = await context.services.twinning.needs_attention(user)
    await ack(update)
    text, rows = attention_view(t, items)
    await answer(update, text, rows, edit=True)
    return HouseholdDialogue.MENU


# --- pairing and ending a pair ----------------------------------------------------------------


@coordinator_step
async def pair_with(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    household = await context.services.twinning.household(user, PairWith.of(update).household_id)
    await context.services.twinning.pairs_of(user, household.id)  # a coordinator in reach
    await ack(update)
    HouseholdForm(household_id=household.id, name=household.name).save(context)
    await answer(
        update,
        t(
            "Who should be twinned with {name}? Type the member's name (or part of it) or id."
        ).format(name=esc(household.name)),
        [cancel_row(t)],
    )
    return HouseholdDialogue.MEMBER


@coordinator_step
async def typed_member(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    found = await context.services.passbook.find_members(user, update.message.text or "")
    if not found:
        await answer(update, t("No member matches that. Please try another part of the name."))
        return None
    rows = [[(f"{m.display_name} ({m.id})", PairMember(member_id=m.id).pack())] for m in found]
    rows.append(cancel_row(t))
    await answer(update, t("Which member?"), rows)
    return None


@coordinator_step
async def chose_member(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    member_id = PairMember.of(update).member_id
    member = await context.services.users.get(member_id)
    if HouseholdForm.load(context).household_id is None:
        raise StaleButton()
    if member is None or not member.is_member or not user.covers(member.community_id):
        raise NotFound()  # a forged id: no name of anyone outside the coordinator's reach
    await ack(update)
    rows = [
        [
            (cadence_label(t, c.value), PairCadence(member_id=member_id, days=c.value).pack())
            for c in Cadence
        ],
        cancel_row(t),
    ]
    await answer(
        update,
        t("How often should {member} visit?").format(member=esc(member.display_name)),
        rows,
        edit=True,
    )
    return HouseholdDialogue.CADENCE


@coordinator_step
async def chose_cadence(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = PairCadence.of(update)
    household_id = HouseholdForm.load(context).household_id
    if household_id is None or pressed.days not in {c.value for c in Cadence}:
        raise StaleButton()
    pair = await context.services.twinning.pair(
        user, pressed.member_id, household_id, Cadence(pressed.days)
    )
    await ack(update, t("Saved."))
    await answer(
        update,
        t("{member} is now twinned with {household} ({cadence}), and has been told.").format(
            member=esc(pair.member_name or ""),
            household=esc(pair.household_name or ""),
            cadence=cadence_label(t, pair.cadence_days),
        ),
        edit=True,
    )
    await _card(update, context, user, t, household_id, edit=False)
    return END


@coordinator_step
async def end_pairs(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    household_id = EndPairs.of(update).household_id
    pairs = await context.services.twinning.pairs_of(user, household_id)
    await ack(update)
    HouseholdForm(household_id=household_id).save(context)
    text, rows = end_choices(t, pairs)
    await answer(update, text, rows, edit=True)
    return HouseholdDialogue.MENU


@coordinator_step
async def end_pair(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pair_id = EndPair.of(update).pair_id
    household_id = HouseholdForm.load(context).household_id
    if household_id is None:
        raise StaleButton()
    pairs = await context.services.twinning.pairs_of(user, household_id)
    pair = next((p for p in pairs if p.id == pair_id and p.active), None)
    if pair is None:
        raise StaleButton()
    await ack(update)
    HouseholdForm.change(context, pair_id=pair.id)
    await answer(
        update,
        t(
            "Why does the twinning of {member} end? Please write the reason; they will read it."
        ).format(member=esc(pair.member_name or "")),
        [cancel_row(t)],
        edit=True,
    )
    return HouseholdDialogue.REASON


@coordinator_step
async def typed_reason(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    message = update.message
    form = HouseholdForm.load(context)
    if form.pair_id is None or form.household_id is None:
        raise StaleButton()
    reason = clean_reason(message.text if message is not None else None)
    ended = await context.services.twinning.end_pair(user, form.pair_id, reason)
    await answer(
        update,
        t("The twinning of {member} with {household} has ended. Both have been told.").format(
            member=esc(ended.member_name or ""), household=esc(ended.household_name or "")
        ),
    )
    await _card(update, context, user, t, form.household_id, edit=False)
    return END


# --- changing a household -------------------------------------------------------------------


@coordinator_step
async def edit(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    household_id = EditHousehold.of(update).household_id
    await context.services.twinning.pairs_of(user, household_id)  # a coordinator in reach
    household = await context.services.twinning.household(user, household_id)
    await ack(update)
    HouseholdForm(household_id=household.id, name=household.name).save(context)
    text, rows = edit_choices(t, household)
    await answer(update, text, rows, edit=True)
    return HouseholdDialogue.MENU


@coordinator_step
async def edit_field(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    field = EditField.of(update).field
    form = HouseholdForm.load(context)
    if field not in EDITABLE or form.household_id is None:
        raise StaleButton()
    household = await context.services.twinning.household(user, form.household_id)
    await ack(update)
    HouseholdForm.change(context, field=field, circumstances=sorted(household.circumstances))
    if field == "circumstances":
        text, rows = circumstances_view(t, household.circumstances, done=t("✅ Save"))
        await answer(update, text, rows, edit=True)
        return HouseholdDialogue.EDIT_CIRCUMSTANCES
    question = {
        "room": t("Please type the new room number, for example 3-201."),
        "phone": t("Please type the new phone number."),
        "notes": t("Please type the new notes."),
    }[field]
    rows = [[(t("Remove it"), SkipAnswer().pack())], cancel_row(t)]
    await answer(update, question, rows, edit=True)
    return HouseholdDialogue.EDIT


async def _changed(
    update: Update, context: LinliContext, user: User, t: Translate, value: object
) -> Next:
    form = HouseholdForm.load(context)
    if form.household_id is None or form.field not in EDITABLE:
        raise StaleButton()
    twinning = context.services.twinning
    household: Household = await twinning.household(user, form.household_id)
    contact = await twinning.contact(user, form.household_id)
    values = {
        "name": household.name,
        "building_id": household.building_id,
        "room": contact.room,
        "phone": contact.phone,
        "circumstances": household.circumstances,
        "notes": household.notes,
        "resident_id": household.resident_id,
        form.field: value,
    }
    await twinning.update_household(user, household.id, HouseholdDraft.model_validate(values))
    await ack(update, t("Saved."))
    await answer(update, t("Saved."))
    await _card(update, context, user, t, household.id, edit=False)
    return END


@coordinator_step
async def typed_change(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    text = update.message.text or ""
    field = HouseholdForm.load(context).field
    if field == "room":
        value: str | None = clean_room(text)
    elif field == "phone":
        value = clean_phone(text)
    else:
        value = fold_text(text, NOTES_MAX)
    return await _changed(update, context, user, t, value)


@coordinator_step
async def removed(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    return await _changed(update, context, user, t, None)


@coordinator_step
async def edit_toggle(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    picked = _toggled(context, ToggleCircumstance.of(update).circumstance)
    await ack(update)
    text, rows = circumstances_view(t, picked, done=t("✅ Save"))
    await answer(update, text, rows, edit=True)
    return None


@coordinator_step
async def edit_circumstances_done(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    picked = frozenset(HouseholdForm.load(context).circumstances)
    return await _changed(update, context, user, t, picked)


@coordinator_step
async def no_text(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """A voice note, photo or sticker where words are asked for."""
    raise InvalidInput(N_("Please type it in words."))


# --- wiring -----------------------------------------------------------------------------------


def _buttons() -> list[AnyHandler]:
    """The section's buttons that work from any message (a card, a list, /admin)."""
    routes: list[tuple[Callback, type[Button]]] = [
        (section, TwinningMenu),
        (new_household, NewHousehold),
        (list_buildings, ListByBuilding),
        (list_buildings, page_button(ListBuilding)),
        (chose_building, ListBuilding),
        (next_page, HouseholdsPage),
        (open_card, OpenHousehold),
        (attention, NeedsAttention),
        (visit_media, VisitMedia),
        (pair_with, PairWith),
        (end_pairs, EndPairs),
        (edit, EditHousehold),
    ]
    return presses(routes)


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    not_text = ~filters.TEXT & ~filters.COMMAND & private
    buttons = _buttons()
    drop = CallbackQueryHandler(dropped, pattern=DropHousehold.pattern())
    skip = SkipAnswer.pattern()

    def asking(*handlers: AnyHandler) -> list[AnyHandler]:
        return [drop, *handlers, *buttons]

    conversation = dialogue(
        "households",
        entry_points=buttons,
        states={
            HouseholdDialogue.MENU: asking(
                CallbackQueryHandler(end_pair, pattern=EndPair.pattern()),
                CallbackQueryHandler(edit_field, pattern=EditField.pattern()),
            ),
            HouseholdDialogue.NAME: asking(*PERSON.name_handlers()),
            HouseholdDialogue.BUILDING: asking(*PERSON.building_handlers()),
            HouseholdDialogue.ROOM: asking(*PERSON.room_handlers()),
            HouseholdDialogue.PHONE: asking(*PERSON.phone_handlers()),
            HouseholdDialogue.CIRCUMSTANCES: asking(
                CallbackQueryHandler(toggle, pattern=ToggleCircumstance.pattern()),
                CallbackQueryHandler(circumstances_done, pattern=CircumstancesDone.pattern()),
            ),
            HouseholdDialogue.NOTES: asking(
                MessageHandler(text, typed_notes),
                MessageHandler(not_text, no_text),
                CallbackQueryHandler(skipped_notes, pattern=skip),
            ),
            HouseholdDialogue.RESIDENT: asking(
                MessageHandler(text, typed_resident),
                MessageHandler(not_text, no_text),
                CallbackQueryHandler(linked, pattern=LinkResident.pattern()),
                CallbackQueryHandler(skipped_resident, pattern=skip),
            ),
            HouseholdDialogue.CONSENT: asking(
                CallbackQueryHandler(agreed, pattern=ConsentGiven.pattern()),
                CallbackQueryHandler(refused, pattern=ConsentRefused.pattern()),
            ),
            HouseholdDialogue.CONFIRM: asking(
                CallbackQueryHandler(save, pattern=SaveHousehold.pattern())
            ),
            HouseholdDialogue.LIST: asking(MessageHandler(text, searched)),
            HouseholdDialogue.MEMBER: asking(
                MessageHandler(text, typed_member),
                MessageHandler(not_text, no_text),
                CallbackQueryHandler(chose_member, pattern=PairMember.pattern()),
            ),
            HouseholdDialogue.CADENCE: asking(
                CallbackQueryHandler(chose_cadence, pattern=PairCadence.pattern())
            ),
            HouseholdDialogue.REASON: asking(
                MessageHandler(text, typed_reason), MessageHandler(not_text, no_text)
            ),
            HouseholdDialogue.EDIT: asking(
                MessageHandler(text, typed_change),
                MessageHandler(not_text, no_text),
                CallbackQueryHandler(removed, pattern=skip),
            ),
            HouseholdDialogue.EDIT_CIRCUMSTANCES: asking(
                CallbackQueryHandler(edit_toggle, pattern=ToggleCircumstance.pattern()),
                CallbackQueryHandler(edit_circumstances_done, pattern=CircumstancesDone.pattern()),
            ),
        },
        drafts=[HouseholdForm],
    )
    return [conversation]
