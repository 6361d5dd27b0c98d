"""📰 你说我做 ("you said, we did") in /admin: a coordinator over one community picks a month
(last month first; ◀ ▶), sees the counts as residents will, chooses two or three stories
(⬜/☑, ✏️ to tell one in their own words), previews exactly what residents will receive, and
sends it as an announcement — each resident reads it in their own language.

The choice is kept in the coordinator's dialogue draft; every press re-asks the service,
which checks the role, the community and the stories again."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import Field
from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.i18n import Translate, esc
from bot.models import N_, DigestScreen, Role, User
from bot.services.digest import (
    STORIES_MAX,
    StoryChoice,
    StoryGone,
    TooManyStories,
    check_rewrite,
)
from bot.services.errors import InvalidInput
from handlers.broadcast import show_progress
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
from handlers.digest.buttons import (
    DigestMenu,
    DigestMonth,
    OwnWordsOff,
    PreviewDigest,
    RewriteStory,
    SendDigest,
    ToggleStory,
)
from handlers.digest.views import (
    digest_text,
    month_code,
    month_of_code,
    preview_buttons,
    screen_buttons,
    screen_text,
)

Handlers = list[BaseHandler[Update, LinliContext, object]]
coordinator_step = step(Role.COORDINATOR)


class DigestDialogue(StrEnum):
    MENU = "menu"
    REWRITE = "rewrite"


class DigestForm(DialogueDraft):
    """The month on screen and the stories chosen for it (keys, in order; rewrites by key)."""

    KEY: ClassVar[str] = "digest"
    month: int = 0
    keys: list[str] = Field(default_factory=list)
    rewrites: dict[str, str] = Field(default_factory=dict)
    rewriting: str = ""

    def choices(self) -> list[StoryChoice]:
        return [StoryChoice(key, self.rewrites.get(key)) for key in self.keys]


def _form(context: LinliContext, code: int) -> DigestForm:
    """The choice for this month (a fresh one for another month)."""
    form = DigestForm.peek(context)
    return form if form.month == code else DigestForm(month=code)


def _month(code: int) -> date:
    month = month_of_code(code)
    if month is None:
        raise StaleButton()
    return month


async def _show(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    month: date,
    form: DigestForm | None = None,
    *,
    edit: bool,
) -> Next:
    """The screen for the month with the form's stories (`form`: as a press just changed
    them; None: as chosen so far); the form is kept once they passed."""
    pressed = form is not None
    form = form or _form(context, month_code(month))
    try:
        screen = await _screen(context, user, month, form)
    except StoryGone:
        if pressed:
            raise  # the press that chose it is refused
        # Chosen earlier, no longer this month's (or another community's now): start afresh.
        form = DigestForm(month=month_code(month))
        screen = await _screen(context, user, month, form)
    form.save(context)
    await answer(update, screen_text(t, screen), screen_buttons(t, screen), edit=edit)
    return DigestDialogue.MENU


async def _screen(
    context: LinliContext, user: User, month: date | None, form: DigestForm
) -> DigestScreen:
    return await context.services.digest.screen(
        user, month, form.choices(), community_id=context.working_community
    )


@coordinator_step
async def opened(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    last_month = context.services.digest.month(None).first_day  # the choice made so far kept
    shown = await _show(update, context, user, t, last_month, edit=True)
    # Once a coordinator has looked, the community's coordinators are reminded each 1st.
    await context.services.digest.keep_reminding(user, community_id=context.working_community)
    return shown


@coordinator_step
async def moved(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    month = _month(DigestMonth.of(update).month)
    await ack(update)
    return await _show(update, context, user, t, month, edit=True)


@coordinator_step
async def toggled(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = ToggleStory.of(update)
    month = _month(pressed.month)
    form = _form(context, pressed.month)
    if pressed.key in form.keys:
        form.keys.remove(pressed.key)
        form.rewrites.pop(pressed.key, None)
    elif len(form.keys) >= STORIES_MAX:
        raise TooManyStories(most=STORIES_MAX)
    else:
        form.keys.append(pressed.key)
    await ack(update)
    return await _show(update, context, user, t, month, form, edit=True)


@coordinator_step
async def own_words(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = OwnWordsOff.of(update)
    month = _month(pressed.month)
    form = _form(context, pressed.month)
    form.rewrites.pop(pressed.key, None)
    await ack(update)
    return await _show(update, context, user, t, month, form, edit=True)


@coordinator_step
async def rewrite_asked(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = RewriteStory.of(update)
    form = _form(context, pressed.month)
    if pressed.key not in form.keys:
        raise StaleButton()
    form.rewriting = pressed.key
    form.save(context)
    await ack(update)
    await answer(
        update,
        t(
            "Please type this story in your own words (at most 200 characters). Residents will "
            "read it exactly as you type it, whatever their language. /cancel to stop."
        ),
    )
    return DigestDialogue.REWRITE


@coordinator_step
async def rewrite_typed(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    form = DigestForm.load(context)
    text = update.effective_message.text if update.effective_message else None
    words = check_rewrite(text or "")
    if form.rewriting not in form.keys:
        raise StaleButton()
    form.rewrites[form.rewriting] = words
    form.rewriting = ""
    return await _show(update, context, user, t, _month(form.month), form, edit=False)


@coordinator_step
async def not_text(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    raise InvalidInput(N_("Please type it as a message, or press Cancel."))


@coordinator_step
async def previewed(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    code = PreviewDigest.of(update).month
    form = _form(context, code)
    screen = await _screen(context, user, _month(code), form)
    await ack(update)
    # Exactly what a resident reading the coordinator's language receives.
    await answer(update, digest_text(t, screen.digest))
    if screen.sent_broadcast_id is not None:
        note = t("This month's digest was sent already (announcement #{id}).").format(
            id=screen.sent_broadcast_id
        )
    else:
        note = t(
            "☝️ This is what residents will receive. It goes to everyone in {community} as an "
            "announcement, each in their own language (中文 or English)."
        ).format(community=esc(screen.digest.community_name))
        if len(form.keys) < 2:
            note += "\n" + t("Tip: two or three stories make it come alive.")
    await answer(update, note, preview_buttons(t, screen))
    return DigestDialogue.MENU


@coordinator_step
async def sent(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    code = SendDigest.of(update).month
    form = _form(context, code)
    broadcast_id, count = await context.services.digest.send(
        user, _month(code), form.choices(), community_id=context.working_community
    )
    await ack(update)
    DigestForm.clear(context)
    await show_progress(
        update,
        context,
        broadcast_id,
        t("Sending “You said, we did” to {count} people. This message shows the progress.").format(
            count=count
        ),
    )
    return END


def _buttons() -> list[AnyHandler]:
    routes: list[tuple[Callback, type[Button]]] = [
        (opened, DigestMenu),
        (moved, DigestMonth),
        (toggled, ToggleStory),
        (own_words, OwnWordsOff),
        (rewrite_asked, RewriteStory),
        (previewed, PreviewDigest),
        (sent, SendDigest),
    ]
    return presses(routes)


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    other = ~filters.TEXT & ~filters.COMMAND & private
    buttons = _buttons()
    conversation = dialogue(
        "digest",
        entry_points=buttons,
        states={
            DigestDialogue.MENU: buttons,
            DigestDialogue.REWRITE: [
                MessageHandler(text, rewrite_typed),
                MessageHandler(other, not_text),
                *buttons,
            ],
        },
        drafts=[DigestForm],
    )
    return [conversation]
