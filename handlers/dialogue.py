"""The dialogue kit: one step wrapper, typed drafts, named states, one dialogue at a time.

    class JoinDialogue(StrEnum):          # states are stored by name: adding one remaps nothing
        SKILLS = "skills"

    class JoinDraft(DialogueDraft):       # typed scratch data, JSON in user_data, 24 h at most
        KEY: ClassVar[str] = "join"
        code: str = ""

    @step(role=Role.RESIDENT)             # registered, holds the role: checked on the server
    async def toggled(update, context, user, t) -> Next:
        ...                               # only the happy path: a LinliError is refused here

    dialogue("join", entry_points=[...], states={...}, drafts=[JoinDraft])

The routing rule: the dialogue a user started or moved on last is their *active* dialogue
(`user_data["dialogue"]`). Typed input (text, a contact, a photo…) reaching another dialogue
that is still open for that user ends that stale dialogue (clearing its drafts) and dispatches
the update again, so it lands in the active one — whatever the order in which features were
registered. Buttons carry unique prefixes, so they always reach their own dialogue; pressing one
that moves a dialogue on makes that dialogue the active one. A command still leaves any open
dialogue first (`leave_for_command`). Only dialogues built with `dialogue` take part: the
wishes conversation joins when it is built with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Self, TypeVar, overload

from pydantic import BaseModel, ValidationError
from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, translator
from bot.models import N_, Role, User
from bot.services.errors import Conflict, InvalidInput, LinliError, NotAllowed, NotRegistered
from handlers.buttons import Button
from handlers.common import answer, leave_for_command, refuse, viewer
from handlers.context import LinliContext
from handlers.home import HOME_KEY, MENU_KEY, show_home

END = ConversationHandler.END
ACTIVE = "dialogue"  # user_data key: the name of the user's active dialogue
NONE_ACTIVE = ""  # ... or that the last one ended
DRAFT_TTL = timedelta(hours=24)
KEPT = (MENU_KEY, HOME_KEY)  # what /cancel keeps: the state of their chat, not of a dialogue

# What a step returns: the next state (a StrEnum member), END, or None to stay where it is.
Next = str | int | None
Callback = Callable[[Update, LinliContext], Coroutine[Any, Any, Next]]
UserBody = Callable[[Update, LinliContext, User, Translate], Coroutine[Any, Any, Next]]
GuestBody = Callable[[Update, LinliContext, User | None, Translate], Coroutine[Any, Any, Next]]
LanguageOf = Callable[[Update, LinliContext], str]
AnyHandler = BaseHandler[Update, LinliContext, Any]
Handlers = list[AnyHandler]
State = TypeVar("State", bound=StrEnum)


def presses(routes: Iterable[tuple[Callback, type[Button]]]) -> Handlers:
    """One handler per typed button: a press of `kind` goes to its callback."""
    return [CallbackQueryHandler(callback, pattern=kind.pattern()) for callback, kind in routes]


# --- the step wrapper ----------------------------------------------------------------------


@overload
def step(
    role: Role = Role.RESIDENT, *, language: LanguageOf | None = None
) -> Callable[[UserBody], Callback]: ...


@overload
def step(role: None, *, language: LanguageOf | None = None) -> Callable[[GuestBody], Callback]: ...


def step(
    role: Role | None = Role.RESIDENT, *, language: LanguageOf | None = None
) -> Callable[[Any], Callback]:
    """Wrap a step (or any command or button handler) so its body holds only the happy path.

    Checks on the server, for every update, that the user is registered and holds `role`
    (`role=None`: anyone, the user may be None; `language` then picks the translator), else
    refuses and ends any dialogue. Calls the body with `(update, context, user, t)`. A
    LinliError it raises is refused in the user's language; InvalidInput keeps the dialogue in
    the same step (None), any other error ends the dialogue (END; `dialogue` then clears its
    drafts). Outside a dialogue the return value is ignored, so plain handlers use it too."""

    def decorate(body: Any) -> Callback:
        @functools.wraps(body)
        async def run(update: Update, context: LinliContext) -> Next:
            user, t = await viewer(update, context)
            if user is None and language is not None:
                t = translator(language(update, context))
            if role is not None:
                if user is None:
                    await refuse(update, t, NotRegistered())
                    return END
                if role not in user.roles:
                    await refuse(update, t, NotAllowed())
                    return END
            try:
                result: Next = await body(update, context, user, t)
            except InvalidInput as error:
                await refuse(update, t, error)
                return None
            except LinliError as error:
                await refuse(update, t, error)
                return END
            return result

        return run

    return decorate


# --- typed drafts --------------------------------------------------------------------------


class DraftExpired(Conflict):
    message = N_("That was a while ago, so what you had entered was not kept. Please start again.")


class DialogueDraft(BaseModel):
    """A dialogue's scratch data, kept as JSON in user_data under `KEY` (so persistence can
    store it). Every field needs a default: a missing, unreadable or stale draft loads empty."""

    KEY: ClassVar[str]
    saved_at: datetime | None = None

    @classmethod
    def load(cls, context: LinliContext, *, clear_stale: bool = True) -> Self:
        """The saved draft, or an empty one when there is none. One older than 24 h is refused
        (DraftExpired ends the dialogue): going on with an empty draft in the middle of a
        dialogue would post an urgent request as an ordinary wish, or a wish for a neighbour as
        one's own."""
        raw = (context.user_data or {}).get(cls.KEY)
        if not isinstance(raw, dict):
            return cls()
        try:
            draft = cls.model_validate(raw)
        except ValidationError:  # saved by an older release with other fields
            return cls()
        # A draft without a time was saved before drafts were typed (same field names): keep it.
        if (
            draft.saved_at is not None
            and context.services.clock.now() - draft.saved_at > DRAFT_TTL
        ):
            if clear_stale:
                cls.clear(context)
            raise DraftExpired()
        return draft

    @classmethod
    def peek(cls, context: LinliContext) -> Self:
        """The draft as saved, stale or not, for a look outside the dialogue's steps (e.g.
        which language to answer in): never refuses and changes nothing (a step's own `load`
        refuses a stale one)."""
        raw = (context.user_data or {}).get(cls.KEY)
        try:
            return cls.model_validate(raw) if isinstance(raw, dict) else cls()
        except ValidationError:
            return cls()

    def save(self, context: LinliContext) -> None:
        """Keep the draft (stamped with the service clock's time)."""
        assert context.user_data is not None
        self.saved_at = context.services.clock.now()
        context.user_data[self.KEY] = self.model_dump(mode="json")

    @classmethod
    def change(cls, context: LinliContext, **fields: Any) -> Self:
        """Load the draft, set these fields (checked against their types), keep it."""
        draft = cls.model_validate({**cls.load(context).model_dump(), **fields})
        draft.save(context)
        return draft

    @classmethod
    def clear(cls, context: LinliContext) -> None:
        if context.user_data is not None:
            context.user_data.pop(cls.KEY, None)


def _draft_keys() -> set[str]:
    found: set[str] = set()
    pending: list[type[DialogueDraft]] = [DialogueDraft]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            key = sub.__dict__.get("KEY")
            if isinstance(key, str):
                found.add(key)
    return found


def forget_stale_drafts(user_data: Mapping[int, dict[Any, Any]], now: datetime) -> list[int]:
    """Empty every draft older than 24 h in these users' data, keeping only its time (so the
    dialogue, if it is still open, refuses it as stale rather than going on without it).
    What was typed into an abandoned dialogue — a neighbour's phone and room in /wish_for —
    is not kept. The users whose data changed."""
    keys = _draft_keys()
    changed = []
    for user_id, data in user_data.items():
        emptied = False
        for key in keys:
            raw = data.get(key)
            if not isinstance(raw, dict) or set(raw) <= {"saved_at"}:
                continue
            try:
                saved = datetime.fromisoformat(str(raw.get("saved_at")))
            except ValueError:
                continue
            if now - saved > DRAFT_TTL:
                data[key] = {"saved_at": raw["saved_at"]}
                emptied = True
        if emptied:
            changed.append(user_id)
    return changed


# --- dialogues -----------------------------------------------------------------------------


def active_dialogue(context: LinliContext) -> str | None:
    """The name of the dialogue the user started or moved on last ("" when it ended; None
    when nothing is known, e.g. for data saved before this rule)."""
    value = (context.user_data or {}).get(ACTIVE)
    return value if isinstance(value, str) else None


def dialogue(
    name: str,
    *,
    entry_points: Sequence[AnyHandler],
    states: Mapping[State, Sequence[AnyHandler]],
    drafts: Iterable[type[DialogueDraft]] = (),
    reentry: Sequence[AnyHandler] = (),
    language: LanguageOf | None = None,
) -> ConversationHandler[LinliContext]:
    """A persistent ConversationHandler named `name`, with the house fallbacks (/cancel,
    `reentry` commands, leaving for any other command, "use the buttons"), whose steps keep
    the routing rule (see the module docstring) and clear `drafts` whenever it ends.
    `language` picks the language of "use the buttons" for someone not registered yet."""
    private = filters.ChatType.PRIVATE
    leave = MessageHandler(filters.COMMAND & private, leave_for_command)
    fallbacks: Handlers = [
        CommandHandler("cancel", cancel),
        *reentry,
        leave,
        MessageHandler(private & ~filters.COMMAND, _use_buttons(language)),
    ]
    owned = tuple(drafts)
    # Entry points are tried only while the dialogue is closed: never "stale", and re-sending
    # the update to them could loop.
    entries = {id(handler) for handler in entry_points}
    seen: set[int] = set()
    for handler in [*entry_points, *(h for hs in states.values() for h in hs), *fallbacks]:
        if id(handler) in seen:  # one handler may serve several states
            continue
        seen.add(id(handler))
        typed = (
            isinstance(handler, MessageHandler)
            and handler is not leave
            and id(handler) not in entries
        )
        handler.callback = _tracked(name, owned, handler.callback, typed=typed)
    return ConversationHandler(
        entry_points=list(entry_points),
        states={state: list(hs) for state, hs in states.items()},
        fallbacks=fallbacks,
        name=name,
        persistent=True,
        allow_reentry=True,
    )


def _tracked(
    name: str,
    drafts: tuple[type[DialogueDraft], ...],
    callback: Callable[[Update, LinliContext], Coroutine[Any, Any, object]],
    *,
    typed: bool,
) -> Callable[[Update, LinliContext], Coroutine[Any, Any, object]]:
    @functools.wraps(callback)
    async def tracked(update: Update, context: LinliContext) -> object:
        active = active_dialogue(context)
        if typed and active is not None and active != name:
            # This dialogue is stale: the user has since moved to another one. The update goes
            # back into the queue, to be handled after this END has closed this dialogue, in
            # turn with the updates after it (a task of its own would race them: the dialogue
            # it reaches could be marked active after the user's next press).
            _ended(name, drafts, context)
            await context.application.update_queue.put(update)
            return END
        result = await callback(update, context)
        if result == END:
            _ended(name, drafts, context)
        elif result is not None and context.user_data is not None:
            context.user_data[ACTIVE] = name
        return result

    return tracked


async def cancel(update: Update, context: LinliContext) -> int:
    """/cancel: leave any dialogue (the fallback of every dialogue, and a command of its own).
    The home keyboard comes back (a step may have put another keyboard in its place)."""
    user, t = await viewer(update, context)
    if context.user_data is not None:
        kept = {key: context.user_data[key] for key in KEPT if key in context.user_data}
        context.user_data.clear()
        context.user_data.update(kept)
        context.user_data[ACTIVE] = NONE_ACTIVE  # no dialogue is active now
    if user is None:
        await answer(update, t("Cancelled. Nothing was changed."), remove_keyboard=True)
    else:
        await show_home(update, context, user, t("Cancelled. Nothing was changed."))
    return END


def _ended(name: str, drafts: tuple[type[DialogueDraft], ...], context: LinliContext) -> None:
    for draft in drafts:
        draft.clear(context)
    # "" marks "no dialogue is active": an older dialogue still open (its entry command was
    # taken by another one) is then stale too, and cannot take the next typed answer.
    # (/cancel, which clears all of user_data, sets the marker itself.)
    if context.user_data is not None and context.user_data.get(ACTIVE) == name:
        context.user_data[ACTIVE] = NONE_ACTIVE


def _use_buttons(language: LanguageOf | None) -> Callback:
    @step(None, language=language)
    async def use_buttons(
        update: Update, context: LinliContext, _user: User | None, t: Translate
    ) -> Next:
        """Typed input where a button was expected: say so and stay in the same step."""
        await answer(update, t("Please choose with the buttons above."))
        return None

    return use_buttons
