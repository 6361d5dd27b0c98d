"""Becoming a member over the real bot: invites, /join, a coordinator's decision."""

from __future__ import annotations

from bot.clock import ManualClock
from bot.models import Skill
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeUser


async def registered(
    bot: RunningBot, fake: FakeBotApi, user_id: int, name: str, language: str = "zh"
) -> FakeUser:
    assert bot.services is not None
    await bot.services.users.register(
        user_id, display_name=name, language=language, building_id=None
    )
    return fake.user(user_id, first_name=name, language_code=language)


async def make_invite(bot: RunningBot, days: int = 7, uses: int = 5) -> str:
    assert bot.services is not None
    coordinator = await bot.services.users.register(
        COORDINATOR_ID, display_name="Li", language="zh", building_id=None
    )
    return (
        await bot.services.membership.create_invite(coordinator, days=days, max_uses=uses)
    ).code


async def test_coordinator_creates_an_invite_in_admin(fake: FakeBotApi, bot: RunningBot) -> None:
    li = await registered(bot, fake, COORDINATOR_ID, "Li")
    await li.send("/admin")
    menu = await li.wait_for("管理")
    await li.press(menu, "邀请码")
    invites = await li.wait_for("目前没有有效的邀请码")
    await li.press(invites, "新建邀请码")
    days = await li.wait_for("有效期多长")
    await li.press(days, "7 天")
    uses = await li.wait_for("多少人使用")
    await li.press(uses, "10 次")
    created = await li.wait_for("新邀请码")
    assert bot.services is not None
    active = await bot.services.membership.active_invites(await bot.services.users.require(li.id))
    assert len(active) == 1 and active[0].code in created.text and active[0].max_uses == 10


async def test_join_then_approval(fake: FakeBotApi, bot: RunningBot) -> None:
    code = await make_invite(bot)
    li = fake.user(COORDINATOR_ID, first_name="Li", language_code="zh-hans")
    zhang = await registered(bot, fake, 201, "Zhang")
    await zhang.send(f"/join {code}")
    skills = await zhang.wait_for("专长")
    await zhang.press(skills, "家庭维修")
    skills = await zhang.wait_for(lambda m: "✓ 家庭维修" in str(m.buttons))
    await zhang.press(skills, "完成")
    await zhang.wait_for("申请已提交")
    notice = await li.wait_for("申请党员报到")
    await li.press(notice, "审核报到申请")
    listing = await li.wait_for("待审核的报到申请")
    assert "Zhang" in listing.text
    await li.press(listing, next(text for text, _ in listing.buttons if text.startswith("通过")))
    await zhang.wait_for("您已成为党员志愿者")
    assert bot.services is not None
    member = await bot.services.users.require(201)
    assert member.is_member and member.skills == {Skill.REPAIRS}


async def test_rejection_reaches_the_applicant_with_the_reason(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    code = await make_invite(bot)
    li = fake.user(COORDINATOR_ID, first_name="Li", language_code="zh-hans")
    zhao = await registered(bot, fake, 202, "Zhao", language="en")
    await zhao.send(f"/join {code}")
    skills = await zhao.wait_for("skills")
    await zhao.press(skills, "Tutoring")
    await zhao.press(await zhao.wait_for(lambda m: "✓ Tutoring" in str(m.buttons)), "Done")
    await zhao.wait_for("application was sent")
    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "报到申请（1）")
    listing = await li.wait_for("待审核的报到申请")
    await li.press(listing, next(text for text, _ in listing.buttons if text.startswith("不通过")))
    await li.wait_for("请输入理由")
    await li.send("Please <meet> us first")
    outcome = await zhao.wait_for("not approved")
    assert "Please <meet> us first" in outcome.text
    assert bot.services is not None
    assert not (await bot.services.users.require(202)).is_member


async def test_expired_code_is_refused(
    fake: FakeBotApi, bot: RunningBot, clock: ManualClock
) -> None:
    code = await make_invite(bot, days=1)
    clock.advance(days=1, seconds=1)
    wu = await registered(bot, fake, 203, "Wu", language="en")
    await wu.send(f"/join {code}")
    await wu.wait_for("has expired")


async def test_used_up_code_is_refused(fake: FakeBotApi, bot: RunningBot) -> None:
    code = await make_invite(bot, uses=1)
    first = await registered(bot, fake, 204, "Qian", language="en")
    await first.send(f"/join {code}")
    await first.press(await first.wait_for("skills"), "Legal advice")
    await first.press(await first.wait_for(lambda m: "✓ Legal" in str(m.buttons)), "Done")
    await first.wait_for("application was sent")
    second = await registered(bot, fake, 205, "Sun", language="en")
    await second.send(f"/join {code}")
    await second.wait_for("used up")


async def test_unknown_code_and_missing_code(fake: FakeBotApi, bot: RunningBot) -> None:
    sun = await registered(bot, fake, 206, "Sun", language="en")
    await sun.send("/join NOPE1234")
    await sun.wait_for("not valid")
    await sun.send("/join")  # as the "🚩 Party member check-in" button sends it: the code is asked
    await sun.wait_for("Please type the invite code")
    await sun.send("NOPE1234")
    await sun.wait_for("not valid")


async def test_a_code_typed_after_the_check_in_prompt_goes_on_to_the_skills(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    code = await make_invite(bot)
    qian = await registered(bot, fake, 210, "Qian")
    await qian.send("/join")
    await qian.wait_for("党员报到")
    await qian.send(f"  {code} ")
    await qian.wait_for("专长")


async def test_resident_is_refused_admin(fake: FakeBotApi, bot: RunningBot) -> None:
    wang = await registered(bot, fake, 207, "Wang")
    await wang.send("/admin")
    await wang.wait_for("没有权限")


async def test_resident_pressing_an_admin_button_changes_nothing(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    code = await make_invite(bot)
    applicant = await registered(bot, fake, 208, "Zhou")
    assert bot.services is not None
    application = await bot.services.membership.apply(
        await bot.services.users.require(208), code, skills={Skill.OTHER}, building_id=None
    )
    intruder = await registered(bot, fake, 209, "Feng")
    answer = await intruder.press_data(None, f"adm:ok:{application.id}")
    assert answer is not None and "没有权限" in answer
    assert not (await bot.services.users.require(208)).is_member
    assert applicant.id == 208
