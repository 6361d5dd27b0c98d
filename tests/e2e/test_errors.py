"""A failure inside a handler: the user hears nothing changed, coordinators hear once."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi


async def test_failure_is_answered_logged_and_alerted_once(
    fake: FakeBotApi,
    bot: RunningBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert bot.services is not None
    await bot.services.users.register(
        COORDINATOR_ID, display_name="Li", language="en", building_id=None
    )
    li = fake.user(COORDINATOR_ID, first_name="Li", language_code="en")

    async def broken() -> None:
        raise RuntimeError("disk on fire")

    # Fault injection: the community lookup behind /admin fails.
    monkeypatch.setattr(bot.services.admin, "community", broken)
    with caplog.at_level(logging.ERROR):
        await li.send("/admin")
        await li.wait_for("something went wrong on our side")
        await li.wait_for("Linli hit an error: RuntimeError")
        await li.send("/admin")
        await li.wait_for("something went wrong on our side")
        await fake.wait_idle(quiet=0.5)
    alerts = [m for m in li.inbox if "Linli hit an error" in m.text]
    assert len(alerts) == 1  # at most once per 10 minutes
    assert any("update failed" in r.getMessage() for r in caplog.records)
    assert "TEST-TOKEN" not in caplog.text
