"""The one place where Linli is assembled: settings → store → services → handlers → jobs."""

from __future__ import annotations

import asyncio
import logging
import signal
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

from telegram import BotCommand, BotCommandScopeDefault, Update
from telegram.ext import ApplicationBuilder, ContextTypes
from telegram.warnings import PTBUserWarning

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.i18n import LANGUAGES, translator
from bot.models import Role
from bot.runtime.ordering import InOrderPerPerson
from bot.runtime.persistence import StorePersistence, share_dialogues
from bot.runtime.scheduler import lease_of, start_delivery, stop_delivery
from bot.services import Services
from handlers import (
    admin,
    broadcast,
    digest,
    errors,
    help,
    home,
    membership,
    membership_views,
    news,
    notices,
    passbook,
    presence,
    profile,
    quarter,
    reminders,
    start,
    teams,
    wishes,
)
from handlers.broadcast import views as broadcast_views
from handlers.commands import commands_for
from handlers.context import LinliApplication, LinliContext
from handlers.digest import views as digest_views
from handlers.passbook import views as passbook_views
from handlers.patrol import admin as patrol_admin
from handlers.patrol import findings as patrol_findings
from handlers.patrol import findings_views as patrol_findings_views
from handlers.patrol import member as patrol_member
from handlers.patrol import views as patrol_views
from handlers.stats import screens as stats_screens
from handlers.study import admin as study_admin
from handlers.study import qr as study_qr
from handlers.study import sessions as study_sessions
from handlers.study import views as study_views
from handlers.suggestions import admin as suggestions_admin
from handlers.suggestions import leave as suggestions_leave
from handlers.suggestions import views as suggestions_views
from handlers.twinning import households as twinning_households
from handlers.twinning import twins
from handlers.twinning import views as twinning_views
from handlers.wishes import notices as wish_notices
from handlers.wishes import views as wish_views
from storage.store import Store

log = logging.getLogger(__name__)

Hook = Callable[[LinliApplication], Awaitable[None]]

# Feature modules; their order does not decide which dialogue gets typed text (the dialogue
# kit's rule does: the one the user moved on last, see handlers/dialogue.py). The fallbacks for
# whatever no feature took are added after them.
FEATURES = (
    start,
    wishes,
    teams,
    profile,
    membership,
    admin,
    passbook,
    twinning_households,
    twins,
    patrol_admin,
    patrol_member,
    patrol_findings,
    study_admin,
    study_sessions,
    suggestions_leave,
    suggestions_admin,
    digest,
    broadcast,
    news,
    quarter,
    stats_screens,
    presence,
    help,
)
# The views that render what services record for later (notices, live messages), per feature.
VIEWS = (
    wish_notices,
    wish_views,
    membership_views,
    broadcast_views,
    passbook_views,
    twinning_views,
    patrol_views,
    patrol_findings_views,
    study_views,
    suggestions_views,
    digest_views,
    quarter,
    reminders,
    errors,
)


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
        .persistence(StorePersistence(services.store, refreshed=settings.shared_updates))
        .concurrent_updates(InOrderPerPerson())
        .build()
    )
    assert isinstance(app, LinliApplication)
    share_dialogues(app)
    app.add_handlers(home.keeping_handlers(), group=-3)
    app.add_handlers(home.handlers(), group=-2)
    app.add_handler(help.ignore_edits(), group=-1)
    app.add_handlers(study_qr.handlers(), group=-1)  # a scanned check-in link, before /start
    app.add_handlers(home.card_handlers())
    for feature in FEATURES:
        app.add_handlers(feature.handlers())
    app.add_handlers(help.fallback_handlers())
    app.add_handlers(home.keyboard_handlers(), group=1)
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
SHUTDOWN: list[Hook] = [stats_screens.stop_exports, stop_delivery]
WEBHOOK_PATH = "telegram"


class StartupFailed(Exception):
    """The bot could not start; whatever had been started is stopped again. ``step`` says what
    was being started; the error itself is ``__cause__``."""

    def __init__(self, step: str, error: BaseException) -> None:
        super().__init__(f"{step}: {error}")
        self.step = step
        self.error = error


async def start_updates(app: LinliApplication, *, poll_timeout: int, poll_interval: float) -> None:
    """Receive updates: long polling, or a webhook server when WEBHOOK_URL is set (Telegram's
    calls without the secret header get 403 from python-telegram-bot)."""
    settings = app.services.settings
    assert app.updater is not None
    if settings.webhook_url:
        assert settings.webhook_secret is not None  # the settings refuse a webhook without one
        await app.updater.start_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=WEBHOOK_PATH,
            webhook_url=settings.webhook_url.rstrip("/") + "/" + WEBHOOK_PATH,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=WANTED_UPDATES,
        )
    else:
        await app.updater.start_polling(
            poll_interval=poll_interval, timeout=poll_timeout, allowed_updates=WANTED_UPDATES
        )


async def stop_updates(app: LinliApplication) -> None:
    if app.updater is not None and app.updater.running:
        await app.updater.stop()


async def _take_updates(app: LinliApplication, receive: Callable[[], Awaitable[None]]) -> None:
    if isinstance(app.persistence, StorePersistence):
        app.persistence.refreshed = True
    await receive()


def _receiving(settings: Settings) -> str:
    if settings.webhook_url:
        return f"starting the webhook server on {settings.webhook_listen}:{settings.webhook_port}"
    return "starting long polling"


async def wind_down(app: LinliApplication) -> list[BaseException]:
    """Stop whatever runs, in the order of a normal stop: updates in, the sweep and the sender,
    the handlers, then the Application's resources. Every step runs even when one before it
    failed; the errors are returned (a start-up failure must not be masked by them)."""

    async def stop_application() -> None:
        if app.running:
            await app.stop()

    steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("updates", partial(stop_updates, app))
    ]
    steps += [(hook.__name__, partial(hook, app)) for hook in SHUTDOWN]
    steps += [("application", stop_application), ("shutdown", app.shutdown)]
    errors: list[BaseException] = []
    for name, step in steps:
        try:
            await step()
        except Exception as exc:
            log.warning("stopping %s failed: %r", name, exc)
            errors.append(exc)
    return errors


@asynccontextmanager
async def running(
    app: LinliApplication, *, poll_timeout: int = 10, poll_interval: float = 0.0
) -> AsyncIterator[LinliApplication]:
    """Run the bot (long polling, or a webhook when configured) until the block ends.

    When start-up fails, what was started is stopped again and :class:`StartupFailed` carries
    the real error (not python-telegram-bot's "This Application is still running!")."""
    settings = app.services.settings
    step = "connecting to the Bot API"
    try:
        await app.initialize()
        for hook in STARTUP:
            step = f"the start-up step {hook.__name__}"
            await hook(app)
        step = "starting the application"
        await app.start()
        step = _receiving(settings)
        receive = partial(
            start_updates, app, poll_timeout=poll_timeout, poll_interval=poll_interval
        )
        work = lease_of(app)
        if work is None or work.held or settings.shared_updates:
            await receive()
        if work is not None and not settings.shared_updates:
            # Updates follow the lease: only its holder takes them. One that takes over
            # re-reads dialogues from then on: what it loaded at its start is older.
            work.on_gain = partial(_take_updates, app, receive)
            work.on_loss = partial(stop_updates, app)
    except Exception as exc:
        await wind_down(app)
        raise StartupFailed(step, exc) from exc
    except BaseException:
        await wind_down(app)
        raise
    try:
        yield app
    except BaseException:
        await wind_down(app)
        raise
    errors = await wind_down(app)
    if errors:
        raise errors[0]


async def open_services(settings: Settings, clock: Clock | None = None) -> Services:
    store = await Store.open(settings.database_url)
    try:
        return await Services.build(settings, store, clock or SystemClock())
    except BaseException:
        await store.close()  # a failed start leaves the database unlocked
        raise


async def serve(settings: Settings) -> None:
    """Start everything and run until SIGINT or SIGTERM. A failure to start raises
    :class:`StartupFailed` once everything started before it is stopped again."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        services = await open_services(settings)
    except Exception as exc:
        raise StartupFailed("opening the database", exc) from exc
    try:
        app = build_application(services)
        async with running(app):
            me = app.bot.username
            log.info("Linli is running as @%s", me)
            await stop.wait()
            log.info("stopping")
    finally:
        await services.store.close()
