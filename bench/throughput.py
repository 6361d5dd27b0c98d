"""Update handling: the full Linli bot against a bare python-telegram-bot echo bot.

Both run the real Application with long polling against the same fake Bot API on loopback;
each update gets one reply of the same text (Linli's /help answer, HTML), so the fake server's
work per reply is equal and the difference is Linli's own: user lookup, dialogue routing,
persistence, translation. Target: on reads Linli keeps at least the echo bot's rate (docs/
quality.md lists the project's targets).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from bot.app import build_application, open_services, running
from bot.config import Settings
from bot.i18n import translator
from handlers.home import help_card
from tests.support.fake_bot_api import FakeBotApi

USERS = 200
MESSAGES_PER_USER = 10
TOKEN = "123456:BENCH"


async def _queue_messages(fake: FakeBotApi, text: str) -> int:
    users = [fake.user(10_000 + i, first_name=f"U{i}", language_code="en") for i in range(USERS)]
    for _ in range(MESSAGES_PER_USER):
        for user in users:
            await user.send(text)
    return USERS * MESSAGES_PER_USER


async def _wait_replies(fake: FakeBotApi, expected: int) -> None:
    while len(fake.messages) < expected:  # a length check: the waiting must cost nothing
        await asyncio.sleep(0.02)


async def echo_rate() -> float:
    # The same answer Linli gives a newcomer's /help: the card's text and its buttons.
    text, rows = help_card(translator("en"), None)
    markup = (
        InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=d) for label, d in row] for row in rows]
        )
        if rows
        else None
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await update.effective_chat.send_message(
            text, parse_mode=ParseMode.HTML, reply_markup=markup
        )

    async with FakeBotApi() as fake:
        app = (
            Application.builder()
            .token(TOKEN)
            .base_url(fake.base_url)
            .base_file_url(fake.base_file_url)
            .build()
        )
        app.add_handler(MessageHandler(filters.ALL, echo))
        total = await _queue_messages(fake, "/help")
        async with app:
            await app.start()
            assert app.updater is not None
            started = time.perf_counter()
            await app.updater.start_polling(poll_interval=0, timeout=1)
            await _wait_replies(fake, total)
            elapsed = time.perf_counter() - started
            await app.updater.stop()
            await app.stop()
    return total / elapsed


async def linli_rate(database_url: str | None = None) -> float:
    """Linli's rate on a SQLite file (or on `database_url`, an empty PostgreSQL database)."""
    with tempfile.TemporaryDirectory() as folder:
        async with FakeBotApi() as fake:
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None,
                telegram_bot_token=TOKEN,
                telegram_api_base_url=fake.base_url,
                telegram_api_file_url=fake.base_file_url,
                database_url=database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}",
            )
            services = await open_services(settings)
            # Unregistered senders: /help answers exactly the text the echo bot sends.
            app = build_application(services)
            total = await _queue_messages(fake, "/help")
            async with running(app, poll_timeout=1):
                started = time.perf_counter()
                await _wait_replies(fake, total)
                elapsed = time.perf_counter() - started
            await services.store.close()
    return total / elapsed


async def main(postgresql_url: str | None = None) -> None:
    echo = await echo_rate()
    linli = await linli_rate()
    total = USERS * MESSAGES_PER_USER
    print(f"update handling ({total} updates, one reply each, fake Bot API on loopback)")
    print(f"  bare PTB bot      : {echo:8.1f} updates/s")
    print(f"  Linli (/help)     : {linli:8.1f} updates/s  on SQLite")
    print(f"  ratio             : {linli / echo:8.2f}   (target >= 0.70)")
    if postgresql_url is not None:
        on_pg = await linli_rate(postgresql_url)
        print(f"  Linli (/help)     : {on_pg:8.1f} updates/s  on PostgreSQL 18 (local socket)")
        print(f"  ratio             : {on_pg / echo:8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
