"""Onboarding through the real bot over HTTP, in both languages."""

from __future__ import annotations

from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeMessage


async def add_building(bot: RunningBot, name: str) -> int:
    assert bot.services is not None
    coordinator = await bot.services.users.register(
        COORDINATOR_ID, display_name="Li", language="zh", building_id=None
    )
    building = await bot.services.admin.add_building(coordinator, name)
    return building.id


async def test_onboarding_in_chinese(fake: FakeBotApi, bot: RunningBot) -> None:
    await add_building(bot, "3号楼")
    grandma = fake.user(101, first_name="Wang", language_code="zh-hans")
    await grandma.send("/start")
    choose = await grandma.wait_for("请选择语言")
    assert choose.buttons[0][0] == "中文"  # preselected from Telegram's language
    await grandma.press(choose, "中文")
    await grandma.wait_for("我们怎么称呼您")
    await grandma.send("王奶奶")
    building = await grandma.wait_for("您住在哪个楼院")
    await grandma.press(building, "3号楼")
    room = await grandma.wait_for("房号")
    await grandma.send("3-201")
    await grandma.wait_for("手机号")
    await grandma.share_contact("+8613800000000")
    await grandma.wait_for("登记完成")
    assert bot.services is not None
    user = await bot.services.users.require(101)
    assert (user.display_name, user.language, user.room, user.phone) == (
        "王奶奶",
        "zh",
        "3-201",
        "+8613800000000",
    )
    assert room is not None


async def test_onboarding_in_english_skipping_room_and_phone(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    await add_building(bot, "Block 5")
    tom = fake.user(102, first_name="Tom", language_code="en-US")
    await tom.send("/start")
    choose = await tom.wait_for("Please choose your language")
    assert choose.buttons[0][0] == "English"
    await tom.press(choose, "English")
    await tom.wait_for("What should we call you?")
    await tom.send("Tom <b>Lee</b>")
    building = await tom.wait_for("Which building")
    await tom.press(building, "Block 5")
    room = await tom.wait_for("room number")
    await tom.press(room, "Skip")
    await tom.wait_for("phone number")
    await tom.send("Skip")
    done = await tom.wait_for("You are registered")
    assert "Tom <b>Lee</b>" in done.text  # shown literally: escaped, not interpreted
    assert bot.services is not None
    user = await bot.services.users.require(102)
    assert (user.room, user.phone, user.language) == (None, None, "en")


async def test_registered_user_gets_welcome_back_and_help(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    assert bot.services is not None
    await bot.services.users.register(103, display_name="Chen", language="en", building_id=None)
    chen = fake.user(103, first_name="Chen", language_code="en")
    await chen.send("/start")
    reply = await chen.wait_for("Welcome back, Chen")
    assert "/profile" in reply.text and "/admin" not in reply.text


async def test_coordinator_help_lists_admin(fake: FakeBotApi, bot: RunningBot) -> None:
    await add_building(bot, "1号楼")
    li = fake.user(COORDINATOR_ID, first_name="Li", language_code="zh-hans")
    await li.send("/help")
    reply = await li.wait_for("您可以做的事")
    assert "/admin" in reply.text


async def test_command_menus_are_set_in_both_languages(fake: FakeBotApi, bot: RunningBot) -> None:
    calls = fake.calls_to("setMyCommands")
    languages = {call.params.get("language_code") for call in calls}
    assert {"zh", "en"} <= languages
    zh = next(c for c in calls if c.params.get("language_code") == "zh")
    assert any(
        cmd["command"] == "start" and "登记" in cmd["description"] for cmd in zh.params["commands"]
    )


async def test_with_several_communities_a_newcomer_says_which_one_and_sees_its_buildings(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    assert bot.services is not None
    services = bot.services
    await add_building(bot, "3号楼")  # of the first community
    district = await services.users.require(COORDINATOR_ID)
    (street,) = await services.admin.streets(district)
    riverside = await services.admin.add_community(district, street.id, "河畔社区")
    district = await services.users.require(COORDINATOR_ID)
    await services.admin.add_building(district, "河畔1号楼", riverside.id)

    grandma = fake.user(104, first_name="Zhang", language_code="zh-hans")

    async def up_to_the_community() -> FakeMessage:
        await grandma.send("/start")
        await grandma.press(await grandma.wait_for("请选择语言"), "中文")
        await grandma.wait_for("我们怎么称呼您")
        await grandma.send("张奶奶")
        return await grandma.wait_for("您住在哪个社区")

    which = await up_to_the_community()
    assert [text for text, _ in which.buttons] == [
        "北气象巷社区（古城台街道）",
        "河畔社区（古城台街道）",
    ]
    # A forged community id is refused: nothing is registered, she starts again.
    alert = await grandma.press_data(which, "start:com:999999")
    assert alert == "这个按钮已失效，请重新开始。"
    assert await services.users.get(104) is None
    which = await up_to_the_community()
    await grandma.press(which, "河畔社区（古城台街道）")
    building = await grandma.wait_for("您住在哪个楼院")
    assert next(text for text, _ in building.buttons) == "河畔1号楼"
    assert "3号楼" not in str(building.buttons)  # the other community's
    await grandma.press(building, "河畔1号楼")
    await grandma.press(await grandma.wait_for("房号"), "跳过")
    await grandma.wait_for("手机号")
    await grandma.send("跳过")
    await grandma.wait_for("登记完成")
    user = await services.users.require(104)
    assert user.community_id == riverside.id and user.building_id is not None
