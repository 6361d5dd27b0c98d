"""Wishes in chat, one module per part:

    buttons   every button of the feature, typed, defined once
    views     the card, list rows, offer text, the wall post; the live views
    notices   how each wish notice reads when the outbox sends it
    posting   /wish, /urgent, /wish_for (the shared person steps for someone without a phone)
    resident  /mywishes: cancel, confirm or "not done", rate, thank, post again
    member    /wishes, /claim, /mytasks: claim alone or for a team, done, give back, team
    stray_media  a voice note or photo sent outside any dialogue, offered as a new wish
    stuck     /stuck: coordinators' stuck wishes; cancel with a reason, hand over, reopen
    nudges    how the nudges on stuck wishes (and what coordinators did) read when sent

One conversation holds every typed step of the feature (posting, "not done", thanks, done
notes, reasons), so an answer typed for one step can never be taken by another; the buttons
around it work from any message.
"""

from __future__ import annotations

from telegram.ext import ConversationHandler

from handlers.context import LinliContext
from handlers.dialogue import AnyHandler, dialogue
from handlers.wishes import member, nudges, posting, resident, stray_media, stuck


def handlers() -> list[AnyHandler]:
    conversation: ConversationHandler[LinliContext] = dialogue(
        "wishes",
        entry_points=[
            *posting.entry_points(),
            *resident.entry_points(),
            *member.entry_points(),
            *stray_media.entry_points(),
            *stuck.entry_points(),
        ],
        states={**posting.states(), **resident.states(), **member.states(), **stuck.states()},
        drafts=[
            posting.PostingDraft,
            resident.ReplyDraft,
            member.TaskDraft,
            stray_media.StrayMedia,
            stuck.StuckDraft,
        ],
    )
    assert nudges  # its notice views register on import
    return [
        conversation,
        *resident.buttons(),
        *member.buttons(),
        *stray_media.buttons(),
        *stuck.buttons(),
    ]
