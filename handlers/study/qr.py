"""The check-in code's second way: a QR picture of a link into the bot that checks the
scanner in (`/start attend_<session>_<code>`), for members who would rather point their
phone's camera at the coordinator's screen than type four digits. The link carries the same
code and goes through the same check-in as the typed one (window, audience, wrong tries);
segno (a kept, typed library) draws the picture."""

from __future__ import annotations

import io
import re

import segno
from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, CommandHandler, filters

from bot.i18n import Translate, esc
from bot.models import User
from bot.services.errors import LinliError
from handlers.common import refuse
from handlers.context import LinliContext
from handlers.dialogue import Next, step
from handlers.study.sessions import checked_in

PREFIX = "attend"
_PAYLOAD = re.compile(rf"^{PREFIX}_(\d{{1,9}})_(\d{{1,8}})$")


def check_in_link(bot_username: str, slot_id: int, code: str) -> str:
    return f"https://t.me/{bot_username}?start={PREFIX}_{slot_id}_{code}"


def qr_png(link: str) -> bytes:
    """The link as a PNG QR code, large enough to scan from a phone's screen."""
    picture = io.BytesIO()
    segno.make(link, error="m").save(picture, kind="png", scale=10, border=4)
    return picture.getvalue()


def payload_of(args: list[str] | None) -> tuple[int, str] | None:
    """(session, code) from /start's argument, when it is a check-in link."""
    match = _PAYLOAD.match(args[0]) if args and len(args) == 1 else None
    return (int(match.group(1)), match.group(2)) if match else None


@step(None)
async def attend_by_link(
    update: Update, context: LinliContext, user: User | None, t: Translate
) -> Next:
    """A scanned check-in link. Someone not registered yet goes on to /start's onboarding
    (they check in by scanning again once registered); anyone else is checked in, or told
    why not, and /start's welcome is skipped."""
    found = payload_of(context.args)
    if found is None or user is None:
        return None
    slot_id, code = found
    study = context.services.study
    try:
        _signup, points = await study.check_in(user, slot_id, code)
        session = await study.session(user, slot_id)
        await checked_in(update, t, esc(session.title), points)
    except LinliError as error:
        await refuse(update, t, error)
    raise ApplicationHandlerStop  # checked in or refused: /start's welcome is not wanted


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    """Before /start's own handler (a group of its own: see bot/app.py)."""
    link = filters.Regex(rf"^/start {PREFIX}_\d+_\d+$")
    return [CommandHandler("start", attend_by_link, filters=filters.ChatType.PRIVATE & link)]
