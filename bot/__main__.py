"""The command line: `linli run` (default), `linli migrate`, `linli backup FILE`."""

from __future__ import annotations

import argparse
import asyncio
import logging

from bot.config import Settings, load_settings


class RedactToken(logging.Filter):
    """Never let the bot token reach a log line (URLs of Bot API calls contain it)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token and self.token in message:
            record.msg = message.replace(self.token, "<token>")
            record.args = None
        return True


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    token_filter = RedactToken(settings.telegram_bot_token.get_secret_value())
    for handler in logging.getLogger().handlers:
        handler.addFilter(token_filter)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


async def _migrate(settings: Settings) -> None:
    from storage.store import Store

    store = await Store.open(settings.database_url)
    await store.close()
    print("database is up to date")


async def _backup(settings: Settings, target: str) -> None:
    from storage.store import Store

    store = await Store.open(settings.database_url)
    try:
        await store.backup(target)
    finally:
        await store.close()
    print(f"backup written to {target}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="linli", description="Linli community-service bot")
    parser.add_argument("command", nargs="?", default="run", choices=["run", "migrate", "backup"])
    parser.add_argument("target", nargs="?", help="backup: the file to write")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging(settings)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        return
    if args.command == "backup":
        if not args.target:
            parser.error("backup needs a target file, e.g. linli backup backup.db")
        asyncio.run(_backup(settings, args.target))
        return
    from bot.app import serve

    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
