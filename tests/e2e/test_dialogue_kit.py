"""The dialogue kit through the real Application: the step wrapper (role, InvalidInput stays,
any other refusal ends the dialogue and clears its draft), typed draft expiry, and a forged
button refused with nothing changed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum
from types import SimpleNamespace
from typing import ClassVar

import pytest
from pydantic import Field
from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

import bot.app
from bot.clock import ManualClock
from bot.config import Settings
from bot.i18n import Translate
from bot.models import Role, Skill, User
from bot.services.errors import Conflict, InvalidInput
from handlers.common import answer
from handlers.context import LinliContext
from handlers.dialogue import ACTIVE, DialogueDraft, Next, dialogue, step
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeUser


class Kit(StrEnum):
    NOTE = "note"


class KitDraft(DialogueDraft):
    KEY: ClassVar[str] = "test_kit"
    notes: list[str] = Field(default_factory=list)


@step(Role.MEMBER)
async def begin(update: Update, context: LinliContext, _user: User, _t: Translate) -> Next:
    KitDraft(notes=["begun"]).save(context)
    await answer(update, "Write a note.")
    return Kit.NOTE


@step(Role.MEMBER)
async def noted(update: Update, context: LinliContext, _user: User, _t: Translate) -> Next:
    assert update.message is not None
    text = update.message.text or ""
    if text == "bad":
        raise InvalidInput()
    if text == "clash":
        raise Conflict()
    draft = KitDraft.load(context)
    draft.notes.append(text)
    draft.save(context)
    await answer(update, f"Notes: {', '.join(draft.notes)}")
    return None


def kit_handlers() -> list[object]:
    text = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE
    return [
        dialogue(
            "test_kit",
            entry_points=[CommandHandler("kit", begin)],
            states={Kit.NOTE: [MessageHandler(text, noted)]},
            drafts=[KitDraft],
        )
    ]


@pytest.fixture
async def kit_bot(
    bot_settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    feature = SimpleNamespace(handlers=kit_handlers)
    monkeypatch.setattr(bot.app, "FEATURES", (feature, *bot.app.FEATURES))
    running = RunningBot(bot_settings, clock)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def someone(kit_bot: RunningBot, fake: FakeBotApi, user_id: int, role: Role) -> FakeUser:
    """A registered user (English) who is a resident, or a member approved by a coordinator."""
    services = kit_bot.services
    assert services is not None
    applicant = await services.users.register(
        user_id, display_name="Ann", language="en", building_id=None
    )
    if role is Role.MEMBER:
        coordinator = await services.users.register(
            COORDINATOR_ID, display_name="Li", language="zh", building_id=None
        )
        invite = await services.membership.create_invite(coordinator, days=1, max_uses=1)
        application = await services.membership.apply(
            applicant, invite.code, skills={Skill.OTHER}, building_id=None
        )
        await services.membership.decide(coordinator, application.id, approve=True)
    assert role in (await services.users.require(user_id)).roles
    return fake.user(user_id, first_name="Ann", language_code="en")


async def user_data(kit_bot: RunningBot, fake: FakeBotApi, user_id: int) -> dict[object, object]:
    """The user's data once the bot has finished with the last update."""
    await fake.wait_idle()
    assert kit_bot.app is not None
    return dict(kit_bot.app.user_data[user_id])


async def test_a_step_refuses_someone_without_the_role(
    fake: FakeBotApi, kit_bot: RunningBot
) -> None:
    resident = await someone(kit_bot, fake, 501, Role.RESIDENT)
    await resident.send("/kit")
    await resident.wait_for("not allowed")
    await resident.send("a note")
    await resident.wait_for("did not understand")  # no dialogue was opened
    assert KitDraft.KEY not in await user_data(kit_bot, fake, 501)


async def test_a_step_refuses_someone_not_registered(
    fake: FakeBotApi, kit_bot: RunningBot
) -> None:
    stranger = fake.user(502, first_name="Bo", language_code="en")
    await stranger.send("/kit")
    await stranger.wait_for("/start first")


async def test_invalid_input_is_refused_and_the_step_stays(
    fake: FakeBotApi, kit_bot: RunningBot
) -> None:
    member = await someone(kit_bot, fake, 503, Role.MEMBER)
    await member.send("/kit")
    await member.wait_for("Write a note")
    await member.send("bad")
    await member.wait_for("not valid")
    await member.send("milk")
    await member.wait_for("Notes: begun, milk")  # same step, draft kept
    assert (await user_data(kit_bot, fake, 503))[ACTIVE] == "test_kit"


async def test_another_refusal_ends_the_dialogue_and_clears_its_draft(
    fake: FakeBotApi, kit_bot: RunningBot
) -> None:
    member = await someone(kit_bot, fake, 504, Role.MEMBER)
    await member.send("/kit")
    await member.wait_for("Write a note")
    await member.send("clash")
    await member.wait_for("already been done")
    data = await user_data(kit_bot, fake, 504)
    assert KitDraft.KEY not in data and data.get(ACTIVE) == ""  # ended: none active
    await member.send("milk")
    await member.wait_for("did not understand")  # the dialogue is over


async def test_a_draft_older_than_a_day_ends_the_dialogue(
    fake: FakeBotApi, kit_bot: RunningBot, clock: ManualClock
) -> None:
    member = await someone(kit_bot, fake, 505, Role.MEMBER)
    await member.send("/kit")
    await member.wait_for("Write a note")
    clock.advance(hours=23)
    await member.send("eggs")
    await member.wait_for("Notes: begun, eggs")
    clock.advance(hours=24, minutes=1)
    await member.send("tea")
    await member.wait_for("Please start again")  # the day-old draft is not guessed at
    await member.send("tea")
    await member.wait_for("did not understand")  # the dialogue is over
    assert KitDraft.KEY not in await user_data(kit_bot, fake, 505)


async def test_a_forged_button_is_refused_and_changes_nothing(
    fake: FakeBotApi, kit_bot: RunningBot
) -> None:
    en = fake.user(506, first_name="Cy", language_code="fr")
    await en.send("/start")
    question = await en.wait_for("choose your language")
    # The right shape, but no button of ours says "fr": refused by the step, dialogue ended.
    # No language chosen and Telegram's is not ours: the default one, Chinese.
    alert = await en.press_data(question, "start:lang:fr")
    assert alert is not None and "这个按钮已失效" in alert
    await en.send("Cy")
    await en.wait_for("我没有看懂")
    # The wrong shape matches no button at all.
    alert = await en.press_data(question, "start:lang:" + "x" * 40)
    assert alert is not None and "这个按钮已失效" in alert
    assert kit_bot.services is not None
    assert await kit_bot.services.users.get(506) is None
    assert "onboarding" not in await user_data(kit_bot, fake, 506)


async def test_a_forged_button_in_a_coordinators_dialogue_changes_nothing(
    fake: FakeBotApi, kit_bot: RunningBot
) -> None:
    services = kit_bot.services
    assert services is not None
    await services.users.register(
        COORDINATOR_ID, display_name="Li", language="en", building_id=None
    )
    li = fake.user(COORDINATOR_ID, first_name="Li", language_code="en")
    await li.send("/teams")
    await li.press(await li.wait_for("Service teams"), "New team")
    await li.wait_for("new team called")
    await li.send("Legal aid team")
    kinds = await li.wait_for("What kind of team is it?")
    for forged in ("tm:kind:weapons", "tm:act:1:2", "tm:pick:" + "9" * 16):
        alert = await li.press_data(kinds, forged)
        assert alert is not None and "no longer valid" in alert
    await li.press(kinds, "Legal team")  # the dialogue is still where it was
    await li.wait_for("Who leads the team?")
    coordinator = await services.users.require(COORDINATOR_ID)
    assert await services.teams.all(coordinator) == []
