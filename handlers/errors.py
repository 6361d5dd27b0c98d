"""The one error handler: log with the update, tell the user nothing changed, alert coordinators
(at most once per 10 minutes)."""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.error import Forbidden, NetworkError

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
    user_id = (
        update.effective_user.id if isinstance(update, Update) and update.effective_user else None
    )
    log.error("update failed user_id=%s", user_id, exc_info=error)
    if isinstance(error, (Forbidden, NetworkError)):
        return
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            _, t = await viewer(update, context)
            text = t(
                "Sorry, something went wrong on our side. Nothing was changed; "
                "please try again in a moment."
            )
            if update.callback_query is not None:
                await ack(update, text, alert=True)
            else:
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


@notice_view(ErrorAlert)
async def error_alert(notice: ErrorAlert, env: ViewEnv) -> Shown:
    return Shown(
        env.t("Linli hit an error: {error}. Details are in the log.").format(
            error=esc(notice.error)
        )
    )
