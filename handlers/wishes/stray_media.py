"""A voice note or photo sent outside any dialogue is offered as a new wish in one tap: many
residents simply speak their wish into the chat. "🙋 Post as a wish" starts the posting
dialogue with that voice note or photo as the wish's content; "No, thanks" forgets it.

Dialogues take media first: the offer is made by a fallback handler, added after every
feature (handlers/help.py), so it only sees what no dialogue took.

"Post as a wish" opens the posting dialogue at its card (`posting.begin_with_content`): the
media is the wish, the kind of help is guessed from a caption, the date is "no hurry"."""

from __future__ import annotations

from typing import ClassVar, Literal

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.i18n import Translate
from bot.models import User
from bot.services.text import trim_text
from bot.services.wishes.rules import TEXT_MAX
from handlers.buttons import StaleButton
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import DialogueDraft, Handlers, Next, step
from handlers.wishes import posting
from handlers.wishes.buttons import DropStrayMedia, PostStrayMedia


class StrayMedia(DialogueDraft):
    """The voice note or photo last offered as a wish."""

    KEY: ClassVar[str] = "wish_stray_media"
    kind: Literal["voice", "photo", ""] = ""
    file_id: str = ""
    caption: str | None = None
    message_id: int = 0  # the offered message (its buttons name it)


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
    # Checked now, while the words can still be sent again shorter: the offer keeps only the
    # file, and a refusal after "Post as a wish" would leave nothing to post.
    caption = trim_text(message.caption, TEXT_MAX, required=False)
    StrayMedia(
        kind=kind,
        file_id=file_id,
        caption=caption,
        message_id=message.message_id,
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
    """ "Post as a wish": the posting dialogue opens at its card, the offered media as the
    wish (two taps in all: this one and "✅ Post it")."""
    draft = StrayMedia.load(context)
    if not draft.kind or draft.message_id != PostStrayMedia.of(update).message_id:
        raise StaleButton()  # an older offer: its media is no longer kept
    await ack(update)
    shown = await posting.begin_with_content(
        update,
        context,
        user,
        t,
        text=draft.caption,
        photo=draft.file_id if draft.kind == "photo" else None,
        voice=draft.file_id if draft.kind == "voice" else None,
        edit=True,
    )
    StrayMedia.clear(context)  # only once the card holds it (a refusal keeps the offer)
    return shown


@step()
async def drop_offer(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    StrayMedia.clear(context)
    await ack(update)
    await answer(update, t("All right, it is not posted."), edit=True)
    return None


# --- wiring --------------------------------------------------------------------------------


def entry_points() -> Handlers:
    return [CallbackQueryHandler(start_wish_with_media, pattern=PostStrayMedia.pattern())]


def buttons() -> Handlers:
    return [CallbackQueryHandler(drop_offer, pattern=DropStrayMedia.pattern())]
