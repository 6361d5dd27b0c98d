"""/news: the announcements archive. Anyone registered reads back the announcements that
reached their chat, newest first, a page at a time, and opens a long one in full."""

from __future__ import annotations

import html
import re

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import Translate, format_local
from bot.models import User
from bot.services.broadcast import NewsItem
from handlers.broadcast.views import announcement
from handlers.broadcast.views import heading as announcement_heading
from handlers.buttons import Button, button
from handlers.common import ack, answer, clipped
from handlers.context import LinliContext
from handlers.dialogue import Next, step
from handlers.notices import ViewEnv

PREVIEW_MAX = 500  # characters of each announcement on a page (five fit in one message)
_TAG = re.compile(r"<[^>]*>")


@button("news:p")
class NewsPageButton(Button):
    page: int


@button("news:o")
class OpenNews(Button):
    broadcast_id: int


def _when(env: ViewEnv, item: NewsItem) -> str:
    return format_local(
        item.received.received_at, env.language, env.services.settings.zone, with_year=True
    )


def _media(t: Translate, item: NewsItem) -> list[str]:
    broadcast = item.received.broadcast
    lines = []
    if broadcast.photo_file_id:
        lines.append(t("📷 With a photo."))
    if broadcast.document_file_id:
        lines.append(t("📎 With a file."))
    return lines


def _preview(env: ViewEnv, item: NewsItem) -> tuple[str, bool]:
    """One announcement on a page: its time, its heading, its text cut short (as plain text,
    escaped again: cutting the coordinator's HTML could break a tag); whether it was cut."""
    t, broadcast = env.t, item.received.broadcast
    heading = announcement_heading(t, broadcast, item.sender)
    plain = html.unescape(_TAG.sub("", broadcast.text or "")).strip()
    # An announcement whose body is data (a monthly digest) is listed by its heading alone.
    cut = len(plain) > PREVIEW_MAX or broadcast.content_kind is not None
    body = clipped(plain, PREVIEW_MAX)
    lines = [f"<i>{_when(env, item)}</i>", heading]
    if body:
        lines.append(body)
    return "\n".join(lines + _media(t, item)), cut


@step()
async def show_news(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """A page of the reader's announcements (the first, or the one the pressed button asks)."""
    pressed = update.callback_query is not None
    page_number = NewsPageButton.of(update).page if pressed else 0
    page = await context.services.broadcasts.received(user, page_number)
    await ack(update)
    if not page.items:
        await answer(
            update,
            t(
                "There are no announcements for you yet. When the community sends one, you can "
                "read it here again."
            )
            if page.page == 0
            else t("There are no more announcements."),
        )
        return None
    env = ViewEnv(context.services, user.language)
    parts = [t("<b>📰 Community announcements</b> (page {page})").format(page=page.page + 1)]
    rows: list[list[tuple[str, str]]] = []
    for item in page.items:
        text, cut = _preview(env, item)
        parts.append(text)
        if cut:
            label = t("Read in full: {when}").format(when=_when(env, item))
            rows.append([(label, OpenNews(broadcast_id=item.received.broadcast.id).pack())])
    paging = []
    if page.page > 0:
        paging.append((t("‹ Newer"), NewsPageButton(page=page.page - 1).pack()))
    if page.more:
        paging.append((t("Older ›"), NewsPageButton(page=page.page + 1).pack()))
    if paging:
        rows.append(paging)
    await answer(update, "\n\n".join(parts), rows, edit=pressed)
    return None


@step()
async def open_news(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """One announcement in full, as it was sent (only one that reached the reader)."""
    broadcast_id = OpenNews.of(update).broadcast_id
    item = await context.services.broadcasts.received_one(user, broadcast_id)
    await ack(update)
    env = ViewEnv(context.services, user.language)
    shown = announcement(t, item.received.broadcast, item.sender)
    text = "\n".join([f"<i>{_when(env, item)}</i>", shown.text, *_media(t, item)])
    await answer(update, text)
    return None


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("news", show_news, filters=private),
        CallbackQueryHandler(show_news, pattern=NewsPageButton.pattern()),
        CallbackQueryHandler(open_news, pattern=OpenNews.pattern()),
    ]
