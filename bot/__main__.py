"""The command line: `linli run` (default), `linli migrate`, `linli backup FILE`,
`linli migrate-data --from URL --to URL`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import traceback

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


async def _migrate_data(source: str, target: str) -> None:
    from storage.copy import CannotCopy, copy_data

    try:
        report = await copy_data(source, target)
    except CannotCopy as error:
        sys.stderr.write(f"linli: {error}\n")
        raise SystemExit(2) from None
    for table in report.tables:
        print(f"{table.name:<24} {table.rows:>9} rows  sha256 {table.checksum[:16]}")
    print(f"copied {report.rows} rows; every table's count and checksum match on both sides")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="linli", description="Linli community-service bot")
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=["run", "migrate", "backup", "migrate-data"],
    )
    parser.add_argument("target", nargs="?", help="backup: the file to write")
    parser.add_argument("--from", dest="source", help="migrate-data: the database to copy")
    parser.add_argument("--to", dest="destination", help="migrate-data: an empty database")
    args = parser.parse_args(argv)
    if args.command == "migrate-data":  # needs no token: only the two databases
        if not args.source or not args.destination:
            parser.error("migrate-data needs --from URL and --to URL")
        logging.basicConfig(level=logging.WARNING)
        asyncio.run(_migrate_data(args.source, args.destination))
        return
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
    from telegram.error import InvalidToken

    from bot.app import StartupFailed, serve

    token = settings.telegram_bot_token.get_secret_value()
    try:
        asyncio.run(serve(settings))
    except StartupFailed as failed:
        # Everything started before the failure is stopped again by now.
        if isinstance(failed.error, InvalidToken):
            # PTB's message quotes the token; a 404 from a wrong base URL raises it too.
            sys.stderr.write(
                "linli: Telegram did not accept TELEGRAM_BOT_TOKEN (or TELEGRAM_API_BASE_URL "
                "does not point at a Bot API server). Check both in .env.\n"
            )
        else:
            error = failed.error
            said = " ".join(f"{type(error).__name__}: {error}".split())
            line = f"linli: could not start ({failed.step}): {said}\n"
            sys.stderr.write(line.replace(token, "<token>"))
        raise SystemExit(2) from None
    except Exception:
        # An uncaught error prints its traceback past the log filters: redact it here.
        sys.stderr.write(traceback.format_exc().replace(token, "<token>"))
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
