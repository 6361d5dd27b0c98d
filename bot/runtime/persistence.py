"""python-telegram-bot persistence kept in Linli's own database, so a user halfway through a
dialogue continues after a restart. Dialogue scratch data must be JSON-serialisable.

Dialogue states are stored by name ("for_name"), so adding a state never remaps an open
dialogue. Releases before named states stored IntEnum values; `LEGACY_STATES` maps those to
the names when loading, so dialogues open during that deploy continue where they were.

Several processes on one database (SHARED_UPDATES, webhook mode behind a load balancer) each
keep the dialogues in memory, as python-telegram-bot does. So that an update may land on any
of them, `refreshed` is on: each update first re-reads its sender's dialogue states and data
from the database (`refresh_dialogues`, `refresh_user_data`, `refresh_chat_data`), and once
its handlers ran, what they changed is saved at once (`save_dialogues`) instead of within the
second. The guarantee is per update in order: an update that reaches another process before
the previous one's answer was saved (within milliseconds of the answer) sees the state before
it; two updates of one person handled at the same moment by two processes: the later save
wins. A process that took over from another (a standby) turns `refreshed` on as well: what it
loaded at its start is older than the database."""

from __future__ import annotations

import json
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    BasePersistence,
    ConversationHandler,
    PersistenceInput,
    TypeHandler,
)
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from storage import bot_state
from storage.store import Store

Data = dict[Any, Any]

# conversation name -> {old IntEnum value: state name}; frozen: never edit an entry.
LEGACY_STATES: dict[str, dict[int, str]] = {
    "onboarding": {1: "language", 2: "name", 3: "building", 4: "room", 5: "phone"},
    "profile": {
        1: "menu",
        2: "name",
        3: "building",
        4: "room",
        5: "phone",
        6: "quiet",
        7: "skills",
    },
    "join": {1: "skills", 2: "building"},
    "admin": {
        1: "menu",
        2: "add_building",
        3: "rename_building",
        4: "reject_reason",
        5: "find_user",
        6: "rename_community",
    },
    "teams": {1: "name", 2: "kind", 3: "search", 4: "pick", 5: "rename"},
    "broadcast": {1: "compose", 2: "choose", 3: "when"},
    # Names of WishDialogue once it is a StrEnum (the wish handlers' move to the dialogue kit);
    # ship the two together: while it is still an IntEnum these names match none of its states.
    "wishes": {
        1: "for_name",
        2: "for_building",
        3: "for_room",
        4: "for_phone",
        5: "category",
        6: "content",
        7: "when",
        8: "confirm",
        9: "not_done",
        10: "thanks",
        11: "done_note",
        12: "release_reason",
    },
}


def state_by_name(conversation: str, state: object) -> object | None:
    """The stored state as a name: an old int state through LEGACY_STATES (None when the
    table does not know it: that dialogue is dropped rather than left in no step)."""
    if isinstance(state, int) and not isinstance(state, bool):
        return LEGACY_STATES.get(conversation, {}).get(state)
    return state


def _key(key: ConversationKey) -> str:
    return json.dumps(list(key))


def _as_saved(data: Any) -> str:
    """Data as the saved-text cache keeps it ("" for none: no row)."""
    return "" if data is None or data == {} else json.dumps(data, sort_keys=True)


class StorePersistence(BasePersistence[Data, Data, Data]):
    """Conversations, user_data and chat_data as rows of `bot_state`; bot_data is not kept."""

    def __init__(
        self, store: Store, *, update_interval: float = 1.0, refreshed: bool = False
    ) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, callback_data=False),
            update_interval=update_interval,
        )
        self.store = store
        # Re-read each update's dialogue from the database (see the module docstring).
        self.refreshed = refreshed
        # What the database holds, as JSON text: PTB asks to save every user and chat it saw,
        # changed or not, so unchanged data must cost nothing.
        self._saved: dict[tuple[str, str], str] = {}

    async def _load(self, kind: str) -> dict[str, Any]:
        async with self.store.read() as conn:
            rows = await bot_state.load_kind(conn, kind)
        for key, data in rows.items():
            self._saved[(kind, key)] = _as_saved(data)
        return rows

    async def _save(self, kind: str, key: str, data: Any) -> None:
        text = _as_saved(data)
        if self._saved.get((kind, key), "") == text:
            return
        async with self.store.transaction() as conn:
            if not text:
                await bot_state.remove(conn, kind, key)
            else:
                await bot_state.save(conn, kind, key, data)
        self._saved[(kind, key)] = text

    async def get_user_data(self) -> dict[int, Data]:
        return {int(k): v for k, v in (await self._load("user")).items()}

    async def get_chat_data(self) -> dict[int, Data]:
        return {int(k): v for k, v in (await self._load("chat")).items()}

    async def get_bot_data(self) -> Data:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        prefix = f"{name}|"
        rows = await self._load("conversation")
        conversations: ConversationDict = {}
        for k, v in rows.items():
            if not k.startswith(prefix):
                continue
            state = state_by_name(name, v)
            if state is not None:
                conversations[tuple(json.loads(k[len(prefix) :]))] = state
        return conversations

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        await self._save("conversation", f"{name}|{_key(key)}", new_state)

    async def update_user_data(self, user_id: int, data: Data) -> None:
        await self._save("user", str(user_id), data)

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        await self._save("chat", str(chat_id), data)

    async def update_bot_data(self, data: Data) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        await self._save("chat", str(chat_id), None)

    async def drop_user_data(self, user_id: int) -> None:
        await self._save("user", str(user_id), None)

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        if self.refreshed:
            await self._refresh(("user", str(user_id)), user_data)

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        if self.refreshed:
            await self._refresh(("chat", str(chat_id)), chat_data)

    async def _refresh(self, row: tuple[str, str], data: Data) -> None:
        """Replace the dict's contents with what the database holds (in place: PTB keeps it)."""
        fresh = (await self.load(row)).get(row) or {}
        data.clear()
        data.update(fresh)

    async def load(self, *rows: tuple[str, str]) -> dict[tuple[str, str], Any]:
        """These rows as the database holds them now (and as saved, so none is written back
        unchanged)."""
        async with self.store.read() as conn:
            found = await bot_state.load_keys(conn, list(rows))
        for row in rows:
            self._saved[row] = _as_saved(found.get(row))
        return found

    async def refresh_bot_data(self, bot_data: Data) -> None:
        return None

    async def flush(self) -> None:
        return None


def _dialogues(app: Application[Any, Any, Any, Any, Any, Any]) -> list[ConversationHandler[Any]]:
    return [
        handler
        for group in app.handlers.values()
        for handler in group
        if isinstance(handler, ConversationHandler) and handler.persistent and handler.name
    ]


async def refresh_dialogues(update: object, context: Any) -> None:
    """Before any handler looks at the update: its sender's dialogue states as the database
    holds them (one query for every dialogue)."""
    app = context.application
    persistence = app.persistence
    if not isinstance(persistence, StorePersistence) or not persistence.refreshed:
        return
    keyed: list[tuple[ConversationHandler[Any], ConversationKey, tuple[str, str]]] = []
    for handler in _dialogues(app):
        try:
            # Private in python-telegram-bot (pinned): the key its dialogue is kept under.
            key = handler._get_key(update)  # type: ignore[arg-type]
        except RuntimeError:  # an update without the chat or user the key needs
            continue
        keyed.append((handler, key, ("conversation", f"{handler.name}|{_key(key)}")))
    found = await persistence.load(*(row for _, _, row in keyed))
    for handler, key, row in keyed:
        conversations = handler._conversations  # private, as above
        state = state_by_name(str(handler.name), found[row]) if row in found else None
        if state is None:
            conversations.pop(key, None)
        else:
            conversations[key] = state


async def save_dialogues(update: object, context: Any) -> None:
    """After the update's handlers: save what they changed now, not within the second, so the
    person's next update finds it whichever process it reaches."""
    app = context.application
    persistence = app.persistence
    if not isinstance(persistence, StorePersistence) or not persistence.refreshed:
        return
    if isinstance(update, Update):  # PTB marks them itself only once every group has run
        app.mark_data_for_update_persistence(
            chat_ids=update.effective_chat.id if update.effective_chat else None,
            user_ids=update.effective_user.id if update.effective_user else None,
        )
    await app.update_persistence()


# The groups they run in: before every other handler, and after all of them.
REFRESH_GROUP, SAVE_GROUP = -1000, 1000


def share_dialogues(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Install the re-reading and the prompt saving (they do nothing until `refreshed`)."""
    app.add_handler(TypeHandler(Update, refresh_dialogues), group=REFRESH_GROUP)
    app.add_handler(TypeHandler(Update, save_dialogues), group=SAVE_GROUP)
