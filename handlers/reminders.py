"""How a reminder of the built-in kind reads: its message in the reader's language, values
escaped, and a note with the time it was due when it arrives late."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import Translate, esc, format_local
from bot.services.reminders import ReminderNotice
from handlers.notices import Shown, ViewEnv, notice_view


def late_note(t: Translate, due_at: datetime, language: str, env: ViewEnv) -> str:
    """The line added to a reminder that is sent after its time."""
    return t("(This reminder is late: it was due {when}.)").format(
        when=format_local(due_at, language, env.services.settings.zone)
    )


@notice_view(ReminderNotice)
async def reminder(notice: ReminderNotice, env: ViewEnv) -> Shown:
    t = env.t
    values = {k: esc(v) for k, v in notice.values.items()}
    body = t(notice.text).format(**values) if values else t(notice.text)
    if notice.late_since is not None:
        body += "\n\n" + late_note(t, notice.late_since, env.language, env)
    return Shown(body)
