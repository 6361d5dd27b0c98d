"""/patrol for members (巡逻值守): my shifts coming up and the shifts of a day with Take
buttons; a shift's card with "can't come", "offer to swap", check in (then, optionally, the
location) and check out; taking a shift offered by another member; and for coordinators,
letting a member off under a late drop-out alert.

Every press asks the service again: a button names a shift, never a permission, and the
windows (check in, check out, dropping out alone) are the service's."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import ClassVar

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc
from bot.models import Role, SignupStatus, User
from bot.services.patrol.rules import OPEN_DAYS_AHEAD
from handlers.buttons import StaleButton
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Next, dialogue, step
from handlers.home import show_home
from handlers.patrol.buttons import (
    AcceptSwap,
    CantCome,
    CheckIn,
    CheckOut,
    LetOffMember,
    OfferSwap,
    PatrolList,
    ShiftCard,
    SkipLocation,
    TakeShift,
)
from handlers.patrol.views import (
    checked_in_rows,
    credited_text,
    patrol_screen,
    shift_card,
    slot_when,
)

Handlers = list[BaseHandler[Update, LinliContext, object]]
member_step = step(Role.MEMBER)
coordinator_step = step(Role.COORDINATOR)


class CheckInDialogue(StrEnum):
    LOCATION = "location"  # checked in: a location may follow (optional)


class CheckInForm(DialogueDraft):
    KEY: ClassVar[str] = "patrol_check_in"
    slot_id: int | None = None


async def _screen(
    update: Update, context: LinliContext, user: User, t: Translate, offset: int, *, edit: bool
) -> None:
    services = context.services
    zone = services.settings.zone
    offset = min(max(offset, 0), OPEN_DAYS_AHEAD - 1)
    day = context.today + timedelta(days=offset)
    mine = await services.patrol.my_shifts(user)
    shifts = await services.patrol.open_shifts(user, day)
    text, rows = patrol_screen(t, user.language, zone, offset, day, mine, shifts)
    await answer(update, text, rows, edit=edit)


@member_step
async def patrol(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """/patrol, the home button, or a day turned."""
    data = update.callback_query.data if update.callback_query else None
    offset = PatrolList.unpack(data).day if data else 0
    await ack(update)
    await _screen(update, context, user, t, offset, edit=data is not None)
    return None


async def _card(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    slot_id: int,
    *,
    head: str | None = None,
    edit: bool = True,
) -> None:
    services = context.services
    shift = await services.patrol.shift(user, slot_id)
    signup = await services.patrol.my_signup(user, slot_id)
    text, rows = shift_card(
        t, user.language, services.settings.zone, shift, signup, services.clock.now(), head=head
    )
    await answer(update, text, rows, edit=edit)


@member_step
async def open_card(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = ShiftCard.of(update).slot_id
    await context.services.patrol.shift(user, slot_id)  # refused before the press is answered
    await ack(update)
    await _card(update, context, user, t, slot_id)
    return None


@member_step
async def take(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = TakeShift.of(update).slot_id
    shift = await context.services.patrol.take(user, slot_id)
    await ack(update, t("You are on this shift."))
    minutes = context.services.settings.patrol_remind_minutes
    head = t(
        "✅ You are on this shift. We will remind you the evening before, and {minutes} "
        "minutes before it starts."
    ).format(minutes=minutes)
    await _card(update, context, user, t, shift.slot.id, head=head)
    return None


@member_step
async def cant_come(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = CantCome.of(update).slot_id
    status = await context.services.patrol.cant_come(user, slot_id)
    await ack(update)
    if status is SignupStatus.DROPPED:
        head = t("You are off this shift. Thank you for telling us in time.")
    else:
        head = t(
            "It is less than {hours} hours before the start, so we have asked the community "
            "staff to let you off. Until they do, you are still on the shift."
        ).format(hours=context.services.settings.patrol_drop_hours)
    await _card(update, context, user, t, slot_id, head=head)
    return None


@member_step
async def offer_swap(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = OfferSwap.of(update).slot_id
    _, told = await context.services.patrol.offer_swap(user, slot_id)
    await ack(update)
    if told:
        head = t(
            "🔁 Offered to {count} members. The first to accept takes it over, and we will "
            "tell you. Until then you are still on the shift."
        ).format(count=told)
    else:
        head = t("Nobody else is free at that time. You are still on the shift.")
    await _card(update, context, user, t, slot_id, head=head)
    return None


@member_step
async def accept_swap(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    shift = await context.services.patrol.accept_swap(user, AcceptSwap.of(update).swap_id)
    await ack(update, t("The shift is yours."))
    head = t("✅ The shift is yours. Thank you for stepping in!")
    await _card(update, context, user, t, shift.slot.id, head=head)
    return None


@member_step
async def check_out(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = CheckOut.of(update).slot_id
    _, _, hours = await context.services.patrol.check_out(user, slot_id)
    await ack(update)
    head = t("🏁 Checked out. Thank you for your patrol!") + "\n" + credited_text(t, hours)
    await _card(update, context, user, t, slot_id, head=head)
    return None


# --- check in, then an optional location --------------------------------------------------------


def _location_keyboard(t: Translate) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t("📍 Share my location"), request_location=True)], [t("Not now")]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


@member_step
async def check_in(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = CheckIn.of(update).slot_id
    shift, signup = await context.services.patrol.check_in(user, slot_id)
    zone = context.services.settings.zone
    await ack(update, t("Checked in."))
    assert signup.checked_in_at is not None
    head = t("✅ Checked in at {time}. Thank you for being on patrol!").format(
        time=f"{signup.checked_in_at.astimezone(zone):%H:%M}"
    )
    text = f"{head}\n{slot_when(user.language, zone, shift.slot)} {esc(shift.post_name)}"
    await answer(update, text, checked_in_rows(t, shift), edit=True)
    CheckInForm(slot_id=slot_id).save(context)
    await answer(
        update,
        t("If you like, share where you are with the button below (optional)."),
        reply_keyboard=_location_keyboard(t),
    )
    return CheckInDialogue.LOCATION


def _slot(context: LinliContext) -> int:
    slot_id = CheckInForm.load(context).slot_id
    if slot_id is None:
        raise StaleButton()
    return slot_id


@member_step
async def located(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    message = update.message
    assert message is not None and message.location is not None
    saved = await context.services.patrol.set_location(
        user, _slot(context), message.location.latitude, message.location.longitude
    )
    said = t("📍 Location noted.") if saved else t("Nothing to add the location to now.")
    await show_home(update, context, user, said)
    return END


@member_step
async def no_location(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    await show_home(update, context, user, t("Fine, no location."))
    return END


# --- coordinators, under a late drop-out alert ------------------------------------------------


@coordinator_step
async def let_off(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = LetOffMember.of(update)
    await context.services.patrol.let_off(user, pressed.slot_id, pressed.user_id)
    await ack(update, t("Let off."))
    await answer(update, t("✅ Let off: the place is open again."), edit=True)
    return None


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    checking_in = dialogue(
        "patrol_check_in",
        entry_points=[CallbackQueryHandler(check_in, pattern=CheckIn.pattern())],
        states={
            CheckInDialogue.LOCATION: [
                MessageHandler(filters.LOCATION & private, located),
                MessageHandler(filters.TEXT & ~filters.COMMAND & private, no_location),
                CallbackQueryHandler(no_location, pattern=SkipLocation.pattern()),
            ],
        },
        drafts=[CheckInForm],
    )
    return [
        checking_in,
        CommandHandler("patrol", patrol, filters=private),
        CallbackQueryHandler(patrol, pattern=PatrolList.pattern()),
        CallbackQueryHandler(open_card, pattern=ShiftCard.pattern()),
        CallbackQueryHandler(take, pattern=TakeShift.pattern()),
        CallbackQueryHandler(cant_come, pattern=CantCome.pattern()),
        CallbackQueryHandler(offer_swap, pattern=OfferSwap.pattern()),
        CallbackQueryHandler(accept_swap, pattern=AcceptSwap.pattern()),
        CallbackQueryHandler(check_out, pattern=CheckOut.pattern()),
        CallbackQueryHandler(let_off, pattern=LetOffMember.pattern()),
    ]
