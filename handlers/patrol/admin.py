"""The patrol section of /admin (巡逻值守) for coordinators: making a post (name, area, its
buildings through the building picker), defining shifts at a post (a day, the times, how many
members, once or repeating, then a card to check and save), the week's roster kept current,
a week's shifts, a shift's card with who is on it, cancelling it, letting off a member who
asked late.

The service checks the role and the reach on every call, whatever the buttons showed. The
confirm card carries its draft's token: a double-tapped "save" defines the shifts once."""

from __future__ import annotations

import secrets
from datetime import date, time, timedelta
from enum import StrEnum
from typing import ClassVar

from pydantic import Field
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.i18n import Translate
from bot.models import N_, Building, Recurrence, Role, User
from bot.services.days import read_day
from bot.services.errors import InvalidInput
from bot.services.patrol import ROSTER_VIEW, parse_times, roster_thing
from bot.services.patrol.rules import (
    AREA_MAX,
    POST_NAME_MAX,
    BadCapacity,
    check_capacity,
)
from bot.services.slots import SlotInPast
from bot.services.text import fold_text
from handlers.building_picker import BuildingPicker, page_button, page_of
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
from handlers.patrol.admin_buttons import (
    AdminShift,
    ArchivePost,
    BuildingsDone,
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
    TogglePostBuilding,
    WeekShifts,
)
from handlers.patrol.admin_views import (
    admin_shift_card,
    area_prompt,
    buildings_text,
    cancel_confirm,
    cancel_row,
    capacity_prompt,
    confirm_view,
    count_prompt,
    day_prompt,
    menu_view,
    post_card,
    posts_view,
    repeat_prompt,
    times_prompt,
    week_view,
)
from handlers.patrol.views import roster_text

Handlers = list[BaseHandler[Update, LinliContext, object]]
coordinator_step = step(Role.COORDINATOR)
MAX_COUNT = 62


class PatrolAdminDialogue(StrEnum):
    MENU = "menu"  # a menu, list or card is shown: buttons only
    NAME = "name"
    AREA = "area"
    BUILDINGS = "buildings"
    DAY = "day"
    TIMES = "times"
    CAPACITY = "capacity"
    REPEAT = "repeat"
    COUNT = "count"
    CONFIRM = "confirm"


class PatrolAdminForm(DialogueDraft):
    """A post being made, or the shifts being defined at a post."""

    KEY: ClassVar[str] = "patrol_admin"
    name: str = ""
    area: str | None = None
    building_ids: list[int] = Field(default_factory=list)
    post_id: int | None = None
    post_name: str = ""
    day: date | None = None
    start: time | None = None
    end: time | None = None
    capacity: int = 0
    recurrence: Recurrence = Recurrence.ONCE
    count: int = 1
    token: str = ""


# --- the section -----------------------------------------------------------------------------


@coordinator_step
async def section(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    text, rows = menu_view(t)
    await answer(update, text, rows, edit=update.callback_query is not None)
    return PatrolAdminDialogue.MENU


@coordinator_step
async def dropped(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("Cancelled. Nothing was changed."), edit=True)
    return END


async def _building_names(context: LinliContext, user: User) -> dict[int, str]:
    found = await context.services.admin.all_buildings(user, context.working_community)
    return {b.id: b.name for b in found}


@coordinator_step
async def list_posts(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    posts = await context.services.patrol.posts(user, context.working_community)
    await ack(update)
    text, rows = posts_view(t, posts)
    await answer(update, text, rows, edit=True)
    return PatrolAdminDialogue.MENU


async def _post_card(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    post_id: int,
    *,
    head: str | None = None,
    edit: bool = True,
) -> Next:
    post = await context.services.patrol.post(user, post_id)
    names = await _building_names(context, user)
    await ack(update)
    text, rows = post_card(t, post, names, head=head)
    await answer(update, text, rows, edit=edit)
    return PatrolAdminDialogue.MENU


@coordinator_step
async def open_post(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    return await _post_card(update, context, user, t, OpenPost.of(update).post_id)


@coordinator_step
async def archive_post(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    post = await context.services.patrol.archive_post(user, ArchivePost.of(update).post_id)
    return await _post_card(update, context, user, t, post.id, head=t("Archived."))


# --- a new post: name, area, buildings ---------------------------------------------------------


@coordinator_step
async def new_post(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await context.services.patrol.posts(user, context.working_community)  # may they?
    await ack(update)
    PatrolAdminForm().save(context)
    await answer(
        update,
        t("<b>A new patrol post</b>\nWhat is it called? E.g. “East gate”."),
        [cancel_row(t)],
    )
    return PatrolAdminDialogue.NAME


@coordinator_step
async def typed_name(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    name = fold_text(update.message.text, POST_NAME_MAX)
    if name is None:
        raise InvalidInput(N_("Please give the post a name."))
    PatrolAdminForm.change(context, name=name)
    await answer(update, *area_prompt(t))
    return PatrolAdminDialogue.AREA


async def _buildings(context: LinliContext, user: User) -> list[Building]:
    found = await context.services.admin.all_buildings(user, context.working_community)
    return [b for b in found if not b.archived]


def _picker(chosen: set[int]) -> BuildingPicker:
    return BuildingPicker(
        choose=lambda b: TogglePostBuilding(building_id=b.id).pack(),
        turn=lambda page: page_button(TogglePostBuilding)(page=page).pack(),
        mark=lambda b: " ✅" if b.id in chosen else "",
    )


def _after(t: Translate) -> list[list[tuple[str, str]]]:
    return [[(t("✅ Done"), BuildingsDone().pack())], cancel_row(t)]


async def _ask_buildings(
    update: Update, context: LinliContext, user: User, t: Translate, page: int, *, edit: bool
) -> Next:
    form = PatrolAdminForm.load(context)
    buildings = await _buildings(context, user)
    chosen = set(form.building_ids)
    note, rows = _picker(chosen).page(t, buildings, page, after=_after(t))
    text = buildings_text(t, [b for b in buildings if b.id in chosen])
    await answer(update, text + ("\n" + note if note else ""), rows, edit=edit)
    return PatrolAdminDialogue.BUILDINGS


async def _area(
    update: Update, context: LinliContext, user: User, t: Translate, area: str | None
) -> Next:
    PatrolAdminForm.change(context, area=area)
    await ack(update)
    return await _ask_buildings(update, context, user, t, 0, edit=False)


@coordinator_step
async def typed_area(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    return await _area(update, context, user, t, fold_text(update.message.text, AREA_MAX))


@coordinator_step
async def skipped_area(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    return await _area(update, context, user, t, None)


@coordinator_step
async def toggled(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    building_id = TogglePostBuilding.of(update).building_id
    buildings = await _buildings(context, user)
    if building_id not in {b.id for b in buildings}:
        raise StaleButton()
    form = PatrolAdminForm.load(context)
    chosen = set(form.building_ids) ^ {building_id}
    PatrolAdminForm.change(context, building_ids=sorted(chosen))
    page = page_of(buildings, building_id)
    await ack(update)
    return await _ask_buildings(update, context, user, t, page, edit=True)


@coordinator_step
async def turned(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    page = page_button(TogglePostBuilding).of(update).page
    await ack(update)
    return await _ask_buildings(update, context, user, t, page, edit=True)


@coordinator_step
async def searched(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    form = PatrolAdminForm.load(context)
    buildings = await _buildings(context, user)
    text, rows = _picker(set(form.building_ids)).found(
        t, buildings, update.message.text or "", after=_after(t)
    )
    await answer(update, text, rows)
    return None


@coordinator_step
async def buildings_done(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = PatrolAdminForm.load(context)
    if not form.name:
        raise StaleButton()
    post = await context.services.patrol.create_post(
        user,
        name=form.name,
        area=form.area,
        building_ids=form.building_ids,
        community_id=context.working_community,
    )
    PatrolAdminForm.clear(context)
    return await _post_card(update, context, user, t, post.id, head=t("✅ Post saved."))


# --- defining shifts -------------------------------------------------------------------------


@coordinator_step
async def define(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    post = await context.services.patrol.post(user, DefineShifts.of(update).post_id)
    await ack(update)
    PatrolAdminForm(post_id=post.id, post_name=post.name, token=secrets.token_hex(8)).save(context)
    await answer(update, *day_prompt(t, user.language, post.name, context.today))
    return PatrolAdminDialogue.DAY


def _form(context: LinliContext) -> PatrolAdminForm:
    form = PatrolAdminForm.load(context)
    if form.post_id is None or not form.token:
        raise StaleButton()
    return form


async def _chose_day(
    update: Update, context: LinliContext, user: User, t: Translate, day: date
) -> Next:
    _form(context)
    PatrolAdminForm.change(context, day=day)
    await ack(update)
    await answer(update, *times_prompt(t, user.language, day))
    return PatrolAdminDialogue.TIMES


@coordinator_step
async def pressed_day(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    offset = ShiftDay.of(update).offset
    if not 0 <= offset <= 31:
        raise StaleButton()
    return await _chose_day(update, context, user, t, context.today + timedelta(days=offset))


@coordinator_step
async def typed_day(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    day = read_day(update.message.text or "", context.today, ahead=True)
    if day < context.today:  # "2026-11-01" typed with its year: refused now, not at Save
        raise SlotInPast()
    return await _chose_day(update, context, user, t, day)


@coordinator_step
async def typed_times(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    form = _form(context)
    start, end = parse_times(update.message.text or "")
    if form.day is None:
        raise StaleButton()
    context.services.patrol.check_first(form.day, start, end)  # refused now, not at Save
    PatrolAdminForm.change(context, start=start, end=end)
    await answer(update, *capacity_prompt(t))
    return PatrolAdminDialogue.CAPACITY


async def _capacity(update: Update, context: LinliContext, t: Translate, capacity: int) -> Next:
    _form(context)
    PatrolAdminForm.change(context, capacity=check_capacity(capacity))
    await ack(update)
    await answer(update, *repeat_prompt(t))
    return PatrolAdminDialogue.REPEAT


@coordinator_step
async def pressed_capacity(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    return await _capacity(update, context, t, ShiftCapacity.of(update).capacity)


@coordinator_step
async def typed_capacity(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    typed = (update.message.text or "").strip()
    if not typed.isdigit() or len(typed) > 3:
        raise BadCapacity(most=50)
    return await _capacity(update, context, t, int(typed))


async def _show_confirm(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = _form(context)
    assert form.day is not None and form.start is not None and form.end is not None
    await ack(update)
    text, rows = confirm_view(
        t,
        user.language,
        post_name=form.post_name,
        day=form.day,
        start=form.start,
        end=form.end,
        capacity=form.capacity,
        recurrence=form.recurrence,
        count=form.count,
        token=form.token,
    )
    await answer(update, text, rows)
    return PatrolAdminDialogue.CONFIRM


@coordinator_step
async def pressed_repeat(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    recurrence = ShiftRepeat.of(update).recurrence
    _form(context)
    if recurrence is Recurrence.ONCE:
        PatrolAdminForm.change(context, recurrence=recurrence, count=1)
        return await _show_confirm(update, context, user, t)
    PatrolAdminForm.change(context, recurrence=recurrence)
    await ack(update)
    await answer(update, *count_prompt(t))
    return PatrolAdminDialogue.COUNT


async def _count(
    update: Update, context: LinliContext, user: User, t: Translate, count: int
) -> Next:
    if not 2 <= count <= MAX_COUNT:
        raise InvalidInput(N_("Please give a number from 2 to {most}."), most=MAX_COUNT)
    PatrolAdminForm.change(context, count=count)
    return await _show_confirm(update, context, user, t)


@coordinator_step
async def pressed_count(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    _form(context)
    return await _count(update, context, user, t, RepeatCount.of(update).count)


@coordinator_step
async def typed_count(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    _form(context)
    typed = (update.message.text or "").strip()
    if not typed.isdigit() or len(typed) > 3:
        raise InvalidInput(N_("Please give a number from 2 to {most}."), most=MAX_COUNT)
    return await _count(update, context, user, t, int(typed))


@coordinator_step
async def save(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = _form(context)
    if SaveShifts.of(update).token != form.token or form.post_id is None:
        raise StaleButton()
    assert form.day is not None and form.start is not None and form.end is not None
    shifts = await context.services.patrol.define_shifts(
        user,
        form.post_id,
        day=form.day,
        start=form.start,
        end=form.end,
        capacity=form.capacity,
        recurrence=form.recurrence,
        count=form.count,
    )
    PatrolAdminForm.clear(context)
    await ack(update, t("Saved."))
    head = t("✅ {count} shifts added.").format(count=len(shifts))
    await answer(update, head, edit=True)
    return await _post_card(update, context, user, t, form.post_id, edit=False)


# --- the roster, a week's shifts, a shift ------------------------------------------------------


def _monday(context: LinliContext, week: int) -> date:
    if not 0 <= week <= 8:
        raise StaleButton()
    return context.services.patrol.this_week() + timedelta(days=7 * week)


async def _community(context: LinliContext, user: User) -> int:
    return (await context.services.admin.community(user, context.working_community)).id


@coordinator_step
async def roster(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    monday = _monday(context, Roster.of(update).week)
    community_id = await _community(context, user)
    services = context.services
    days = await services.patrol.roster(community_id, monday)
    await ack(update)
    text = roster_text(t, user.language, services.settings.zone, monday, days)
    sent = await answer(update, text)
    if sent is not None:
        thing = roster_thing(community_id, monday)
        key = f"{thing}:c{user.id}"
        await services.live.keep_current(
            key=key,
            thing=thing,
            view=ROSTER_VIEW,
            chat_id=sent.chat_id,
            message_id=sent.message_id,
            language=user.language,
            viewer_id=user.id,
        )
        # A change that came while it was on its way found nothing to edit.
        now = await services.patrol.roster(community_id, monday)
        if roster_text(t, user.language, services.settings.zone, monday, now) != text:
            await services.live.refresh(thing, key)
    return PatrolAdminDialogue.MENU


@coordinator_step
async def week(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    monday = _monday(context, WeekShifts.of(update).week)
    shifts = await context.services.patrol.week_shifts(user, monday, context.working_community)
    await ack(update)
    text, rows = week_view(t, user.language, context.services.settings.zone, monday, shifts)
    await answer(update, text, rows, edit=True)
    return PatrolAdminDialogue.MENU


async def _shift_card(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    slot_id: int,
    head: str | None = None,
) -> Next:
    services = context.services
    shift, signups = await services.patrol.signups(user, slot_id)
    await ack(update)
    text, rows = admin_shift_card(
        t, user.language, services.settings.zone, shift, signups, services.clock.now(), head=head
    )
    await answer(update, text, rows, edit=True)
    return PatrolAdminDialogue.MENU


@coordinator_step
async def open_shift(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    return await _shift_card(update, context, user, t, AdminShift.of(update).slot_id)


@coordinator_step
async def ask_cancel(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = CancelShift.of(update).slot_id
    await context.services.patrol.signups(user, slot_id)  # in reach
    await ack(update)
    await answer(
        update,
        t("Cancel this shift? The members on it will be told."),
        cancel_confirm(t, slot_id),
        edit=True,
    )
    return PatrolAdminDialogue.MENU


@coordinator_step
async def confirm_cancel(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = ConfirmCancelShift.of(update).slot_id
    await context.services.patrol.cancel_shift(user, slot_id)
    return await _shift_card(update, context, user, t, slot_id, head=t("The shift is cancelled."))


@coordinator_step
async def no_text(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    raise InvalidInput(N_("Please type it in words."))


# --- wiring ------------------------------------------------------------------------------------


def _buttons() -> list[AnyHandler]:
    """The section's buttons that work from any message (a card, a list, /admin)."""
    routes: list[tuple[Callback, type[Button]]] = [
        (section, PatrolMenu),
        (list_posts, PostList),
        (new_post, NewPost),
        (open_post, OpenPost),
        (archive_post, ArchivePost),
        (define, DefineShifts),
        (roster, Roster),
        (week, WeekShifts),
        (open_shift, AdminShift),
        (ask_cancel, CancelShift),
        (confirm_cancel, ConfirmCancelShift),
    ]
    return presses(routes)


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    not_text = ~filters.TEXT & ~filters.COMMAND & private
    buttons = _buttons()
    drop = CallbackQueryHandler(dropped, pattern=DropPatrol.pattern())

    def asking(*handlers: AnyHandler) -> list[AnyHandler]:
        return [drop, *handlers, *buttons]

    conversation = dialogue(
        "patrol_admin",
        entry_points=buttons,
        states={
            PatrolAdminDialogue.MENU: asking(),
            PatrolAdminDialogue.NAME: asking(
                MessageHandler(text, typed_name), MessageHandler(not_text, no_text)
            ),
            PatrolAdminDialogue.AREA: asking(
                MessageHandler(text, typed_area),
                MessageHandler(not_text, no_text),
                CallbackQueryHandler(skipped_area, pattern=SkipArea.pattern()),
            ),
            PatrolAdminDialogue.BUILDINGS: asking(
                CallbackQueryHandler(toggled, pattern=TogglePostBuilding.pattern()),
                CallbackQueryHandler(turned, pattern=page_button(TogglePostBuilding).pattern()),
                CallbackQueryHandler(buildings_done, pattern=BuildingsDone.pattern()),
                MessageHandler(text, searched),
            ),
            PatrolAdminDialogue.DAY: asking(
                CallbackQueryHandler(pressed_day, pattern=ShiftDay.pattern()),
                MessageHandler(text, typed_day),
                MessageHandler(not_text, no_text),
            ),
            PatrolAdminDialogue.TIMES: asking(
                MessageHandler(text, typed_times), MessageHandler(not_text, no_text)
            ),
            PatrolAdminDialogue.CAPACITY: asking(
                CallbackQueryHandler(pressed_capacity, pattern=ShiftCapacity.pattern()),
                MessageHandler(text, typed_capacity),
                MessageHandler(not_text, no_text),
            ),
            PatrolAdminDialogue.REPEAT: asking(
                CallbackQueryHandler(pressed_repeat, pattern=ShiftRepeat.pattern())
            ),
            PatrolAdminDialogue.COUNT: asking(
                CallbackQueryHandler(pressed_count, pattern=RepeatCount.pattern()),
                MessageHandler(text, typed_count),
                MessageHandler(not_text, no_text),
            ),
            PatrolAdminDialogue.CONFIRM: asking(
                CallbackQueryHandler(save, pattern=SaveShifts.pattern())
            ),
        },
        drafts=[PatrolAdminForm],
    )
    return [conversation]
