"""Bad input around wishes gets a clear answer in the user's language and changes nothing:
over-long or empty text, a sticker or file where a wish was asked, claims on cancelled,
claimed or own wishes, a resident pressing a member's button, forged and stale buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.models import Role, Skill, WishCategory, WishStatus
from bot.services import Services
from bot.services.wishes import WishDraft
from handlers.wishes.buttons import (
    CancelWishSure,
    ClaimWish,
    ConfirmDone,
    GiveBack,
    NotDoneYet,
    RateWish,
    ReportDone,
    SetParticipant,
    ShowWish,
)
from storage import users as users_repo
from storage.schema import wish_events, wishes
from tests.e2e import posting
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeUser

RESIDENT, NEIGHBOUR, HELPER, OTHER = 1, 2, 10, 11


def _services(bot: RunningBot) -> Services:
    assert bot.services is not None
    return bot.services


@pytest.fixture
async def people(bot: RunningBot, fake: FakeBotApi) -> AsyncIterator[dict[str, FakeUser]]:
    services = _services(bot)
    for uid, name in (
        (RESIDENT, "王奶奶"),
        (NEIGHBOUR, "张阿姨"),
        (HELPER, "小赵"),
        (OTHER, "Qian"),
    ):
        language = "en" if uid == OTHER else "zh"  # one member reads English
        await services.users.register(uid, display_name=name, language=language, building_id=None)
    for uid in (HELPER, OTHER):
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, uid, Role.MEMBER, None, services.clock.now())
            await users_repo.set_skills(conn, uid, {Skill.REPAIRS})
    yield {
        "resident": fake.user(RESIDENT, "Wang"),
        "neighbour": fake.user(NEIGHBOUR, "Zhang"),
        "helper": fake.user(HELPER, "Zhao"),
        "other": fake.user(OTHER, "Qian", language_code="en"),
    }


async def _post(bot: RunningBot, user_id: int, text: str = "换灯泡") -> int:
    services = _services(bot)
    user = await services.users.require(user_id)
    wish = await services.wishes.post(user, WishDraft(category=WishCategory.REPAIRS, text=text))
    return wish.id


async def _snapshot(bot: RunningBot) -> tuple[list[tuple[int, str]], int]:
    async with _services(bot).store.read() as conn:
        rows = [(r.id, r.status) for r in await conn.execute(select(wishes.c.id, wishes.c.status))]
        events = int(await conn.scalar(select(func.count()).select_from(wish_events)) or 0)
    return rows, events


async def test_overlong_text_and_wrong_media_are_refused_in_the_dialogue(
    bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident = people["resident"]
    await resident.send("/wish")
    await resident.wait_for("您想请人帮什么忙")
    await resident.send("灯" * 600)
    await resident.wait_for("内容太长了（最多 500 个字）")
    await resident.send("   ")
    await resident.wait_for("请写几句话")
    await resident.send_sticker()
    await resident.wait_for("我能收文字、照片或语音")
    await resident.send_document(file_name="wish.pdf")
    await resident.wait_for("我能收文字、照片或语音")
    await posting.send_content(resident, "换灯泡")
    card = await resident.wait_for(posting.CARD)
    await resident.press(card, "🕒 改时间")
    await resident.wait_for("什么时候之前需要")
    await resident.send("昨天")
    await resident.wait_for("没看懂这个日期")
    await resident.send("2020-01-01")
    await resident.wait_for("这个时间已经过去了")
    await resident.send("/cancel")
    await resident.wait_for("已取消")
    assert await _snapshot(bot) == ([], 0)


async def test_claims_on_cancelled_claimed_or_own_wishes_are_refused(
    bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    helper, other = people["helper"], people["other"]
    cancelled = await _post(bot, RESIDENT, "a")
    services = _services(bot)
    await services.wishes.cancel(await services.users.require(RESIDENT), cancelled)
    taken = await _post(bot, RESIDENT, "b")
    own = await _post(bot, OTHER, "c")
    await helper.send(f"/claim {taken}")
    await helper.wait_for("由您认领了")
    before = await _snapshot(bot)

    await other.send(f"/claim {taken}")
    await other.wait_for("Sorry, 小赵 has already taken this wish.")
    await other.send(f"/claim {cancelled}")
    await other.wait_for("This wish is closed")
    await other.send(f"/claim {own}")
    await other.wait_for("This is your own wish")
    await other.send("/claim 99999")
    await other.wait_for("There is no wish with that number.")
    await other.send("/claim twelve")
    await other.wait_for("Please write the wish number")
    await other.send(f"/claim {taken} team")
    await other.wait_for("You are not in any service team.")
    assert await _snapshot(bot) == before


async def test_a_resident_pressing_a_members_button_is_refused(
    bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, neighbour = people["resident"], people["neighbour"]
    wish_id = await _post(bot, RESIDENT)
    before = await _snapshot(bot)
    answer = await neighbour.press_data(None, ClaimWish(wish_id=wish_id).pack())
    assert answer is not None and "只有党员志愿者才能认领微心愿" in answer
    await neighbour.send(f"/claim {wish_id}")
    await neighbour.wait_for("只有党员志愿者才能认领微心愿")
    await neighbour.send("/wishes")
    await neighbour.wait_for("只有党员志愿者才能认领微心愿")
    await neighbour.send("/mytasks")
    await neighbour.wait_for("抱歉，您没有权限")
    answer = await resident.press_data(None, ReportDone(wish_id=wish_id).pack())
    assert answer is not None and "只有认领这个微心愿的党员志愿者" in answer
    assert await _snapshot(bot) == before


async def test_forged_buttons_for_another_users_wish_change_nothing(
    bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    neighbour, helper, other = people["neighbour"], people["helper"], people["other"]
    services = _services(bot)
    wish_id = await _post(bot, RESIDENT)
    await services.wishes.claim(await services.users.require(HELPER), wish_id)
    await services.wishes.report_done(await services.users.require(HELPER), wish_id, note=None)
    before = await _snapshot(bot)

    for forged in (
        ConfirmDone(wish_id=wish_id).pack(),
        CancelWishSure(wish_id=wish_id).pack(),
        ShowWish(wish_id=wish_id).pack(),
        RateWish(wish_id=wish_id, stars=1).pack(),
        NotDoneYet(wish_id=wish_id).pack(),
    ):
        answer = await neighbour.press_data(None, forged)
        assert answer is not None and "只有发布这个微心愿的人" in answer, forged
    answer = await other.press_data(None, GiveBack(wish_id=wish_id).pack())
    assert answer is not None and "Only the member who took on this wish" in answer
    answer = await helper.press_data(
        None, ConfirmDone(wish_id=wish_id).pack()
    )  # the helper cannot confirm
    assert answer is not None and "只有发布这个微心愿的人" in answer
    answer = await helper.press_data(None, SetParticipant(wish_id=999, user_id=1, on=True).pack())
    assert answer is not None and "没有这个编号的微心愿" in answer
    assert await _snapshot(bot) == before
    async with services.store.read() as conn:
        assert await conn.scalar(select(wishes.c.status)) == WishStatus.DONE.value


async def test_stale_buttons_after_the_state_moved_on(
    bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, helper = people["resident"], people["helper"]
    services = _services(bot)
    wish_id = await _post(bot, RESIDENT)
    await helper.send(f"/claim {wish_id}")
    card = await helper.wait_for(lambda m: "退回微心愿" in str(m.buttons))
    await services.wishes.report_done(await services.users.require(HELPER), wish_id, note="好了")
    ask = await resident.wait_for("办好了吗")
    await resident.press(ask, "是的，办好了")
    await resident.wait_for("打几颗星")
    before = await _snapshot(bot)

    # The helper's card is live: it now shows the confirmation, without "give back" ...
    await helper.wait_for(lambda m: m is card and "已完成" in (m.text or ""), since=0)
    assert "退回微心愿" not in str(card.buttons)
    # ... and a press of the old button (a client that still shows it) changes nothing.
    answer = await helper.press_data(card, GiveBack(wish_id=wish_id).pack())
    assert answer is not None and "已经结束了" in answer  # confirmed: closed for good
    answer = await resident.press(ask, "还没有办好")
    assert answer is not None and "已经结束了" in answer
    # Confirming twice is told as the good news it is (e.g. after the helper's handshake).
    answer = await resident.press(ask, "是的，办好了")
    assert answer is not None and "已经确认过了" in answer
    assert await _snapshot(bot) == before


async def test_limits_unregistered_users_and_group_chats(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident = people["resident"]
    for n in range(_services(bot).settings.max_open_wishes):
        await _post(bot, RESIDENT, f"wish {n}")
    await resident.send("/wish")
    await resident.wait_for("已到上限")
    await resident.send("/teams")
    await resident.wait_for("抱歉，您没有权限")
    answer = await resident.press_data(None, "tm:act:1:0")
    assert answer is not None and "抱歉，您没有权限" in answer
    stranger = fake.user(555, "Stranger")
    await stranger.send("/wish")
    await stranger.wait_for("请先发送 /start")
    group = fake.group(-100777, "楼栋群")
    await resident.send("/wish", chat=group)
    await group.wait_for("请在与我的私聊中进行此操作")
    rows, _ = await _snapshot(bot)
    assert len(rows) == _services(bot).settings.max_open_wishes


async def test_a_closed_wish_is_not_shown_to_a_member_with_no_part_in_it(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    services = _services(bot)
    wish_id = await _post(bot, RESIDENT)
    await services.wishes.cancel(await services.users.require(RESIDENT), wish_id)
    answer = await people["other"].press_data(None, ShowWish(wish_id=wish_id).pack())
    assert answer is not None and "Only the person who posted this wish" in answer
