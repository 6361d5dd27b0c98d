"""Coordinators' stuck wishes: /stuck (and the home keyboard's "⏳ Stuck wishes", which calls
`show_stuck`): three lists in the coordinator's reach — open too long, past their time,
done and not confirmed — each wish's card with what can be done: cancel with a reason, hand it
to another member, put it back to open. The service checks the coordinator's reach again on
every press."""

from __future__ import annotations

from typing import ClassVar

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc
from bot.models import N_, Role, User, WishEventKind, WishStatus
from bot.services.errors import Conflict, InvalidInput
from bot.services.wishes import StuckKind
from bot.services.wishes.rules import STUCK_OPEN_DAYS
from handlers.common import Buttons, ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Handlers, Next, step
from handlers.notices import ViewEnv
from handlers.wishes.buttons import (
    StuckCancel,
    StuckCard,
    StuckHandOver,
    StuckHandTo,
    StuckList,
    StuckMenu,
    StuckReopen,
)
from handlers.wishes.views import WishDialogue, card_text, list_label


class StuckDraft(DialogueDraft):
    """The wish a coordinator is typing a cancellation reason for. Every other stuck-wish
    button clears it: text typed after moving on must never cancel a wish."""

    KEY: ClassVar[str] = "wish_stuck"
    wish_id: int = 0


class NoCancellationPending(Conflict):
    message = N_(
        "You moved on from that cancellation, so nothing was cancelled. To cancel a wish, "
        "press “Cancel it, with a reason” on its card again."
    )


class ReasonInWords(InvalidInput):
    message = N_("Please type the reason in words: the resident will read it.")


def _kinds(t: Translate) -> dict[StuckKind, str]:
    return {
        StuckKind.OPEN: t("Open more than {days} days").format(days=STUCK_OPEN_DAYS),
        StuckKind.LATE: t("Taken on, past their time"),
        StuckKind.UNCONFIRMED: t("Done, not confirmed"),
    }


def _back(t: Translate) -> tuple[str, str]:
    return (t("« Stuck wishes"), StuckMenu().pack())


@step(Role.COORDINATOR)
async def show_stuck(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """The menu of the three lists (/stuck, and the home keyboard's "⏳ Stuck wishes")."""
    StuckDraft.clear(context)
    await ack(update)
    rows: Buttons = [
        [(label, StuckList(kind=kind, after=0).pack())] for kind, label in _kinds(t).items()
    ]
    await answer(
        update,
        t("<b>⏳ Stuck wishes</b>\nWishes in your area that need a push. Which list?"),
        rows,
        edit=update.callback_query is not None,
    )
    return None


@step(Role.COORDINATOR)
async def stuck_list(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    StuckDraft.clear(context)
    pressed = StuckList.of(update)
    page = await context.services.wishes.stuck(user, pressed.kind, after=pressed.after or None)
    await ack(update)
    title = f"<b>{esc(_kinds(t)[pressed.kind])}</b>"
    rows: list[list[tuple[str, str]]] = [
        [(list_label(t, w, with_status=True), StuckCard(wish_id=w.id).pack())] for w in page.wishes
    ]
    if page.next_after:
        more = StuckList(kind=pressed.kind, after=page.next_after)
        rows.append([(t("More ›"), more.pack())])
    rows.append([_back(t)])
    body = title + "\n" + (t("Oldest first.") if page.wishes else t("Nothing here right now."))
    await answer(update, body, rows, edit=True)
    return None


@step(Role.COORDINATOR)
async def stuck_card(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    StuckDraft.clear(context)
    wish_id = StuckCard.of(update).wish_id
    card = await context.services.wishes.stuck_card(user, wish_id)
    await ack(update)
    wish = card.wish
    rows: list[list[tuple[str, str]]] = []
    if wish.status == WishStatus.CLAIMED and wish.claimed_by is not None:
        rows.append(
            [(t("Hand it to someone else"), StuckHandOver(wish_id=wish_id, after=0).pack())]
        )
        reopen = StuckReopen(wish_id=wish_id, held_by=wish.claimed_by)
        rows.append([(t("Put it back to open"), reopen.pack())])
    if wish.status in (WishStatus.OPEN, WishStatus.CLAIMED, WishStatus.DONE):
        rows.append([(t("Cancel it, with a reason"), StuckCancel(wish_id=wish_id).pack())])
    rows.append([_back(t)])
    text = card_text(ViewEnv(context.services, user.language), wish, contact=card.contact)
    await answer(update, text, rows)
    return None


@step(Role.COORDINATOR)
async def ask_reason(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish_id = StuckCancel.of(update).wish_id
    await context.services.wishes.check_stuck_move(user, wish_id, WishEventKind.CANCELLED)
    await ack(update)
    StuckDraft(wish_id=wish_id).save(context)
    await answer(
        update,
        t(
            "Why is wish #{id} being cancelled? Please type the reason; the resident (and the "
            "helper, if any) will be told. Send /cancel to keep the wish."
        ).format(id=wish_id),
    )
    return WishDialogue.STUCK_REASON


@step(Role.COORDINATOR)
async def typed_reason(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    wish_id = StuckDraft.load(context).wish_id
    if not wish_id:
        raise NoCancellationPending()
    await context.services.wishes.cancel_stuck(user, wish_id, update.message.text or "")
    StuckDraft.clear(context)
    await answer(
        update,
        t("Wish #{id} is cancelled, and the people concerned have been told why.").format(
            id=wish_id
        ),
        [[_back(t)]],
    )
    return END


@step(Role.COORDINATOR)
async def hand_over(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    StuckDraft.clear(context)
    pressed = StuckHandOver.of(update)
    page = await context.services.wishes.handover_candidates(
        user, pressed.wish_id, after=pressed.after or None
    )
    await ack(update)
    held_by = page.held_by
    rows: list[list[tuple[str, str]]] = [
        [
            (
                m.display_name,
                StuckHandTo(wish_id=pressed.wish_id, user_id=m.id, held_by=held_by).pack(),
            )
        ]
        for m in page.members
    ]
    if page.next_after:
        more = StuckHandOver(wish_id=pressed.wish_id, after=page.next_after)
        rows.append([(t("More ›"), more.pack())])
    reopen = StuckReopen(wish_id=pressed.wish_id, held_by=held_by)
    rows.append([(t("Put it back to open"), reopen.pack())])
    rows.append([(t("« Back"), StuckCard(wish_id=pressed.wish_id).pack())])
    body = (
        t("Who should take on wish #{id} instead?")
        if page.members
        else t("There are no other members in this community to hand wish #{id} to.")
    ).format(id=pressed.wish_id)
    await answer(update, body, rows, edit=True)
    return None


@step(Role.COORDINATOR)
async def hand_to(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    StuckDraft.clear(context)
    pressed = StuckHandTo.of(update)
    wish = await context.services.wishes.reassign(
        user, pressed.wish_id, pressed.user_id, held_by=pressed.held_by
    )
    await ack(update)
    await answer(
        update,
        t(
            "Wish #{id} is now with {name}. They, the former helper and the resident have "
            "been told."
        ).format(id=wish.id, name=esc(wish.claimer_name or "")),
        [[_back(t)]],
        edit=True,
    )
    return None


@step(Role.COORDINATOR)
async def reopen(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    StuckDraft.clear(context)
    pressed = StuckReopen.of(update)
    wish = await context.services.wishes.reopen(user, pressed.wish_id, held_by=pressed.held_by)
    await ack(update)
    await answer(
        update,
        t(
            "Wish #{id} is open again and is being offered to members. The resident and the "
            "former helper have been told."
        ).format(id=wish.id),
        [[_back(t)]],
        edit=True,
    )
    return None


@step(Role.COORDINATOR)
async def reason_not_text(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    raise ReasonInWords()


# --- wiring (handlers/wishes/__init__.py puts these into the one wish conversation) ---------


def entry_points() -> Handlers:
    return [CallbackQueryHandler(ask_reason, pattern=StuckCancel.pattern())]


def states() -> dict[WishDialogue, Handlers]:
    private = ~filters.COMMAND & filters.ChatType.PRIVATE
    return {
        WishDialogue.STUCK_REASON: [
            MessageHandler(filters.TEXT & private, typed_reason),
            MessageHandler(~filters.TEXT & private & filters.UpdateType.MESSAGE, reason_not_text),
        ]
    }


def buttons() -> Handlers:
    """The command and the buttons that work from any message."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("stuck", show_stuck, filters=private),
        CallbackQueryHandler(show_stuck, pattern=StuckMenu.pattern()),
        CallbackQueryHandler(stuck_list, pattern=StuckList.pattern()),
        CallbackQueryHandler(stuck_card, pattern=StuckCard.pattern()),
        CallbackQueryHandler(hand_over, pattern=StuckHandOver.pattern()),
        CallbackQueryHandler(hand_to, pattern=StuckHandTo.pattern()),
        CallbackQueryHandler(reopen, pattern=StuckReopen.pattern()),
    ]
