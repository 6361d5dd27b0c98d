"""Residents' side of a wish once posted: /mywishes; cancel, confirm or "not done", rate and
thank, post an expired wish again."""

from __future__ import annotations

from typing import ClassVar, Self

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate
from bot.models import User, WishEventKind
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Handlers, Next, step
from handlers.wishes.buttons import (
    CancelWish,
    CancelWishSure,
    ConfirmDone,
    KeepClosed,
    MoreOfMine,
    NotDoneYet,
    RateWish,
    RepostWish,
    ShowWish,
    WriteThanks,
)
from handlers.wishes.views import WishDialogue, card_button, leave_card, list_label, stars_row


class ReplyDraft(DialogueDraft):
    """The wish a resident is writing a thank-you or "not done" words for."""

    KEY: ClassVar[str] = "wish_reply"
    wish_id: int = 0

    @classmethod
    def load(cls, context: LinliContext, *, clear_stale: bool = True) -> Self:
        legacy = (context.user_data or {}).get("wish_draft")
        if cls.KEY not in (context.user_data or {}) and isinstance(legacy, dict):
            # Before drafts were typed this lived in the posting draft's place.
            wish_id = legacy.get("wish_id")
            if isinstance(wish_id, int):
                return cls(wish_id=wish_id)
        return super().load(context, clear_stale=clear_stale)


@step()
async def my_wishes(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    before = MoreOfMine.of(update).before if update.callback_query is not None else 0
    page = await context.services.wishes.mine(user, before=before or None)
    await ack(update)
    if not page.wishes:
        await answer(
            update,
            t("You have not posted any wishes yet. Send /wish to post one.")
            if not before
            else t("There are no more wishes."),
        )
        return None
    rows = [
        [(list_label(t, w, with_status=True), ShowWish(wish_id=w.id).pack())] for w in page.wishes
    ]
    if page.next_before:
        rows.append([(t("More ›"), MoreOfMine(before=page.next_before).pack())])
    await answer(
        update,
        t("<b>My wishes</b>\nChoose one to see it, cancel it or confirm it."),
        rows,
        edit=update.callback_query is not None and bool(before),
    )
    return None


@step()
async def ask_cancel(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish_id = CancelWish.of(update).wish_id
    await context.services.wishes.check_move(user, wish_id, WishEventKind.CANCELLED)
    await ack(update)
    await answer(
        update,
        t("Cancel wish #{id}? Helpers will no longer see it.").format(id=wish_id),
        [[(t("Yes, cancel it"), CancelWishSure(wish_id=wish_id).pack()), card_button(t, wish_id)]],
    )
    return None


@step()
async def cancel_wish(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish_id = CancelWishSure.of(update).wish_id
    await context.services.wishes.cancel(user, wish_id)
    await ack(update)
    await answer(update, t("Wish #{id} is cancelled.").format(id=wish_id), edit=True)
    return None


@step()
async def confirm_done(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish_id = ConfirmDone.of(update).wish_id
    await context.services.wishes.confirm(user, wish_id)
    await ack(update)
    await answer(
        update,
        t("Thank you for confirming wish #{id}! How would you rate the help?").format(id=wish_id),
        [stars_row(wish_id)],
    )
    return None


@step()
async def rate(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = RateWish.of(update)
    await context.services.wishes.rate(user, pressed.wish_id, pressed.stars)
    await ack(update)
    await leave_card(update, context)  # the stars may have been pressed on the card
    await answer(
        update,
        t("You gave {stars}. Would you like to write a few words of thanks?").format(
            stars="★" * pressed.stars
        ),
        [
            [(t("Write a thank-you"), WriteThanks(wish_id=pressed.wish_id).pack())],
            [(t("No, that is all"), KeepClosed(wish_id=pressed.wish_id).pack())],
        ],
        edit=True,
    )
    return None


@step()
async def ask_thanks(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish_id = WriteThanks.of(update).wish_id
    await context.services.wishes.check_move(user, wish_id, WishEventKind.THANKED)
    await ack(update)
    ReplyDraft(wish_id=wish_id).save(context)
    await answer(
        update,
        t("Please write your thank-you, or send a voice note. The helper will receive it."),
    )
    return WishDialogue.THANKS


def said(update: Update) -> tuple[str | None, str | None]:
    """What a resident said in a message: (words, voice note), typed or spoken (a voice
    note's caption counts as words with it)."""
    message = update.message
    assert message is not None
    if message.voice:
        return message.caption, message.voice.file_id
    return message.text or "", None


@step()
async def typed_thanks(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    words, voice = said(update)
    wish_id = ReplyDraft.load(context).wish_id
    await context.services.wishes.thank(user, wish_id, words, voice_file_id=voice)
    await answer(update, t("Thank you! Your words have been sent."))
    return END


@step()
async def ask_not_done(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish_id = NotDoneYet.of(update).wish_id
    await context.services.wishes.check_move(user, wish_id, WishEventKind.NOT_DONE)
    await ack(update)
    ReplyDraft(wish_id=wish_id).save(context)
    await answer(
        update,
        t(
            "What is not done yet? Type a few words or send a voice note; it goes back to "
            "the helper."
        ),
    )
    return WishDialogue.NOT_DONE


@step()
async def typed_not_done(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    words, voice = said(update)
    wish_id = ReplyDraft.load(context).wish_id
    await context.services.wishes.not_done(user, wish_id, words, voice_file_id=voice)
    await answer(update, t("Thank you. We have told the helper; they will have another look."))
    return END


@step(None)
async def wrong_words(
    update: Update, context: LinliContext, _user: User | None, t: Translate
) -> Next:
    """A sticker, photo, file… where words or a voice note were asked for (no buttons are
    shown here, so "use the buttons" would not help)."""
    await answer(update, t("Please type a few words or send a voice note."))
    return None


@step()
async def repost(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish = await context.services.wishes.repost(user, RepostWish.of(update).wish_id)
    await ack(update)
    await leave_card(update, context)
    await answer(
        update,
        t("Posted again as wish #{id}. We will tell you when someone takes it on.").format(
            id=wish.id
        ),
        edit=True,
    )
    return None


@step()
async def keep_closed(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("All right. Thank you!"), edit=True)
    return None


# --- wiring (handlers/wishes/__init__.py puts these into the one wish conversation) ---------


def entry_points() -> Handlers:
    return [
        CallbackQueryHandler(ask_thanks, pattern=WriteThanks.pattern()),
        CallbackQueryHandler(ask_not_done, pattern=NotDoneYet.pattern()),
    ]


def states() -> dict[WishDialogue, Handlers]:
    private = filters.ChatType.PRIVATE
    words = ((filters.TEXT & ~filters.COMMAND) | filters.VOICE) & private
    anything_else = MessageHandler(private & ~filters.COMMAND, wrong_words)
    return {
        WishDialogue.THANKS: [MessageHandler(words, typed_thanks), anything_else],
        WishDialogue.NOT_DONE: [MessageHandler(words, typed_not_done), anything_else],
    }


def buttons() -> Handlers:
    """Buttons that work from any message, inside a dialogue or not."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("mywishes", my_wishes, filters=private),
        CallbackQueryHandler(my_wishes, pattern=MoreOfMine.pattern()),
        CallbackQueryHandler(cancel_wish, pattern=CancelWishSure.pattern()),
        CallbackQueryHandler(ask_cancel, pattern=CancelWish.pattern()),
        CallbackQueryHandler(confirm_done, pattern=ConfirmDone.pattern()),
        CallbackQueryHandler(rate, pattern=RateWish.pattern()),
        CallbackQueryHandler(repost, pattern=RepostWish.pattern()),
        CallbackQueryHandler(keep_closed, pattern=KeepClosed.pattern()),
    ]
