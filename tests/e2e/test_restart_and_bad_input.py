"""A dialogue survives a restart; bad input gets a clear answer and changes nothing."""

from __future__ import annotations

from tests.e2e.conftest import RunningBot
from tests.e2e.test_onboarding import add_building
from tests.support.fake_bot_api import FakeBotApi


async def test_dialogue_continues_after_a_restart(fake: FakeBotApi, bot: RunningBot) -> None:
    await add_building(bot, "7号楼")
    li = fake.user(301, first_name="Li", language_code="fr")
    await li.send("/start")
    await li.press(await li.wait_for("请选择语言"), "中文")
    await li.wait_for("我们怎么称呼您")
    await li.send("李阿姨")
    building = await li.wait_for("您住在哪个楼院")
    await fake.wait_idle()
    await bot.restart()
    await li.press(building, "7号楼")  # the dialogue goes on where it was
    await li.wait_for("房号")
    await li.send("7-101")
    await li.wait_for("手机号")
    await li.send("跳过")
    await li.wait_for("登记完成")
    assert bot.services is not None
    user = await bot.services.users.require(301)
    assert (user.display_name, user.room) == ("李阿姨", "7-101")


async def test_over_long_name_is_refused_and_asked_again(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    en = fake.user(302, first_name="Long", language_code="fr")
    await en.send("/start")
    await en.press(await en.wait_for("choose your language"), "English")
    await en.wait_for("What should we call you?")
    await en.send("N" * 200)
    await en.wait_for("too long")
    await en.send("Ned")
    await en.wait_for(lambda m: "room number" in m.text or "registered" in m.text)
    assert bot.services is not None
    assert await bot.services.users.get(302) is None  # not registered until the end


async def test_text_where_a_button_was_expected(fake: FakeBotApi, bot: RunningBot) -> None:
    await add_building(bot, "1号楼")
    en = fake.user(303, first_name="Bo", language_code="fr")
    await en.send("/start")
    language = await en.wait_for("choose your language")
    await en.send("English")  # typed instead of chosen: nothing chosen yet, so in Chinese
    await en.wait_for("请用上面的按钮选择")
    await en.press(language, "English")
    await en.send("Bo")
    await en.wait_for("Which building")
    await en.send("Building 99")  # an unknown building typed: searched for, not found
    nothing = await en.wait_for("No building matches “Building 99”")
    assert [label for label, _ in nothing.buttons] == [
        "All buildings",
        "My building is not listed",
    ]
    assert bot.services is not None
    assert await bot.services.users.get(303) is None


async def test_stale_button_from_an_old_message(fake: FakeBotApi, bot: RunningBot) -> None:
    en = fake.user(304, first_name="Al", language_code="fr")
    await en.send("/start")
    old = await en.wait_for("choose your language")
    await en.press(old, "English")
    await en.wait_for("What should we call you?")
    await en.send("/cancel")
    # Not registered and her choice gone with the dialogue: the default language (zh).
    await en.wait_for("已取消")
    alert = await en.press_data(old, "start:lang:en")  # the dialogue is over: stale
    assert alert is not None and "这个按钮已失效" in alert
    assert bot.services is not None
    assert await bot.services.users.get(304) is None


async def test_forged_building_id_is_refused(fake: FakeBotApi, bot: RunningBot) -> None:
    await add_building(bot, "2号楼")
    en = fake.user(305, first_name="Cy", language_code="fr")
    await en.send("/start")
    await en.press(await en.wait_for("choose your language"), "English")
    await en.send("Cy")
    question = await en.wait_for("Which building")
    alert = await en.press_data(question, "start:bld:99999")
    assert alert is not None and "not valid" in alert
    assert bot.services is not None
    assert await bot.services.users.get(305) is None


async def test_command_in_a_group_points_to_private_chat(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    group = fake.group(chat_id=-100777, title="Members")
    en = fake.user(306, first_name="Di", language_code="en")
    await en.send("/start", chat=group)
    await en.send("/admin", chat=group)
    await fake.wait_idle(quiet=0.5)  # both answers, also on a loaded machine
    replies = fake.sent_to(-100777)
    assert len(replies) == 2
    assert all("private chat" in r.text for r in replies)
    assert bot.services is not None
    assert await bot.services.users.get(306) is None


async def test_unknown_command_and_stray_text(fake: FakeBotApi, bot: RunningBot) -> None:
    en = fake.user(307, first_name="Ed", language_code="en")
    await en.send("/frobnicate")
    await en.wait_for("do not know that command")
    await en.send("hello?")
    await en.wait_for("did not understand")


async def test_someone_elses_contact_is_refused(fake: FakeBotApi, bot: RunningBot) -> None:
    en = fake.user(308, first_name="Fa", language_code="fr")
    await en.send("/start")
    await en.press(await en.wait_for("choose your language"), "English")
    await en.send("Fa")
    room = await en.wait_for(lambda m: "room number" in m.text)
    await en.press(room, "Skip")
    await en.wait_for("phone number")
    await en.share_contact("+8613911112222", user_id=999)
    await en.wait_for("your own number")
    assert bot.services is not None
    assert await bot.services.users.get(308) is None
