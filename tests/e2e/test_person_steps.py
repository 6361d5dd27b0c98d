"""The shared person steps as /wish_for will use them (`Who.OTHER`): their name, a picker of
every non-archived building, Skip for room and phone, a typed phone number."""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum
from types import SimpleNamespace
from typing import ClassVar

import pytest
from telegram import Update
from telegram.ext import CommandHandler

import bot.app
from bot.clock import ManualClock
from bot.config import Settings
from bot.i18n import Translate
from bot.models import User
from handlers.buttons import Button, button
from handlers.common import answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Next, dialogue, step
from handlers.person_steps import BuildingButton, PersonSteps, Who
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi


@button("test:pbld")
class ProxyBuilding(BuildingButton):
    pass


@button("test:pskip")
class ProxySkip(Button):
    pass


class Proxy(StrEnum):
    NAME = "for_name"
    BUILDING = "for_building"
    ROOM = "for_room"
    PHONE = "for_phone"


class ProxyDraft(DialogueDraft):
    KEY: ClassVar[str] = "test_proxy"
    name: str = ""
    building_id: int | None = None
    room: str | None = None


@step()
async def begin(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    ProxyDraft().save(context)
    await PERSON.ask_name(update, t)
    return Proxy.NAME


async def named(
    update: Update, context: LinliContext, user: User | None, t: Translate, name: str
) -> Next:
    ProxyDraft(name=name).save(context)
    if await PERSON.ask_building(update, context, t, user.community_id if user else None):
        return Proxy.BUILDING
    await PERSON.ask_room(update, t)
    return Proxy.ROOM


async def housed(
    update: Update, context: LinliContext, _u: User | None, t: Translate, building: int | None
) -> Next:
    draft = ProxyDraft.load(context)
    draft.building_id = building
    draft.save(context)
    await PERSON.ask_room(update, t)
    return Proxy.ROOM


async def roomed(
    update: Update, context: LinliContext, _u: User | None, t: Translate, room: str | None
) -> Next:
    draft = ProxyDraft.load(context)
    draft.room = room
    draft.save(context)
    await PERSON.ask_phone(update, t)
    return Proxy.PHONE


async def phoned(
    update: Update, context: LinliContext, _u: User | None, _t: Translate, phone: str | None
) -> Next:
    draft = ProxyDraft.load(context)
    await answer(update, f"For {draft.name} in {draft.building_id}, {draft.room}, {phone}")
    return END


PERSON = PersonSteps(
    who=Who.OTHER,
    building=ProxyBuilding,
    skip_room=ProxySkip,
    skip_phone=ProxySkip,
    on_name=named,
    on_building=housed,
    on_room=roomed,
    on_phone=phoned,
)


def proxy_handlers() -> list[object]:
    return [
        dialogue(
            "test_proxy",
            entry_points=[CommandHandler("proxy", begin)],
            states={
                Proxy.NAME: PERSON.name_handlers(),
                Proxy.BUILDING: PERSON.building_handlers(),
                Proxy.ROOM: PERSON.room_handlers(),
                Proxy.PHONE: PERSON.phone_handlers(),
            },
            drafts=[ProxyDraft],
        )
    ]


@pytest.fixture
async def proxy_bot(
    bot_settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    feature = SimpleNamespace(handlers=proxy_handlers)
    monkeypatch.setattr(bot.app, "FEATURES", (feature, *bot.app.FEATURES))
    running = RunningBot(bot_settings, clock)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_asking_about_someone_else(fake: FakeBotApi, proxy_bot: RunningBot) -> None:
    services = proxy_bot.services
    assert services is not None
    li = await services.users.register(
        COORDINATOR_ID, display_name="Li", language="en", building_id=None
    )
    kept = await services.admin.add_building(li, "1号楼")
    old = await services.admin.add_building(li, "2号楼")
    await services.admin.set_building_archived(li, old.id, True)
    en = fake.user(COORDINATOR_ID, first_name="Li", language_code="en")
    await en.send("/proxy")
    await en.wait_for("What is their name?")
    await en.send("Granny Wang")
    picker = await en.wait_for("Which building do they live in?")
    assert [label for label, _ in picker.buttons] == ["1号楼"]
    alert = await en.press_data(picker, f"test:pbld:{old.id}")  # archived: refused
    assert alert is not None and "not valid" in alert
    await en.press(picker, "1号楼")
    room = await en.wait_for("Their room number")
    await en.press(room, "Skip")
    phone = await en.wait_for("A phone number to reach them")
    assert phone.keyboard == []  # no "share my number": it would be the member's own
    await en.send("not a number")
    await en.wait_for("does not look like a phone number")
    await en.send("13800000000")
    await en.wait_for(f"For Granny Wang in {kept.id}, None, 13800000000")
