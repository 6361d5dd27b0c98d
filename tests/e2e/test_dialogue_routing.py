"""One dialogue at a time, whatever the order features are registered in: typed input goes to
the dialogue the user started or moved on last; an older one still open is ended."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import bot.app
from bot.clock import ManualClock
from bot.config import Settings
from handlers import admin, broadcast, help, membership, profile, start, teams, wishes
from handlers.teams import NewTeam
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.e2e.test_named_states import conversation_key, save_old_rows
from tests.support.fake_bot_api import FakeBotApi, FakeUser

ORDERS = {
    "as_shipped": bot.app.FEATURES,
    # The menus that stay open (admin, broadcast) before teams and profile.
    "reversed": (start, wishes, broadcast, admin, membership, profile, teams, help),
}


@pytest.fixture(params=sorted(ORDERS))
async def ordered_bot(
    request: pytest.FixtureRequest,
    bot_settings: Settings,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[RunningBot]:
    monkeypatch.setattr(bot.app, "FEATURES", ORDERS[request.param])
    running = RunningBot(bot_settings, clock)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def coordinator(running: RunningBot, fake: FakeBotApi) -> FakeUser:
    assert running.services is not None
    await running.services.users.register(
        COORDINATOR_ID, display_name="Li", language="en", building_id=None
    )
    return fake.user(COORDINATOR_ID, first_name="Li", language_code="en")


async def test_typed_text_lands_in_the_dialogue_moved_on_last(
    fake: FakeBotApi, ordered_bot: RunningBot
) -> None:
    li = await coordinator(ordered_bot, fake)
    await li.send("/admin")
    menu = await li.wait_for("Administration")
    await li.press(menu, "Buildings")  # the menu message now lists the buildings
    await li.wait_for(lambda m: m.button("Add a building") is not None)
    await li.send("/teams")
    listing = await li.wait_for("Service teams")
    # teams becomes the active dialogue, then admin (from its older message): admin's turn.
    await li.press(listing, "New team")
    await li.wait_for("new team called")
    await li.press(menu, "Add a building")
    await li.wait_for("name of the new building")
    await li.send("9号楼")
    await li.wait_for("Building 9号楼 added")
    # And back: teams moves on last, so the next typed text is the team's name.
    await li.press(listing, "New team")
    await li.wait_for("new team called")
    await li.send("Legal aid team")
    await li.wait_for("What kind of team is it?")
    assert ordered_bot.services is not None
    li_user = await ordered_bot.services.users.require(COORDINATOR_ID)
    names = [b.name for b in await ordered_bot.services.admin.all_buildings(li_user)]
    assert names == ["9号楼"]  # the team name never became a building, nor the reverse


async def test_a_dialogue_started_after_the_profile_menu_gets_the_answer(
    fake: FakeBotApi, ordered_bot: RunningBot
) -> None:
    li = await coordinator(ordered_bot, fake)
    await li.send("/profile")
    await li.wait_for("Your profile")
    await li.send("/broadcast")
    await li.wait_for("New announcement")
    await li.send("Water is off tomorrow morning.")
    await li.wait_for("Who should receive this announcement?")
    assert ordered_bot.services is not None
    assert (await ordered_bot.services.users.require(COORDINATOR_ID)).display_name == "Li"


async def test_after_cancel_an_older_dialogue_does_not_take_the_next_answer(
    fake: FakeBotApi, ordered_bot: RunningBot
) -> None:
    li = await coordinator(ordered_bot, fake)
    await li.send("/admin")
    menu = await li.wait_for("Administration")
    await li.press(menu, "Buildings")
    await li.wait_for(lambda m: m.button("Add a building") is not None)
    await li.press(menu, "Add a building")
    await li.wait_for("name of the new building")
    await li.send("/teams")  # the coordinator changes their mind ...
    listing = await li.wait_for("Service teams")
    await li.press(listing, "New team")
    await li.wait_for("new team called")
    await li.send("/cancel")  # ... and then of that too
    await li.wait_for("Cancelled")
    await li.send("Legal aid team")  # typed without looking: no dialogue is waiting for it
    await li.wait_for("I did not understand")
    assert ordered_bot.services is not None
    user = await ordered_bot.services.users.require(COORDINATOR_ID)
    assert await ordered_bot.services.admin.all_buildings(user) == []


async def test_a_dialogue_resumed_after_a_day_starts_again_instead_of_guessing(
    fake: FakeBotApi, bot: RunningBot, clock: ManualClock
) -> None:
    assert bot.services is not None
    await bot.services.users.register(7, display_name="王奶奶", language="zh", building_id=None)
    wang = fake.user(7, first_name="Wang", language_code="zh")
    await wang.send("/urgent")
    await wang.wait_for("您现在需要什么帮助")
    clock.advance(hours=25)
    await wang.send("我在家摔倒了，起不来")  # an urgent request must not become an ordinary wish
    await wang.wait_for("请重新开始")
    await wang.send("还在吗")
    await wang.wait_for("我没有看懂")  # the dialogue has ended
    user = await bot.services.users.require(7)
    assert (await bot.services.wishes.mine(user)).wishes == ()


async def test_onboarding_abandoned_for_days_can_be_started_again(
    fake: FakeBotApi, bot: RunningBot, clock: ManualClock
) -> None:
    en = fake.user(8, first_name="Ann", language_code="fr")
    await en.send("/start")
    await en.press(await en.wait_for("choose your language"), "English")
    await en.wait_for("What should we call you?")
    clock.advance(days=3)  # she put the phone away mid-way
    await en.send("/start")  # and starts over: no error, no refusal
    await en.press(await en.wait_for("choose your language"), "English")
    await en.wait_for("What should we call you?")
    await en.send("Ann")
    assert not [c for c in fake.calls if "went wrong" in str(c.params.get("text", ""))]


async def test_a_stale_onboarding_answer_ends_the_dialogue_instead_of_guessing(
    fake: FakeBotApi, bot: RunningBot, clock: ManualClock
) -> None:
    tom = fake.user(103, first_name="Tom", language_code="fr")
    await tom.send("/start")
    await tom.press(await tom.wait_for("Please choose your language"), "English")
    await tom.wait_for("What should we call you?")
    clock.advance(hours=25)
    await tom.send("Tom Lee")
    await tom.wait_for("Please start again")  # in the language he chose, not Telegram's
    await tom.send("Tom Lee")  # the dialogue has ended: nothing goes on without his draft
    # the stray-message answer (it points to help): no dialogue took it
    await tom.wait_for(lambda m: "/help" in (m.text or "") or "❓ 帮助" in (m.text or ""))
    assert bot.services is not None
    assert await bot.services.users.get(103) is None


async def test_a_dialogue_open_across_the_deploy_survives_a_refused_button(
    fake: FakeBotApi, bot: RunningBot, bot_settings: Settings
) -> None:
    assert bot.services is not None
    await bot.services.users.register(403, display_name="Wu", language="en", building_id=None)
    await bot.stop()
    # The release before: WishDialogue.CONTENT == 6, and no record of the active dialogue.
    await save_old_rows(
        bot_settings,
        [
            ("conversation", conversation_key("wishes", 403, 403), 6),
            ("user", "403", {"wish_draft": {"category": "repairs"}}),
        ],
    )
    await bot.start()
    wu = fake.user(403, first_name="Wu", language_code="en")
    await wu.press_data(None, NewTeam().pack())  # a button some other dialogue refuses
    await wu.send("The kitchen light is broken")
    card = await wu.wait_for("Please check your micro-wish")  # the release after: the card
    assert "The kitchen light is broken" in card.text and "Repairs at home" in card.text


async def test_a_neighbours_contact_typed_into_an_abandoned_wish_for_is_not_kept(
    fake: FakeBotApi, bot: RunningBot, clock: ManualClock
) -> None:
    import asyncio

    from bot.models import Role
    from storage import bot_state
    from storage import users as users_repo

    assert bot.services is not None
    services = bot.services
    await services.users.register(12, display_name="小赵", language="zh", building_id=None)
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, 12, Role.MEMBER, None, clock.now())
    zhao = fake.user(12, first_name="Zhao", language_code="zh")
    await zhao.send("/wish_for")
    await zhao.wait_for("他叫什么名字")
    await zhao.send("李大爷")
    await zhao.wait_for("房号")
    await zhao.send("5-101")
    await zhao.wait_for("电话")
    await zhao.send("13900001111")  # then the member is called away and never comes back
    await zhao.wait_for("您想请人帮什么忙")

    async def kept() -> str:
        async with services.store.read() as conn:
            rows = await bot_state.load_kind(conn, "user")
        return str(rows.get("12", {}))

    for _ in range(50):  # the draft is saved with the dialogue (persistence, within 1 s)
        if "13900001111" in await kept():
            break
        await asyncio.sleep(0.1)
    assert "13900001111" in await kept()

    clock.advance(hours=25)
    for _ in range(50):  # the sweep runs every 0.2 s here; persistence saves within 1 s
        if "13900001111" not in await kept():
            break
        await asyncio.sleep(0.1)
    assert "13900001111" not in await kept() and "5-101" not in await kept()
    await zhao.send("想请人帮忙修一下水管")  # he comes back: it does not go on without it
    await zhao.wait_for("请重新开始")
    user = await services.users.require(12)
    assert (await services.wishes.mine(user)).wishes == ()
