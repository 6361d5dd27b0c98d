"""Edits, forged ids and odd digits: clear answers or silence, never an error, nothing changed."""

from __future__ import annotations

import time

from telegram import Update

from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi


async def test_an_edited_answer_does_not_drive_the_dialogue(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    assert bot.services is not None and bot.app is not None
    tom = fake.user(401, first_name="Tom", language_code="fr")
    await tom.send("/start")
    await tom.press(await tom.wait_for("choose your language"), "English")
    await tom.wait_for("What should we call you?")
    edited = {
        "update_id": 10**6,
        "edited_message": {
            "message_id": 1,
            "date": int(time.time()),
            "edit_date": int(time.time()),
            "chat": {"id": 401, "type": "private", "first_name": "Tom"},
            "from": {"id": 401, "is_bot": False, "first_name": "Tom"},
            "text": "An edited old message",
        },
    }
    # Telegram is not asked for edits; even if one arrives, no dialogue step takes it.
    await bot.app.process_update(Update.de_json(edited, bot.app.bot))
    await tom.send("Tom")
    await tom.wait_for(lambda m: "room number" in m.text)
    assert all("went wrong" not in m.text for m in tom.inbox)


async def test_forged_button_with_a_huge_id_is_stale_not_an_error(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    assert bot.services is not None
    await bot.services.users.register(402, display_name="Ann", language="en", building_id=None)
    ann = fake.user(402, first_name="Ann", language_code="en")
    alert = await ann.press_data(None, "w:card:" + "9" * 40)
    assert alert is not None and "no longer valid" in alert
    assert all("went wrong" not in m.text for m in ann.inbox)


async def test_claim_with_circled_digits_gets_a_clear_answer(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    assert bot.services is not None
    coordinator = await bot.services.users.register(
        COORDINATOR_ID, display_name="Li", language="en", building_id=None
    )
    code = (await bot.services.membership.create_invite(coordinator, days=1, max_uses=1)).code
    member = await bot.services.users.register(
        403, display_name="Bo", language="en", building_id=None
    )
    from bot.models import Skill

    application = await bot.services.membership.apply(
        member, code, skills={Skill.REPAIRS}, building_id=None
    )
    await bot.services.membership.decide(coordinator, application.id, approve=True)
    bo = fake.user(403, first_name="Bo", language_code="en")
    await bo.send("/claim ①")
    reply = await bo.next_message()
    assert "went wrong" not in reply.text


async def test_buildings_are_managed_one_button_each_page_by_page(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    assert bot.services is not None
    coordinator = await bot.services.users.register(
        COORDINATOR_ID, display_name="Li", language="en", building_id=None
    )
    for number in range(1, 61):  # more buildings than two buttons each would allow
        await bot.services.admin.add_building(coordinator, f"Block {number}")
    li = fake.user(COORDINATOR_ID, first_name="Li", language_code="en")
    await li.send("/admin")
    await li.press(await li.wait_for("Administration"), "Buildings")
    listing = await li.wait_for("Block 24")
    # One button each, in pages: all 60 reachable, none twice, none beyond a page's 24.
    seen: list[str] = []
    for page in (1, 2, 3):
        shown = await li.wait_for(f"Page {page}/3", since=0)
        blocks = [label for label, _ in shown.buttons if label.startswith("Block ")]
        assert 0 < len(blocks) <= 24 and shown.button("Add a building") is not None
        seen += blocks
        if page < 3:
            await li.press(shown, "Next ▶")
    assert seen == [f"Block {n}" for n in range(1, 61)]  # natural order: 2 before 10
    await li.press(await li.wait_for("Page 3/3", since=0), "◀ Previous")
    await li.press(await li.wait_for("Page 2/3"), "◀ Previous")
    listing = await li.wait_for("Page 1/3")
    await li.press(listing, "Block 7")
    detail = await li.wait_for(lambda m: m.text.strip() == "Block 7")
    await li.press(detail, "Archive Block 7")
    await li.wait_for("Block 7 (archived)")
    names = [b.name for b in await bot.services.users.buildings(bot.services.default_community_id)]
    assert "Block 7" not in names and "Block 8" in names
