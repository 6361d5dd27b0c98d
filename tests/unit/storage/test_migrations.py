"""Migrating a database that is in use: the release before this one left rows (a broadcast
half sent, its outbox rows referencing it); the new migrations keep them and they still send."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

import bot.app  # noqa: F401  (every feature's views, for rendering)
from bot.clock import ManualClock
from bot.services import Services
from handlers.notices import Send, render
from storage import outbox as outbox_repo
from storage.migrate import alembic_config
from storage.store import Store
from tests.conftest import DAYTIME, make_settings


async def test_a_database_of_the_previous_release_upgrades_with_its_waiting_messages(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    store = await Store.open(settings.database_url, migrate=False)
    async with store.engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0002"))
        await conn.execute(
            text(
                "INSERT INTO users (id, display_name, language, announcements, quiet_start,"
                " quiet_end, unreachable, registered_at) VALUES"
                " (9001, 'Li', 'zh', TRUE, 1320, 420, FALSE, '2026-11-25 02:00:00.000000')"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO broadcasts (id, created_by, audience, text, urgent, status,"
                " created_at) VALUES (1, 9001, 'everyone', 'hello', FALSE, 'sending',"
                " '2026-11-25 02:00:00.000000')"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO outbox (chat_id, text, parse_mode, status, attempts, not_before,"
                " broadcast_id, created_at) VALUES (9001, '📢 hello', 'HTML', 'pending', 0,"
                " '2026-11-25 02:00:00.000000', 1, '2026-11-25 02:00:00.000000')"
            )
        )

    try:
        await store.migrate()  # what `linli run` does at start

        services = await Services.build(settings, store, ManualClock(DAYTIME))
        async with store.read() as conn:
            (row,) = await outbox_repo.rows_for_chat(conn, 9001)
            version = (
                await conn.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar()
        assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert row.kind is None
        li = await services.users.require(9001)  # from before communities: of the first one
        assert li.community_id == services.default_community_id
        action = await render(services, row, 9001)  # a row queued already rendered: sent as it is
        assert isinstance(action, Send) and action.message.text == "📢 hello"
    finally:  # a failed check must not leave the file open for the next test to trip on
        await store.close()
