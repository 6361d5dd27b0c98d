"""A failure inside a handler: the user hears nothing changed, coordinators hear once."""

from __future__ import annotations

import logging

import pytest
from telegram.error import BadRequest

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

    async def broken(*_args: object) -> None:
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


@pytest.mark.parametrize(
    ("language", "sorry"),
    [("en", "something went wrong on our side"), ("zh", "抱歉，系统出了点问题")],
)
async def test_bad_request_from_our_own_handler_is_reported_as_a_bug(
    fake: FakeBotApi,
    bot: RunningBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    language: str,
    sorry: str,
) -> None:
    """Telegram refusing what we sent is our mistake, not the network's: the user hears it
    failed, the log says where, coordinators are alerted."""
    assert bot.services is not None
    await bot.services.users.register(
        COORDINATOR_ID, display_name="Li", language=language, building_id=None
    )
    li = fake.user(COORDINATOR_ID, first_name="Li", language_code=language)

    async def rejected(*_args: object) -> None:
        raise BadRequest("Can't parse entities: unsupported start tag")

    monkeypatch.setattr(bot.services.admin, "community", rejected)
    with caplog.at_level(logging.ERROR):
        await li.send("/admin")
        await li.wait_for(sorry)
        await li.wait_for("BadRequest")  # the coordinators' alert
        await fake.wait_idle(quiet=0.3)
    failures = [r for r in caplog.records if "update failed" in r.getMessage()]
    assert failures and all(r.levelno == logging.ERROR for r in failures)
    logged = failures[0]
    assert "/admin" in logged.getMessage() and "update_id=" in logged.getMessage()
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], BadRequest)


async def test_failure_after_the_press_was_answered_is_told_in_the_chat(
    fake: FakeBotApi, bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The button's spinner was stopped before the failure: the press is not answered a second
    time (Telegram refuses that), the apology comes as a message."""
    assert bot.services is not None
    await bot.services.users.register(
        COORDINATOR_ID, display_name="Li", language="en", building_id=None
    )
    li = fake.user(COORDINATOR_ID, first_name="Li", language_code="en")
    await li.send("/admin")
    menu = await li.wait_for("Administration")

    async def broken(_actor: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(bot.services.membership, "pending", broken)
    await li.press(menu, "Applications (0)")
    await li.wait_for("something went wrong on our side")
    await fake.wait_idle(quiet=0.3)
    answers = [c.params.get("callback_query_id") for c in fake.calls_to("answerCallbackQuery")]
    assert len(answers) == len(set(answers)) == 1
