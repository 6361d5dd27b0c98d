"""A bare python-telegram-bot bot that answers every update with one fixed message: the
yardstick the claim path is measured against (bench/claims.py). Run as
`python -m bench.echo_bot`, configured through the environment like Linli's own process:
TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL, ECHO_REPLY (HTML) and ECHO_MARKUP (the inline
keyboard, as Bot API JSON; optional)."""

from __future__ import annotations

import json
import os

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, MessageHandler, filters


def main() -> None:
    reply = os.environ["ECHO_REPLY"]
    markup = os.environ.get("ECHO_MARKUP")
    buttons = InlineKeyboardMarkup.de_json(json.loads(markup), None) if markup else None

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await update.effective_chat.send_message(
            reply, parse_mode=ParseMode.HTML, reply_markup=buttons
        )

    app = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_API_BASE_URL"])
        .build()
    )
    app.add_handler(MessageHandler(filters.ALL, echo))
    app.run_polling(poll_interval=0, timeout=1)


if __name__ == "__main__":
    main()
