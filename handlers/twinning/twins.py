"""/twins for members (结对帮扶): the households they are twinned with — where, the phone,
their circumstances, when a visit is due — a household's card with its recent visits and how
it has been, and logging a visit in a few taps: the day (today by default), what was done
(buttons, then a few words or a voice note), the help given in RMB, a photo, how the
household is (1 to 5) and a note, then a card to check and save.

Every step re-asks the service: a button names a household or a pair, never a permission,
and the save goes through `log_visit`, which checks the pair, the date and the amount again.
The draft's token names the one visit, so a save pressed twice logs it once."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from enum import StrEnum
from typing import ClassVar

from pydantic import Field
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate
from bot.models import N_, HelpKind, Pair, Role, User, VisitCategory
from bot.services import days
from bot.services.days import BadDay, NoSuchDay
from bot.services.errors import InvalidInput
from bot.services.text import fold_text
from bot.services.twinning import (
    VISIT_MAX_AGE,
    NeedsConfirmation,
    NotPaired,
    VisitDraft,
    parse_yuan,
)
from bot.services.twinning.rules import (
    VISIT_TEXT_MAX,
    WELLBEING_NOTE_MAX,
    check_help,
    due_moment,
)
from handlers.buttons import StaleButton
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Next, dialogue, step
from handlers.twinning.visit_buttons import (
    CategoriesDone,
    ChooseHelp,
    ConfirmAmount,
    Day,
    DropVisit,
    DueVisit,
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
from handlers.twinning.visit_views import (
    Twin,
    VisitSummary,
    amount_check,
    amount_prompt,
    card_view,
    categories_prompt,
    confirm_card,
    day_prompt,
    help_prompt,
    note_prompt,
    photo_prompt,
    saved_text,
    twins_view,
    wellbeing_prompt,
    words_prompt,
)

Handlers = list[BaseHandler[Update, LinliContext, object]]
member_step = step(Role.MEMBER)


class VisitDialogue(StrEnum):
    DAY = "day"
    WHAT = "what"  # the categories, toggled
    WORDS = "words"  # a few words or a voice note
    HELP = "help"  # none, funds or materials
    AMOUNT = "amount"  # the value typed in yuan
    AMOUNT_CHECK = "amount_check"  # a large amount: right, or typed again
    PHOTO = "photo"
    WELLBEING = "wellbeing"
    NOTE = "note"
    CONFIRM = "confirm"


class VisitForm(DialogueDraft):
    KEY: ClassVar[str] = "visit"
    household_id: int | None = None
    name: str = ""
    visited_on: date | None = None
    categories: list[VisitCategory] = Field(default_factory=list)
    text: str | None = None
    voice_file_id: str | None = None
    photo_file_id: str | None = None
    help_kind: HelpKind | None = None
    help_fen: int = 0
    confirmed: bool = False  # a large amount the member said is right
    wellbeing: int | None = None
    wellbeing_note: str | None = None
    token: str = ""  # names this one visit: the service logs it once


class TypeOrPressDay(BadDay):
    message = N_("Please type the date like 12-01 or 2026-12-01, or press a button.")


# --- the households --------------------------------------------------------------------------


def _due_on(context: LinliContext, pair: Pair) -> date:
    zone = context.services.settings.zone
    anchor = context.services.twinning.anchor(pair)
    return due_moment(anchor, pair.cadence_days, zone).astimezone(zone).date()


async def _twin(context: LinliContext, user: User, pair: Pair) -> Twin:
    twinning = context.services.twinning
    return Twin(
        pair=pair,
        household=await twinning.household(user, pair.household_id),
        contact=await twinning.contact(user, pair.household_id),
        behind=twinning.is_behind(pair),
        due_on=_due_on(context, pair),
    )


async def _my_pair(
    context: LinliContext,
    user: User,
    *,
    household_id: int | None = None,
    pair_id: int | None = None,
) -> Pair:
    """The member's active pair with this household (or of this id); NotPaired otherwise."""
    for pair in await context.services.twinning.my_pairs(user):
        if pair.household_id == household_id or pair.id == pair_id:
            return pair
    raise NotPaired()


@member_step
async def my_twins(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """/twins, the home button, « back from a card, or a page turned."""
    data = update.callback_query.data if update.callback_query else None
    turned = data is not None and TwinsPage.pattern().fullmatch(data)
    page = TwinsPage.unpack(data).page if turned else 0
    pairs = await context.services.twinning.my_pairs(user)
    twins = [await _twin(context, user, pair) for pair in pairs]
    await ack(update)
    text, rows = twins_view(t, twins, page)
    await answer(update, text, rows, edit=update.callback_query is not None)
    return None


@member_step
async def show_card(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pair = await _my_pair(context, user, household_id=HouseholdCard.of(update).household_id)
    twinning = context.services.twinning
    twin = await _twin(context, user, pair)
    visits = await twinning.visits(user, pair.household_id)
    marks = await twinning.wellbeing(user, pair.household_id)
    await ack(update)
    text, rows = card_view(t, twin, visits, marks)
    await answer(update, text, rows, edit=True)
    return None


# --- logging a visit -------------------------------------------------------------------------


@member_step
async def start_visit(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """From the list, a card, or the "visit due" reminder: the pair is checked again here."""
    data = update.callback_query.data if update.callback_query else None
    if data is not None and DueVisit.pattern().fullmatch(data):
        pair = await _my_pair(context, user, pair_id=DueVisit.unpack(data).pair_id)
    else:
        pair = await _my_pair(context, user, household_id=StartVisit.of(update).household_id)
    contact = await context.services.twinning.contact(user, pair.household_id)
    await ack(update)
    VisitForm(household_id=pair.household_id, name=contact.name, token=secrets.token_hex(8)).save(
        context
    )
    await answer(update, *day_prompt(t, contact.name))
    return VisitDialogue.DAY


def _form(context: LinliContext) -> VisitForm:
    form = VisitForm.load(context)
    if form.household_id is None or not form.token:
        raise StaleButton()
    return form


def read_day(text: str, today: date) -> date:
    """A visit's typed day: without a year, this year's (last year's when that is just past).
    Raises TypeOrPressDay for what is not a date, NoSuchDay for one the calendar lacks."""
    try:
        return days.read_day(text, today, ahead=False, recent_within=VISIT_MAX_AGE)
    except NoSuchDay:
        raise
    except BadDay:
        raise TypeOrPressDay() from None


async def _chose_day(
    update: Update, context: LinliContext, user: User, t: Translate, day: date
) -> Next:
    household_id = _form(context).household_id
    assert household_id is not None
    await context.services.twinning.check_visit_day(user, household_id, day)
    form = VisitForm.change(context, visited_on=day)
    await ack(update)
    await answer(update, *categories_prompt(t, form.categories))
    return VisitDialogue.WHAT


@member_step
async def pressed_day(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    _form(context)
    today = context.today
    day = today if VisitDay.of(update).day is Day.TODAY else today - timedelta(days=1)
    return await _chose_day(update, context, user, t, day)


@member_step
async def typed_day(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    _form(context)
    return await _chose_day(
        update, context, user, t, read_day(update.message.text or "", context.today)
    )


@member_step
async def toggle(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    chosen = set(_form(context).categories) ^ {ToggleCategory.of(update).category}
    form = VisitForm.change(context, categories=sorted(chosen, key=list(VisitCategory).index))
    await ack(update)
    await answer(update, *categories_prompt(t, form.categories), edit=True)
    return VisitDialogue.WHAT


@member_step
async def categories_done(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    _form(context)
    await ack(update)
    await answer(update, *words_prompt(t))
    return VisitDialogue.WORDS


async def _ask_help(update: Update, t: Translate) -> Next:
    await ack(update)
    await answer(update, *help_prompt(t))
    return VisitDialogue.HELP


@member_step
async def typed_words(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    message = update.message
    assert message is not None
    _form(context)
    if message.voice:
        text = fold_text(message.caption, VISIT_TEXT_MAX)
        VisitForm.change(context, text=text, voice_file_id=message.voice.file_id)
    else:
        VisitForm.change(context, text=fold_text(message.text, VISIT_TEXT_MAX))
    return await _ask_help(update, t)


@member_step
async def skip_words(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    if not _form(context).categories:
        raise InvalidInput(N_("Please press what was done, or write a few words about it."))
    return await _ask_help(update, t)


@member_step
async def not_words(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    raise InvalidInput(N_("Please write a few words or send a voice note, or press Skip."))


async def _ask_photo(update: Update, t: Translate) -> Next:
    await ack(update)
    await answer(update, *photo_prompt(t))
    return VisitDialogue.PHOTO


@member_step
async def chose_help(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    _form(context)
    choice = ChooseHelp.of(update).choice
    if choice is HelpChoice.NONE:
        VisitForm.change(context, help_kind=None, help_fen=0, confirmed=False)
        return await _ask_photo(update, t)
    kind = HelpKind(choice.value)
    VisitForm.change(context, help_kind=kind, help_fen=0, confirmed=False)
    await ack(update)
    await answer(update, *amount_prompt(t, kind))
    return VisitDialogue.AMOUNT


@member_step
async def typed_amount(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    if _form(context).help_kind is None:
        raise StaleButton()
    fen = parse_yuan(update.message.text or "")
    try:
        check_help(fen, confirmed=False)
    except NeedsConfirmation:
        VisitForm.change(context, help_fen=fen, confirmed=False)
        await answer(update, *amount_check(t, fen))
        return VisitDialogue.AMOUNT_CHECK
    VisitForm.change(context, help_fen=fen, confirmed=False)
    return await _ask_photo(update, t)


@member_step
async def not_amount(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    parse_yuan("")  # refuses: an amount is typed
    return None


@member_step
async def confirm_amount(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = _form(context)
    if form.help_kind is None or not form.help_fen:
        raise StaleButton()
    if ConfirmAmount.of(update).right:
        VisitForm.change(context, confirmed=True)
        return await _ask_photo(update, t)
    VisitForm.change(context, help_fen=0, confirmed=False)
    await ack(update)
    await answer(update, *amount_prompt(t, form.help_kind))
    return VisitDialogue.AMOUNT


async def _ask_wellbeing(update: Update, t: Translate) -> Next:
    await ack(update)
    await answer(update, *wellbeing_prompt(t))
    return VisitDialogue.WELLBEING


@member_step
async def sent_photo(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    message = update.message
    assert message is not None and message.photo
    _form(context)
    VisitForm.change(context, photo_file_id=message.photo[-1].file_id)
    return await _ask_wellbeing(update, t)


@member_step
async def skip_photo(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    _form(context)
    VisitForm.change(context, photo_file_id=None)
    return await _ask_wellbeing(update, t)


@member_step
async def not_photo(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    raise InvalidInput(N_("Please send a photo, or press Skip."))


@member_step
async def marked(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    _form(context)
    mark = MarkWellbeing.of(update).mark
    if not 0 <= mark <= 5:
        raise StaleButton()
    VisitForm.change(context, wellbeing=mark or None)
    await ack(update)
    await answer(update, *note_prompt(t))
    return VisitDialogue.NOTE


async def _show_confirm(update: Update, t: Translate, form: VisitForm) -> Next:
    assert form.visited_on is not None
    summary = VisitSummary(
        name=form.name,
        visited_on=form.visited_on,
        categories=frozenset(form.categories),
        text=form.text,
        voice=form.voice_file_id is not None,
        help_kind=form.help_kind,
        help_fen=form.help_fen,
        photo=form.photo_file_id is not None,
        wellbeing=form.wellbeing,
        wellbeing_note=form.wellbeing_note,
        token=form.token,
    )
    await ack(update)
    await answer(update, *confirm_card(t, summary))
    return VisitDialogue.CONFIRM


@member_step
async def typed_note(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    _form(context)
    note = fold_text(update.message.text, WELLBEING_NOTE_MAX)
    return await _show_confirm(update, t, VisitForm.change(context, wellbeing_note=note))


@member_step
async def skip_note(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    _form(context)
    return await _show_confirm(update, t, VisitForm.change(context, wellbeing_note=None))


@member_step
async def not_note(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    raise InvalidInput(N_("Please write the note, or press Skip."))


@member_step
async def save_visit(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = _form(context)
    if SaveVisit.of(update).token != form.token or form.household_id is None:
        raise StaleButton()  # the card of an earlier visit
    draft = VisitDraft(
        household_id=form.household_id,
        visited_on=form.visited_on,
        categories=frozenset(form.categories),
        text=form.text,
        voice_file_id=form.voice_file_id,
        photo_file_id=form.photo_file_id,
        help_kind=form.help_kind,
        help_fen=form.help_fen,
        wellbeing=form.wellbeing,
        wellbeing_note=form.wellbeing_note,
    )
    services = context.services
    visit = await services.twinning.log_visit(
        user, draft, token=form.token, confirmed=form.confirmed
    )
    points = await services.twinning.visit_points(user, visit)
    pairs = await services.twinning.my_pairs(user)
    pair = next((p for p in pairs if p.household_id == visit.household_id), None)
    await ack(update, t("Saved."))
    due_on = _due_on(context, pair) if pair is not None else None
    await answer(update, saved_text(t, points, due_on), edit=True)
    return END


@member_step
async def drop_visit(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("Cancelled. No visit was logged."), edit=True)
    return END


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    other = ~filters.TEXT & ~filters.COMMAND & private
    drop = CallbackQueryHandler(drop_visit, pattern=DropVisit.pattern())
    start = [
        CallbackQueryHandler(start_visit, pattern=StartVisit.pattern()),
        CallbackQueryHandler(start_visit, pattern=DueVisit.pattern()),
    ]
    conversation = dialogue(
        "visit",
        entry_points=start,
        states={
            VisitDialogue.DAY: [
                CallbackQueryHandler(pressed_day, pattern=VisitDay.pattern()),
                MessageHandler(text, typed_day),
                drop,
            ],
            VisitDialogue.WHAT: [
                CallbackQueryHandler(toggle, pattern=ToggleCategory.pattern()),
                CallbackQueryHandler(categories_done, pattern=CategoriesDone.pattern()),
                drop,
            ],
            VisitDialogue.WORDS: [
                MessageHandler(text | (filters.VOICE & private), typed_words),
                CallbackQueryHandler(skip_words, pattern=SkipWords.pattern()),
                MessageHandler(other, not_words),
                drop,
            ],
            VisitDialogue.HELP: [
                CallbackQueryHandler(chose_help, pattern=ChooseHelp.pattern()),
                drop,
            ],
            VisitDialogue.AMOUNT: [
                MessageHandler(text, typed_amount),
                MessageHandler(other, not_amount),
                drop,
            ],
            VisitDialogue.AMOUNT_CHECK: [
                CallbackQueryHandler(confirm_amount, pattern=ConfirmAmount.pattern()),
                MessageHandler(text, typed_amount),  # a corrected amount typed straight away
                drop,
            ],
            VisitDialogue.PHOTO: [
                MessageHandler(filters.PHOTO & private, sent_photo),
                CallbackQueryHandler(skip_photo, pattern=SkipPhoto.pattern()),
                MessageHandler(~filters.COMMAND & private, not_photo),
                drop,
            ],
            VisitDialogue.WELLBEING: [
                CallbackQueryHandler(marked, pattern=MarkWellbeing.pattern()),
                drop,
            ],
            VisitDialogue.NOTE: [
                MessageHandler(text, typed_note),
                CallbackQueryHandler(skip_note, pattern=SkipNote.pattern()),
                MessageHandler(other, not_note),
                drop,
            ],
            VisitDialogue.CONFIRM: [
                CallbackQueryHandler(save_visit, pattern=SaveVisit.pattern()),
                drop,
            ],
        },
        drafts=[VisitForm],
    )
    return [
        conversation,
        CommandHandler("twins", my_twins, filters=private),
        CallbackQueryHandler(my_twins, pattern=TwinsList.pattern()),
        CallbackQueryHandler(my_twins, pattern=TwinsPage.pattern()),
        CallbackQueryHandler(show_card, pattern=HouseholdCard.pattern()),
    ]
