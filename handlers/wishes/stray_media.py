"""A voice note or photo sent outside any dialogue is offered as a new wish in one tap: many
residents simply speak their wish into the chat. "🙋 Post as a wish" starts the posting
dialogue with that voice note or photo as the wish's content; "No, thanks" forgets it.

Dialogues take media first: the offer is made by a fallback handler, added after every
feature (handlers/help.py), so it only sees what no dialogue took.

The posting dialogue reads the chosen media with `offered_media`. Until it does so itself,
`start_wish_with_media` starts it with `/wish`'s first step (the kind of help), and the kind
chosen, hands the media to its content step as the message it was (`chose_category`)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, NamedTuple

from pydantic import Field
from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.i18n import Translate
from bot.models import User
from handlers.buttons import StaleButton
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, DraftExpired, Handlers, Next, step
from handlers.wishes import posting
from handlers.wishes.buttons import DropStrayMedia, PostCategory, PostStrayMedia
from handlers.wishes.views import category_label


class StrayMedia(DialogueDraft):
    """The voice note or photo last offered as a wish, and whether its sender chose to post
    it."""

    KEY: ClassVar[str] = "wish_stray_media"
    kind: Literal["voice", "photo", ""] = ""
    file_id: str = ""
    caption: str | None = None
    message_id: int = 0  # the offered message (its buttons name it)
    chosen: bool = False  # "Post as a wish" was pressed
    # The message as Telegram sent it, for the posting dialogue's content step to take as
    # if it had been sent there.
    message: dict[str, Any] = Field(default_factory=dict)


class OfferedMedia(NamedTuple):
    kind: Literal["voice", "photo"]
    file_id: str
    caption: str | None


def offered_media(context: LinliContext) -> OfferedMedia | None:
    """The voice note or photo its sender chose to post as a wish (kind "voice" or "photo",
    file id, caption if any), while the posting dialogue has not taken it yet; else None.
    The wish dialogue forgets it whenever it ends."""
    try:
        draft = StrayMedia.load(context)
    except DraftExpired:  # chosen a day ago and never posted: not this wish's content
        return None
    if not (draft.chosen and draft.kind and draft.file_id):
        return None
    return OfferedMedia(draft.kind, draft.file_id, draft.caption)


# --- the offer -----------------------------------------------------------------------------


@step()
async def offer_as_wish(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """A voice note or photo that no dialogue took: shall it be posted as a wish?"""
    message = update.message
    assert message is not None
    if message.voice:
        kind: Literal["voice", "photo"] = "voice"
        file_id = message.voice.file_id
        question = t("Post this voice note as a wish?")
    else:
        kind, file_id = "photo", message.photo[-1].file_id
        question = t("Post this photo as a wish?")
    StrayMedia(
        kind=kind,
        file_id=file_id,
        caption=message.caption,
        message_id=message.message_id,
        message=message.to_dict(),
    ).save(context)
    await answer(
        update,
        question,
        [
            [(t("🙋 Post as a wish"), PostStrayMedia(message_id=message.message_id).pack())],
            [(t("No, thanks"), DropStrayMedia().pack())],
        ],
    )
    return None


@step()
async def start_wish_with_media(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    """ "Post as a wish": the posting dialogue starts, with the offered media as its content."""
    draft = StrayMedia.load(context)
    if not draft.kind or draft.message_id != PostStrayMedia.of(update).message_id:
        raise StaleButton()  # an older offer: its media is no longer kept
    draft.chosen = True
    draft.save(context)
    state = await posting.start_wish(update, context)  # refuses (and ends) over the limit
    if state == END:
        return END
    await ack(update)
    question = (
        t("Post this voice note as a wish?")
        if draft.kind == "voice"
        else t("Post this photo as a wish?")
    )
    await answer(update, question, edit=True)  # its buttons go: the dialogue has them now
    return state


@step()
async def media_as_content(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    """The kind of help chosen for offered media: the media is the wish, so the dialogue
    goes on as if it had just been sent to the content step (next: by when)."""
    category = PostCategory.of(update).category
    media = StrayMedia.load(context)
    posting.PostingDraft.change(context, category=category)
    StrayMedia.clear(context)
    await ack(update)
    await answer(
        update, t("Kind of help: {kind}").format(kind=category_label(t, category)), edit=True
    )
    sent = Update.de_json({"update_id": update.update_id, "message": media.message}, context.bot)
    return await posting.typed_content(sent, context)


async def chose_category(update: Update, context: LinliContext) -> Next:
    """The kind of help pressed in the posting dialogue: with offered media waiting, the
    media is the content; else the dialogue's own step."""
    if offered_media(context) is None:
        return await posting.chose_category(update, context)
    return await media_as_content(update, context)


@step()
async def drop_offer(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    StrayMedia.clear(context)
    await ack(update)
    await answer(update, t("All right, it is not posted."), edit=True)
    return None


# --- wiring --------------------------------------------------------------------------------


def entry_points() -> Handlers:
    return [CallbackQueryHandler(start_wish_with_media, pattern=PostStrayMedia.pattern())]


def category_handlers() -> Handlers:
    """Ahead of the posting dialogue's own handler for the kind of help."""
    return [CallbackQueryHandler(chose_category, pattern=PostCategory.pattern())]


def buttons() -> Handlers:
    return [CallbackQueryHandler(drop_offer, pattern=DropStrayMedia.pattern())]
