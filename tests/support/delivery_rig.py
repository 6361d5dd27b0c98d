"""The real bot as a subprocess (`python -m bot run`) against the fake Bot API, for the
crash test and the benchmark: prepare a broadcast in a fresh database, start, SIGKILL,
restart, and count what every recipient got."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bot.clock import SystemClock
from bot.models import AudienceKind, OutboxStatus
from bot.services import Services
from storage import outbox as outbox_repo
from storage import users as users_repo
from storage.schema import outbox
from storage.store import Store
from tests.conftest import COORDINATOR_ID, make_settings
from tests.support.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST-TOKEN"


@dataclass
class Prepared:
    database_url: str
    broadcast_id: int
    recipients: list[int]


ANNOUNCEMENT = "社区通知：周六上午大扫除"


async def prepare_broadcast(
    folder: Path,
    fake: FakeBotApi,
    count: int,
    *,
    first_id: int = 1_000_000,
    text: str = ANNOUNCEMENT,
    database_url: str | None = None,
) -> Prepared:
    """A database with `count` residents and one broadcast of `text` (which must contain
    ANNOUNCEMENT, by which copies are counted) to all of them already queued (as if a
    coordinator had pressed "Send now"); the fake knows every recipient."""
    settings = make_settings(folder, telegram_api_base_url=fake.base_url)
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    store = await Store.open(settings.database_url)
    try:
        services = await Services.build(settings, store, SystemClock())
        now = services.clock.now()
        recipients = list(range(first_id, first_id + count))
        async with store.transaction() as conn:
            for uid in recipients:
                await users_repo.insert_user(
                    conn,
                    user_id=uid,
                    display_name=f"R{uid}",
                    language="zh",
                    building_id=None,
                    room=None,
                    phone=None,
                    now=now,
                    community_id=services.default_community_id,
                )
        li = await services.users.register(
            COORDINATOR_ID, display_name="Li", language="zh", building_id=None
        )
        assert ANNOUNCEMENT in text
        draft = await services.broadcasts.create_draft(li, text=text)
        await services.broadcasts.choose_audience(li, draft.broadcast.id, AudienceKind.RESIDENTS)
        queued = await services.broadcasts.send_now(li, draft.broadcast.id)
        assert queued == count
    finally:
        await store.close()
    for uid in recipients:
        fake.user(uid)
    fake.user(COORDINATOR_ID)
    return Prepared(settings.database_url, draft.broadcast.id, recipients)


class BotProcess:
    """`python -m bot run` in a subprocess, configured through the environment."""

    def __init__(
        self,
        fake: FakeBotApi,
        database_url: str,
        folder: Path,
        *,
        command: Sequence[str] = ("-m", "bot", "run"),
        **settings: object,
    ):
        self.fake = fake
        self.folder = folder
        self.command = list(command)  # another program configured the same way (a yardstick)
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_API_FILE_URL": fake.base_file_url,
            "DATABASE_URL": database_url,
            "COORDINATOR_IDS": str(COORDINATOR_ID),
            "LOG_LEVEL": "WARNING",
            "SWEEP_INTERVAL_SECONDS": "2",
            "PYTHONPATH": str(ROOT),
            **{key.upper(): str(value) for key, value in settings.items()},
        }
        self.process: asyncio.subprocess.Process | None = None
        self.runs = 0

    async def start(self) -> None:
        self.runs += 1
        log = (self.folder / f"bot-{self.runs}.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.command,
            cwd=self.folder,
            env=self.env,
            stdout=log,
            stderr=log,
        )
        log.close()

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: the graceful stop."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout)

    def log(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(self.folder.glob("bot-*.log"))
        )


def broadcast_sends(fake: FakeBotApi, prepared: Prepared) -> list[float]:
    """Arrival times of the broadcast's successful sends, as the fake saw them."""
    wanted = set(prepared.recipients)
    return [
        call.at
        for call in fake.calls_to("sendMessage")
        if call.ok and call.params.get("chat_id") in wanted
    ]


def tally(fake: FakeBotApi, prepared: Prepared) -> tuple[int, int]:
    """(recipients without a copy, copies beyond the first)."""
    got = copies(fake, prepared.recipients)
    lost = sum(1 for uid in prepared.recipients if got[uid] == 0)
    duplicated = sum(n - 1 for n in got.values() if n > 1)
    return lost, duplicated


def copies(fake: FakeBotApi, recipients: list[int]) -> Counter[int]:
    """How many copies of the broadcast each recipient got."""
    counted: Counter[int] = Counter()
    for uid in recipients:
        counted[uid] = sum(1 for m in fake.sent_to(uid) if m.text and ANNOUNCEMENT in m.text)
    return counted


async def wait_for_sends(fake: FakeBotApi, at_least: int, timeout: float) -> None:
    """Until the bot has sent `at_least` messages (cheap to poll: the fake's server shares
    this event loop, and a slow poll would skew its clock)."""
    deadline = time.monotonic() + timeout
    while len(fake.messages) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {at_least} messages sent in {timeout}s")
        await asyncio.sleep(0.01)


async def outbox_counts(database_url: str, broadcast_id: int) -> dict[OutboxStatus, int]:
    store = await Store.open(database_url, migrate=False)
    try:
        async with store.read() as conn:
            return await outbox_repo.status_counts(conn, broadcast_id)
    finally:
        await store.close()


async def in_doubt(database_url: str, broadcast_id: int) -> tuple[int, int]:
    """Rows of the broadcast in SENDING: (request gone out, not yet sent)."""
    store = await Store.open(database_url, migrate=False)
    try:
        async with store.read() as conn:
            query = (
                select(outbox.c.sent_at.is_not(None), func.count())
                .where(
                    outbox.c.broadcast_id == broadcast_id,
                    outbox.c.status == OutboxStatus.SENDING.value,
                )
                .group_by(outbox.c.sent_at.is_not(None))
            )
            counts = {bool(out): int(n) for out, n in await conn.execute(query)}
    finally:
        await store.close()
    return counts.get(True, 0), counts.get(False, 0)


async def unconfirmed_chats(database_url: str, broadcast_id: int) -> set[int]:
    """Recipients whose row of the broadcast was counted as delivered while in doubt."""
    store = await Store.open(database_url, migrate=False)
    try:
        async with store.read() as conn:
            query = select(outbox.c.chat_id).where(
                outbox.c.broadcast_id == broadcast_id,
                outbox.c.status == OutboxStatus.SENT.value,
                outbox.c.sent_message_id.is_(None),
            )
            return {int(chat) for chat in (await conn.scalars(query)).all()}
    finally:
        await store.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_until_delivered(
    database_url: str, broadcast_id: int, timeout: float, poll: float = 0.5
) -> dict[OutboxStatus, int]:
    """Until no row of the broadcast waits or is in flight."""
    deadline = time.monotonic() + timeout
    store = await Store.open(database_url, migrate=False)
    try:
        while True:
            async with store.read() as conn:
                counts = await outbox_repo.status_counts(conn, broadcast_id)
            if counts[OutboxStatus.PENDING] + counts[OutboxStatus.SENDING] == 0:
                return counts
            if time.monotonic() > deadline:
                raise AssertionError(f"broadcast not delivered in {timeout}s: {counts}")
            await asyncio.sleep(poll)
    finally:
        await store.close()
