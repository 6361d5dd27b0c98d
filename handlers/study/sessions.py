"""/study for everyone in a session's audience: the sessions open to me (upcoming), a card
with my answer, Attend / Excused (a reason asked for), the material on a button, and check-in
in the session's window — Check in then the code, or `/attend 1234`.

Every step re-asks the service: a button names a session, never a permission."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc
from bot.models import N_, Role, User
from bot.services.errors import InvalidInput
from bot.services.study import MySession
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Next, dialogue, step
from handlers.study.buttons import (
    Attend,
    CheckIn,
    DropAnswer,
    Excuse,
    Material,
    SessionCard,
    StudyList,
)
from handlers.study.views import card_view, list_view, session_lines

Handlers = list[BaseHandler[Update, LinliContext, object]]
resident_step = step(Role.RESIDENT)


class AnswerDialogue(StrEnum):
    REASON = "reason"
    CODE = "code"


class AnswerForm(DialogueDraft):
    KEY: ClassVar[str] = "study_answer"
    slot_id: int | None = None


def _form(context: LinliContext) -> int:
    slot_id = AnswerForm.load(context).slot_id
    if slot_id is None:
        raise InvalidInput(N_("Please start again from /study."))
    return slot_id


async def _card(
    update: Update, context: LinliContext, user: User, t: Translate, item: MySession, *, edit: bool
) -> None:
    study = context.services.study
    settings = context.services.settings
    text, rows = card_view(
        t,
        item,
        user.language,
        settings.zone,
        context.services.clock.now(),
        study.in_window(item.session),
    )
    await answer(update, text, rows, edit=edit)


@resident_step
async def my_sessions(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """/study, the home button, or « back from a card."""
    mine = await context.services.study.mine(user)
    await ack(update)
    text, rows = list_view(t, mine, user.language, context.services.settings.zone)
    await answer(update, text, rows, edit=update.callback_query is not None)
    return None


@resident_step
async def show_card(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    item = await context.services.study.my_answer(user, SessionCard.of(update).slot_id)
    await ack(update)
    await _card(update, context, user, t, item, edit=True)
    return None


@resident_step
async def attend(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = Attend.of(update).slot_id
    await context.services.study.answer(user, slot_id, going=True)
    await ack(update, t("Thank you: you are down as attending."))
    item = await context.services.study.my_answer(user, slot_id)
    await _card(update, context, user, t, item, edit=True)
    return END


@resident_step
async def excuse(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = Excuse.of(update).slot_id
    item = await context.services.study.my_answer(user, slot_id)  # in the audience?
    AnswerForm(slot_id=slot_id).save(context)
    await ack(update)
    text = session_lines(t, item.session, user.language, context.services.settings.zone)
    await answer(
        update,
        text + "\n\n" + t("Why can you not come? Please write a few words."),
        [[(t("Cancel"), DropAnswer().pack())]],
    )
    return AnswerDialogue.REASON


@resident_step
async def typed_reason(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    slot_id = _form(context)
    await context.services.study.answer(user, slot_id, going=False, reason=update.message.text)
    await answer(update, t("Noted: you are excused. Thank you for letting us know."))
    return END


@resident_step
async def check_in(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    slot_id = CheckIn.of(update).slot_id
    await context.services.study.my_answer(user, slot_id)  # in the audience?
    AnswerForm(slot_id=slot_id).save(context)
    await ack(update)
    await answer(
        update,
        t("Please type the check-in code shown at the session."),
        [[(t("Cancel"), DropAnswer().pack())]],
    )
    return AnswerDialogue.CODE


async def checked_in(update: Update, t: Translate, title: str, points: int) -> None:
    text = t("✅ Checked in to “{title}”. Thank you for coming!").format(title=title)
    if points:
        text += "\n" + t("+{points} points in your love-savings passbook.").format(points=points)
    await answer(update, text)


@resident_step
async def typed_code(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    slot_id = _form(context)
    study = context.services.study
    _signup, points = await study.check_in(user, slot_id, update.message.text or "")
    session = await study.session(user, slot_id)
    await checked_in(update, t, esc(session.title), points)
    return END


@resident_step
async def attend_command(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """/attend 1234: check in to the session open now whose code it is."""
    code = " ".join(context.args or [])
    if not code:
        await answer(update, t("Please type the code after the command, like /attend 1234."))
        return None
    session, _signup, points = await context.services.study.check_in_by_code(user, code)
    await checked_in(update, t, esc(session.title), points)
    return None


@resident_step
async def send_material(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    session = await context.services.study.session(user, Material.of(update).slot_id)
    await ack(update)
    chat = update.effective_chat
    if session.material_file_id and chat is not None:
        await context.bot.send_document(
            chat.id, session.material_file_id, caption=session.title[:900]
        )
    elif session.material_link:
        await answer(update, esc(session.material_link))
    return None


@resident_step
async def dropped(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("Cancelled."), edit=True)
    return END


@resident_step
async def not_text(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    raise InvalidInput(N_("Please type it as a message, or press Cancel."))


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    other = ~filters.TEXT & ~filters.COMMAND & private
    drop = CallbackQueryHandler(dropped, pattern=DropAnswer.pattern())
    conversation = dialogue(
        "study_answer",
        entry_points=[
            CallbackQueryHandler(excuse, pattern=Excuse.pattern()),
            CallbackQueryHandler(check_in, pattern=CheckIn.pattern()),
        ],
        states={
            AnswerDialogue.REASON: [
                MessageHandler(text, typed_reason),
                MessageHandler(other, not_text),
                drop,
            ],
            AnswerDialogue.CODE: [
                MessageHandler(text, typed_code),
                MessageHandler(other, not_text),
                drop,
            ],
        },
        drafts=[AnswerForm],
        reentry=[
            CallbackQueryHandler(excuse, pattern=Excuse.pattern()),
            CallbackQueryHandler(check_in, pattern=CheckIn.pattern()),
            CommandHandler("attend", attend_command, filters=private),
        ],
    )
    return [
        conversation,
        CommandHandler("study", my_sessions, filters=private),
        CommandHandler("attend", attend_command, filters=private),
        CallbackQueryHandler(my_sessions, pattern=StudyList.pattern()),
        CallbackQueryHandler(show_card, pattern=SessionCard.pattern()),
        CallbackQueryHandler(attend, pattern=Attend.pattern()),
        CallbackQueryHandler(send_material, pattern=Material.pattern()),
    ]
