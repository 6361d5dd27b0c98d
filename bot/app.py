"""The one place where Linli is assembled: settings → store → services → handlers → jobs."""

from __future__ import annotations

import asyncio
import logging
import signal
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from telegram import BotCommand, BotCommandScopeDefault, Update
from telegram.ext import ApplicationBuilder, ContextTypes
from telegram.warnings import PTBUserWarning

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.i18n import LANGUAGES, translator
from bot.models import Role
from bot.runtime.persistence import StorePersistence
from bot.runtime.scheduler import start_delivery, stop_delivery
from bot.services import Services
from handlers import (
    admin,
    broadcast,
    errors,
    help,
    membership,
    membership_views,
    notices,
    presence,
    profile,
    reminders,
    start,
    teams,
    wishes,
)
from handlers.broadcast import views as broadcast_views
from handlers.commands import commands_for
from handlers.context import LinliApplication, LinliContext
from handlers.wishes import notices as wish_notices
from handlers.wishes import views as wish_views
from storage.store import Store

log = logging.getLogger(__name__)

Hook = Callable[[LinliApplication], Awaitable[None]]

# Feature modules; their order does not decide which dialogue gets typed text (the dialogue
# kit's rule does: the one the user moved on last, see handlers/dialogue.py). The fallbacks for
# whatever no feature took are added after them.
FEATURES = (start, wishes, teams, profile, membership, admin, broadcast, presence, help)
# The views that render what services record for later (notices, live messages), per feature.
VIEWS = (wish_notices, wish_views, membership_views, broadcast_views, reminders, errors)


def build_application(services: Services) -> LinliApplication:
    """The python-telegram-bot Application with Linli's handlers, persistence and services."""
    settings = services.settings
    notices.require_views(VIEWS)
    # Our dialogues mix buttons and typed answers on purpose (per-user, not per-message).
    warnings.filterwarnings("ignore", message=".*per_message=False", category=PTBUserWarning)
    app = (
        ApplicationBuilder()
        .application_class(LinliApplication, kwargs={"services": services})
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_file_url)
        .context_types(ContextTypes(context=LinliContext))
        .persistence(StorePersistence(services.store))
        .build()
    )
    assert isinstance(app, LinliApplication)
    app.add_handler(help.ignore_edits(), group=-1)
    for feature in FEATURES:
        app.add_handlers(feature.handlers())
    app.add_handlers(help.fallback_handlers())
    app.add_error_handler(errors.on_error)
    return app


async def set_command_menus(app: LinliApplication) -> None:
    """The command menu in each language (residents' commands; /help shows the rest)."""
    default = app.services.settings.default_language
    for language in LANGUAGES:
        t = translator(language)
        commands = [
            BotCommand(c.name, t(c.description)) for c in commands_for(frozenset({Role.RESIDENT}))
        ]
        await app.bot.set_my_commands(
            commands, scope=BotCommandScopeDefault(), language_code=language
        )
        if language == default:
            await app.bot.set_my_commands(commands, scope=BotCommandScopeDefault())


# Edits of old messages are not asked for: a dialogue step waits for a new answer.
WANTED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]

STARTUP: list[Hook] = [set_command_menus, start_delivery]
SHUTDOWN: list[Hook] = [stop_delivery]


@asynccontextmanager
async def running(
    app: LinliApplication, *, poll_timeout: int = 10, poll_interval: float = 0.0
) -> AsyncIterator[LinliApplication]:
    """Run the bot (long polling, or a webhook when configured) until the block ends."""
    settings = app.services.settings
    async with app:
        for hook in STARTUP:
            await hook(app)
        await app.start()
        assert app.updater is not None
        if settings.webhook_url:
            secret = (
                settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
            )
            await app.updater.start_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path="telegram",
                webhook_url=settings.webhook_url.rstrip("/") + "/telegram",
                secret_token=secret,
                allowed_updates=WANTED_UPDATES,
            )
        else:
            await app.updater.start_polling(
                poll_interval=poll_interval,
                timeout=poll_timeout,
                allowed_updates=WANTED_UPDATES,
            )
        try:
            yield app
        finally:
            await app.updater.stop()
            for hook in SHUTDOWN:
                await hook(app)
            await app.stop()


async def open_services(settings: Settings, clock: Clock | None = None) -> Services:
    store = await Store.open(settings.database_url)
    return await Services.build(settings, store, clock or SystemClock())


async def serve(settings: Settings) -> None:
    """Start everything and run until SIGINT or SIGTERM."""
    services = await open_services(settings)
    app = build_application(services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running(app):
            me = app.bot.username
            log.info("Linli is running as @%s", me)
            await stop.wait()
            log.info("stopping")
    finally:
        await services.store.close()
