"""Notifications: rendered per recipient's language and written to the outbox in the caller's
transaction, so a notification exists exactly when the change it announces was committed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.i18n import Translate, translator
from bot.models import OutgoingMessage, Role, User
from storage import outbox
from storage import users as users_repo

Buttons = tuple[tuple[tuple[str, str], ...], ...]
Render = Callable[[Translate], str]
RenderButtons = Callable[[Translate], Buttons]


@dataclass
class Notifier:
    clock: Clock
    # Called after a commit that queued messages; the sender wakes instead of waiting to poll.
    wake: Callable[[], None] = field(default=lambda: None)

    async def to_user(
        self,
        conn: AsyncConnection,
        user: User,
        render: Render,
        *,
        buttons: RenderButtons | None = None,
        dedupe_key: str | None = None,
        not_before: datetime | None = None,
        photo_file_id: str | None = None,
    ) -> int | None:
        """Queue one message to `user` in their language; None if the dedupe key was used."""
        t = translator(user.language)
        message = OutgoingMessage(
            chat_id=user.id,
            text=render(t),
            photo_file_id=photo_file_id,
            buttons=buttons(t) if buttons else (),
        )
        return await outbox.enqueue(
            conn, message, now=self.clock.now(), dedupe_key=dedupe_key, not_before=not_before
        )

    async def to_users(
        self,
        conn: AsyncConnection,
        recipients: Iterable[User],
        render: Render,
        *,
        buttons: RenderButtons | None = None,
        dedupe_prefix: str | None = None,
    ) -> int:
        """Queue one message per recipient; the number queued."""
        queued = 0
        for user in recipients:
            key = f"{dedupe_prefix}:{user.id}" if dedupe_prefix else None
            if await self.to_user(conn, user, render, buttons=buttons, dedupe_key=key):
                queued += 1
        return queued

    async def to_chat(
        self,
        conn: AsyncConnection,
        chat_id: int,
        text: str,
        *,
        buttons: Buttons = (),
        dedupe_key: str | None = None,
    ) -> int | None:
        """Queue a message to a group chat (already rendered in the community's language)."""
        message = OutgoingMessage(chat_id=chat_id, text=text, buttons=buttons)
        return await outbox.enqueue(conn, message, now=self.clock.now(), dedupe_key=dedupe_key)

    async def to_coordinators(
        self,
        conn: AsyncConnection,
        render: Render,
        *,
        buttons: RenderButtons | None = None,
        dedupe_prefix: str | None = None,
    ) -> int:
        ids = await users_repo.user_ids_with_role(conn, Role.COORDINATOR)
        coordinators = await users_repo.get_users(conn, ids)
        return await self.to_users(
            conn, coordinators, render, buttons=buttons, dedupe_prefix=dedupe_prefix
        )
