"""The end-to-end rig: the real Application over HTTP against the fake Bot API server."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, open_services, running
from bot.clock import ManualClock
from bot.config import Settings
from bot.services import Services
from handlers.context import LinliApplication
from tests.conftest import make_settings
from tests.support.fake_bot_api import FakeBotApi


class RunningBot:
    """Starts, stops and restarts the whole bot the way `linli run` does."""

    def __init__(self, settings: Settings, clock: ManualClock) -> None:
        self.settings = settings
        self.clock = clock
        self.services: Services | None = None
        self.app: LinliApplication | None = None
        self._stack: AsyncExitStack | None = None

    async def start(self) -> RunningBot:
        self.services = await open_services(self.settings, self.clock)
        self.app = build_application(self.services)
        self._stack = AsyncExitStack()
        await self._stack.enter_async_context(running(self.app, poll_timeout=1))
        return self

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
        if self.services is not None:
            await self.services.store.close()

    async def restart(self) -> RunningBot:
        await self.stop()
        return await self.start()


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
def bot_settings(tmp_path: Path, fake: FakeBotApi) -> Settings:
    return make_settings(
        tmp_path,
        telegram_api_base_url=fake.base_url,
        telegram_api_file_url=fake.base_file_url,
    )


def settings_with(tmp_path: Path, fake: FakeBotApi, **overrides: Any) -> Settings:
    return make_settings(
        tmp_path,
        telegram_api_base_url=fake.base_url,
        telegram_api_file_url=fake.base_file_url,
        **overrides,
    )


@pytest.fixture
async def bot(bot_settings: Settings, clock: ManualClock) -> AsyncIterator[RunningBot]:
    running_bot = RunningBot(bot_settings, clock)
    await running_bot.start()
    try:
        yield running_bot
    finally:
        await running_bot.stop()


@pytest.fixture(autouse=True)
def each_press_is_answered_once(fake: FakeBotApi) -> Iterator[None]:
    """Every e2e test also checks that no button press was answered twice (Telegram refuses
    the second answer; the fake records the attempt)."""
    yield
    answers = Counter(
        str(call.params.get("callback_query_id")) for call in fake.calls_to("answerCallbackQuery")
    )
    twice = {press: n for press, n in answers.items() if n > 1}
    assert not twice, f"presses answered more than once: {twice}"
