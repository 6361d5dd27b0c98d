"""The one error handler: log with the update, tell the user nothing changed, alert coordinators
(at most once per 10 minutes). Only a blocked bot and the network are not our bugs; Telegram
refusing a request we made (BadRequest, a NetworkError in PTB's tree) is one."""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError

from bot.i18n import esc
from bot.services.errors import LinliError
from bot.services.notify import ErrorAlert
from handlers.common import ack, answer, refuse, viewer
from handlers.context import LinliContext
from handlers.notices import Shown, ViewEnv, notice_view

log = logging.getLogger(__name__)
ALERT_EVERY_SECONDS = 600.0


class ErrorAlerts:
    """Remembers when coordinators were last alerted."""

    def __init__(self) -> None:
        self.last_alert = float("-inf")

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last_alert < ALERT_EVERY_SECONDS:
            return False
        self.last_alert = now
        return True


async def on_error(update: object, context: LinliContext) -> None:
    error = context.error
    if isinstance(update, Update) and isinstance(error, LinliError):
        # A refusal that escaped a handler: still the user's answer, not a crash.
        _, t = await viewer(update, context)
        await refuse(update, t, error)
        return
    if isinstance(error, Forbidden) or (
        isinstance(error, NetworkError) and not isinstance(error, BadRequest)
    ):
        # The user blocked the bot, or Telegram could not be reached: nothing to fix here.
        log.warning("update not answered %s: %r", _where(update), error)
        return
    log.error("update failed %s", _where(update), exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            _, t = await viewer(update, context)
            text = t(
                "Sorry, something went wrong on our side. Nothing was changed; "
                "please try again in a moment."
            )
            # A press answered before the failure cannot be answered again: say it in the chat.
            if not await ack(update, text, alert=True):
                await answer(update, text)
        except Exception:  # the store itself may be what failed
            log.exception("could not tell the user about the failure")
    alerts: ErrorAlerts = context.application.bot_data.setdefault("error_alerts", ErrorAlerts())
    if alerts.due():
        try:
            services = context.services
            async with services.store.transaction() as conn:
                await services.notifier.tell_coordinators(
                    conn, ErrorAlert(error=type(error).__name__)
                )
            services.notifier.wake()
        except Exception:
            log.exception("could not alert coordinators")


def _where(update: object) -> str:
    """Which update failed and what it asked for: the button's data or the command (never the
    text someone typed: it may hold a phone number)."""
    if not isinstance(update, Update):
        return f"update={update!r}"
    user = update.effective_user
    chat = update.effective_chat
    if update.callback_query is not None:
        asked = f"button={update.callback_query.data!r}"
    elif update.effective_message is not None and (update.effective_message.text or "")[:1] == "/":
        asked = f"command={(update.effective_message.text or '').split()[0]!r}"
    else:
        asked = "message" if update.effective_message is not None else "other"
    return (
        f"update_id={update.update_id} user_id={user.id if user else None} "
        f"chat_id={chat.id if chat else None} {asked}"
    )


@notice_view(ErrorAlert)
async def error_alert(notice: ErrorAlert, env: ViewEnv) -> Shown:
    return Shown(
        env.t("Linli hit an error: {error}. Details are in the log.").format(
            error=esc(notice.error)
        )
    )
