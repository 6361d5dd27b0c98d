"""Onboarding through the real bot over HTTP, in both languages."""

from __future__ import annotations

from bot.models import Role
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, RecordedCall


async def add_building(bot: RunningBot, name: str) -> int:
    assert bot.services is not None
    coordinator = await bot.services.users.register(
        COORDINATOR_ID, display_name="Li", language="zh", building_id=None
    )
    building = await bot.services.admin.add_building(coordinator, name)
    return building.id


def chat_menus(fake: FakeBotApi, chat_id: int) -> list[RecordedCall]:
    """The command menus set for one chat (BotCommandScopeChat)."""
    return [
        call
        for call in fake.calls_to("setMyCommands")
        if isinstance(call.params.get("scope"), dict)
        and call.params["scope"].get("chat_id") == chat_id
    ]


async def test_onboarding_in_chinese(fake: FakeBotApi, bot: RunningBot) -> None:
    await add_building(bot, "3号楼")
    grandma = fake.user(101, first_name="Wang", language_code="zh-hans")
    await grandma.send("/start")
    # Telegram already says she reads Chinese: no language question, straight to her name.
    await grandma.wait_for("我们怎么称呼您")
    assert not any("请选择语言" in m.text for m in grandma.inbox)
    await grandma.send("王奶奶")
    building = await grandma.wait_for("您住在哪个楼院")
    await grandma.press(building, "3号楼")
    room = await grandma.wait_for("房号")
    await grandma.send("3-201")
    await grandma.wait_for("手机号")
    await grandma.share_contact("+8613800000000")
    done = await grandma.wait_for("登记完成")
    # The home keyboard: big plain buttons, a resident's only.
    assert done.keyboard == [
        "🙋 发微心愿",
        "🆘 紧急求助",
        "📋 我的心愿",
        "📰 社区通知",
        "💬 提建议",
        "👤 我的资料",
        "❓ 帮助",
    ]
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


async def test_registered_user_gets_welcome_back_and_the_home_keyboard(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    assert bot.services is not None
    await bot.services.users.register(103, display_name="Chen", language="en", building_id=None)
    chen = fake.user(103, first_name="Chen", language_code="en")
    await chen.send("/start")
    reply = await chen.wait_for("Welcome back, Chen")
    assert "🙋 Post a wish" in reply.keyboard and "🗂 Admin" not in reply.keyboard


async def test_help_is_a_card_of_buttons_that_do_what_their_commands_do(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    await add_building(bot, "1号楼")
    li = fake.user(COORDINATOR_ID, first_name="Li", language_code="zh-hans")
    await li.send("/help")
    card = await li.wait_for("您想做什么")
    labels = [text for text, _ in card.buttons]
    assert labels[:3] == ["🙋 发微心愿", "🆘 紧急求助", "📋 我的心愿"]  # a resident's first
    assert "🗂 管理" in labels and "🧰 我的任务" not in labels  # a coordinator, not a member
    await li.press(card, "🙋 发微心愿")
    await li.wait_for("您想请人帮什么忙")  # the same as typing /wish


async def test_a_members_chat_gets_the_members_command_menu_once(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    assert bot.services is not None
    services = bot.services
    await services.users.register(105, display_name="小赵", language="zh", building_id=None)
    zhao = fake.user(105, first_name="Zhao", language_code="zh")
    await zhao.send("/start")
    await zhao.wait_for("欢迎回来")
    assert not chat_menus(fake, 105)  # a resident's chat keeps the default menu
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, 105, Role.MEMBER, None, services.clock.now())
    await zhao.send("/help")
    card = await zhao.wait_for("您想做什么")
    assert "🧰 我的任务" in [text for text, _ in card.buttons]
    await zhao.send("/help")
    await zhao.wait_for("您想做什么")
    mine = chat_menus(fake, 105)
    assert len(mine) == 1  # set when the role came, not on every update
    commands = [cmd["command"] for cmd in mine[0].params["commands"]]
    assert commands[:3] == ["wish", "urgent", "mywishes"] and "mytasks" in commands
    # ...and her home keyboard grew the member's buttons, said once in a line of its own.
    updated = [m for m in zhao.inbox if "按钮已更新" in m.text]
    assert len(updated) == 1 and "🧰 我的任务" in updated[0].keyboard


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
