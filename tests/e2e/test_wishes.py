"""Wishes over the real bot and the fake Bot API: residents post (text, photo, voice, urgent,
on someone's behalf), members are offered and claim (alone or as a team), report done,
residents confirm, rate and thank. Contact details reach only the claimer and coordinators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import Settings
from bot.models import Role, Skill, WishStatus
from bot.services import Services
from handlers.wishes.buttons import ShowWish
from storage import org
from storage import users as users_repo
from storage.schema import wishes
from tests.conftest import COORDINATOR_ID
from tests.e2e import posting
from tests.e2e.conftest import RunningBot, settings_with
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

GROUP = -1001234567
PHONE = "13911112222"
ROOM = "7-702B"
RESIDENT, HELPER, OTHER, COORDINATOR = 1, 10, 11, COORDINATOR_ID
NO_CODE = "没有确认码，请居民确认"  # the resident confirms, as before the handshake


@pytest.fixture
def bot_settings(tmp_path: Path, fake: FakeBotApi) -> Settings:
    fake.group(GROUP, "党员志愿者群")
    return settings_with(tmp_path, fake, members_group_id=GROUP)


@pytest.fixture
async def people(bot: RunningBot, fake: FakeBotApi) -> AsyncIterator[dict[str, FakeUser]]:
    """A resident with a phone and room, two repair members in her building, a coordinator."""
    services = _services(bot)
    async with services.store.transaction() as conn:
        building = await org.add_building(
            conn, services.default_community_id, "7号楼", services.clock.now()
        )
    await services.users.register(
        RESIDENT,
        display_name="王奶奶",
        language="zh",
        building_id=building.id,
        room=ROOM,
        phone=PHONE,
    )
    for uid, name in ((HELPER, "小赵"), (OTHER, "小钱")):
        await services.users.register(
            uid, display_name=name, language="zh", building_id=building.id
        )
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, uid, Role.MEMBER, None, services.clock.now())
            await users_repo.set_skills(conn, uid, {Skill.REPAIRS})
    await services.users.register(
        COORDINATOR, display_name="李书记", language="zh", building_id=None
    )
    yield {
        "resident": fake.user(RESIDENT, "Wang"),
        "helper": fake.user(HELPER, "Zhao"),
        "other": fake.user(OTHER, "Qian"),
        "coordinator": fake.user(COORDINATOR, "Li"),
    }


def wish_id_of(message: FakeMessage) -> int:
    """The wish number behind the first button of an offer or list."""
    data = message.buttons[0][1]
    assert data is not None
    return int(data.split(":")[-1])


def _services(bot: RunningBot) -> Services:
    assert bot.services is not None
    return bot.services


def assert_private(fake: FakeBotApi, allowed: set[int], *secrets: str) -> None:
    """Every message the bot sent: the secrets appear only in the allowed chats."""
    for message in fake.messages:
        body = " ".join(filter(None, [message.text, message.caption, str(message.buttons)]))
        for version in message.edited:
            body += " " + " ".join(filter(None, [version.text, version.caption]))
        for secret in secrets:
            if secret in body:
                assert message.chat_id in allowed, (secret, message)


async def post_wish(
    resident: FakeUser, text: str = "厨房的灯坏了，想请人帮忙换一下"
) -> FakeMessage:
    return await posting.post(resident, text, kind="家庭维修", when="明天")


async def test_whole_path_from_wish_to_thanks(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, helper, coordinator = people["resident"], people["helper"], people["coordinator"]
    await post_wish(resident)
    offer = await helper.wait_for("新微心愿")
    assert "家庭维修" in offer.text and PHONE not in offer.text
    wall = await fake.group(GROUP).wait_for("新微心愿", since=0)

    await helper.press(offer, "我来帮忙")
    card = await helper.wait_for(PHONE)
    assert ROOM in card.text and "王奶奶" in card.text
    await resident.wait_for("小赵 认领了您的微心愿")
    await fake.group(GROUP).wait_for(lambda m: m is wall and "已由 小赵 认领" in (m.text or ""))

    await helper.send("/mytasks")
    tasks = await helper.wait_for("我的任务")
    await helper.press(tasks, tasks.buttons[0][0])
    task = await helper.wait_for(lambda m: "报告完成" in str(m.buttons))
    await helper.press(task, "报告完成")
    await helper.wait_for("请简单写一下办了什么")
    await helper.send("灯换好了，顺便检查了开关")
    await helper.press(await helper.wait_for("居民给您确认码了吗"), NO_CODE)
    await helper.wait_for("已请居民确认")

    ask = await resident.wait_for("办好了吗")
    assert "灯换好了" in ask.text
    # Short list buttons; the helper sees whom the wish waits for, the resident what to do.
    await helper.send("/mytasks")
    tasks = await helper.wait_for("我的任务")
    title = "厨房的灯坏了，想请人帮…"  # 11 Chinese characters and "…" fit a phone's button
    assert [text for text, _ in tasks.buttons] == [f"#{wish_id_of(offer)} 待居民确认 · {title}"]
    await resident.send("/mywishes")
    mine = await resident.wait_for("我的心愿")
    assert [text for text, _ in mine.buttons] == [f"#{wish_id_of(offer)} 待确认 · {title}"]
    await resident.press(ask, "是的，办好了")
    stars = await resident.wait_for("打几颗星")
    await resident.press(stars, "★★★★★")
    more = await resident.wait_for("想写几句感谢的话吗")
    await resident.press(more, "写几句感谢")
    await resident.wait_for("请写下您的感谢")
    await resident.send("谢谢小赵，<灯>很亮！")
    await resident.wait_for("您的话已经送到")

    thanks = await helper.wait_for("谢谢小赵，<灯>很亮！")
    assert "王奶奶" in thanks.text
    await helper.wait_for("★★★★★", since=0)
    services = _services(bot)
    async with services.store.read() as conn:
        status = await conn.scalar(select(wishes.c.status))
    assert status == WishStatus.CONFIRMED.value
    wish_id = wish_id_of(offer)
    assert [p.user_id for p in await services.wishes.participants(wish_id)] == [HELPER]
    await fake.wait_idle()
    assert_private(fake, {HELPER, COORDINATOR}, PHONE, ROOM)
    assert coordinator.inbox == []


async def test_a_typed_claim_is_answered_by_the_card_alone(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    """One answer per claim: the card, which says the wish is theirs, what to do next and
    (only to them) how to reach the resident; no separate confirmation before it."""
    resident, helper = people["resident"], people["helper"]
    await post_wish(resident)
    wish_id = wish_id_of(await helper.wait_for("新微心愿"))
    await fake.wait_idle()
    before = len(helper.inbox)

    await helper.send(f"/claim {wish_id}")
    card = await helper.wait_for("由您认领了")
    await resident.wait_for("小赵 认领了您的微心愿")
    await fake.wait_idle()
    assert helper.inbox[before:] == [card]
    assert PHONE in card.text and ROOM in card.text and "报告完成" in card.text
    assert "报告完成" in [label for label, _ in card.buttons]
    # Anyone else who opens the card is not told it is theirs.
    coordinator = people["coordinator"]
    await coordinator.press_data(None, ShowWish(wish_id=wish_id).pack())
    shown = await coordinator.wait_for(PHONE)
    assert "由您认领了" not in shown.text


async def test_photo_and_voice_wishes_reach_the_claimer_only(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, helper, other = people["resident"], people["helper"], people["other"]
    check = await posting.open_card(resident, "水龙头漏水", photo="PHOTO-TAP")
    check = await posting.change(resident, check, kind="家庭维修")
    assert "附有照片" in check.text and "水龙头漏水" in check.text
    assert "帮助类型：家庭维修" in check.text and "需要时间：不着急" in check.text
    await resident.press(check, "✅ 发布")
    await resident.wait_for("已发布")

    check = await posting.open_card(resident, voice="VOICE-1")
    check = await posting.change(resident, check, kind="心理疏导")
    await resident.press(check, "🕒 改时间")
    await resident.wait_for("什么时候之前需要")
    await resident.send("12-31")  # typed date: a new card
    check = await resident.wait_for(posting.CARD)
    assert "附有语音" in check.text and "帮助类型：心理疏导" in check.text
    assert "需要时间：" in check.text and "不着急" not in check.text
    await resident.press(check, "✅ 发布")
    await resident.wait_for("已发布")

    offer = await other.wait_for("水龙头漏水")
    assert "附有照片" in offer.text
    await helper.send("/wishes")
    listing = await helper.wait_for("待认领的微心愿")
    photo_wish = next(text for text, _ in listing.buttons if "水龙头漏水" in text)
    await helper.press(listing, photo_wish)
    card = await helper.wait_for(lambda m: "我来帮忙" in str(m.buttons))
    assert "附有照片" in card.text and PHONE not in card.text
    await helper.press(card, "我来帮忙")
    photo = await helper.wait_for(lambda m: m.photo == "PHOTO-TAP")
    assert photo.caption is not None and "心愿" in photo.caption
    voice_id = int(str(next(d for t, d in listing.buttons if "语音" in t)).split(":")[-1])
    await helper.send(f"/claim {voice_id}")
    await helper.wait_for(lambda m: m.voice == "VOICE-1")
    await fake.wait_idle()
    for message in fake.messages:
        if message.photo == "PHOTO-TAP" or message.voice == "VOICE-1":
            assert message.chat_id == HELPER


async def test_team_claim_leader_assigns_and_everyone_is_credited(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, zhao, qian, li = (
        people["resident"],
        people["helper"],
        people["other"],
        people["coordinator"],
    )
    await li.send("/teams")
    await li.press(await li.wait_for("服务队"), "新建服务队")
    await li.wait_for("新服务队叫什么名字")
    await li.send("维修服务队")
    await li.press(await li.wait_for("什么类型"), "家政服务队")
    await li.wait_for("谁当队长")
    await li.send("钱")
    await li.press(await li.wait_for("请选择"), f"小钱 ({OTHER})")
    card = await li.wait_for("队长：小钱")
    await li.press(card, "添加队员")
    await li.wait_for("请谁加入")
    await li.send("赵")
    await li.press(await li.wait_for("请选择"), f"小赵 ({HELPER})")
    await li.wait_for(lambda m: "队员（2 人）" in (m.text or ""))

    await post_wish(resident, "想请人修一下门锁")
    wish_id = wish_id_of(await zhao.wait_for("门锁"))
    await zhao.send(f"/claim {wish_id} team")
    await zhao.wait_for(PHONE)
    ask = await qian.wait_for("请在“🧰 我的任务”里安排谁参加")
    await qian.press(ask, "我的任务")
    tasks = await qian.wait_for("我的任务")
    await qian.press(tasks, tasks.buttons[0][0])
    card = await qian.wait_for(lambda m: "安排参加人员" in str(m.buttons))
    assert PHONE not in card.text  # the leader is not the claimer
    await qian.press(card, "安排参加人员")
    menu = await qian.wait_for("谁参加微心愿")
    await qian.press(menu, "▫️ 小钱")
    await qian.wait_for(lambda m: "✅ 小钱" in str(m.buttons))

    await zhao.send("/mytasks")
    tasks = await zhao.wait_for("我的任务")
    await zhao.press(tasks, tasks.buttons[0][0])
    await zhao.press(await zhao.wait_for(lambda m: "报告完成" in str(m.buttons)), "报告完成")
    skip = await zhao.wait_for("请简单写一下办了什么")
    await zhao.press(skip, "跳过")
    await zhao.press(await zhao.wait_for("居民给您确认码了吗"), NO_CODE)
    await zhao.wait_for("已请居民确认")
    await resident.press(await resident.wait_for("办好了吗"), "是的，办好了")
    await resident.wait_for("打几颗星")
    await qian.wait_for("确认微心愿")
    credited = await _services(bot).wishes.participants(wish_id)
    assert [p.user_id for p in credited] == [HELPER, OTHER]
    assert all(p.team_id is not None for p in credited)
    await fake.wait_idle()
    assert_private(fake, {HELPER, COORDINATOR}, PHONE, ROOM)


async def test_proxy_wish_for_a_neighbour_without_a_phone(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    qian, zhao, resident = people["other"], people["helper"], people["resident"]
    await resident.send("/wish_for")
    await resident.wait_for("只有党员志愿者")  # residents cannot post for others
    await qian.send("/wish_for")
    await qian.wait_for("他叫什么名字")
    await qian.send("刘爷爷")
    await qian.press(await qian.wait_for("他住在哪个楼院"), "7号楼")
    await qian.wait_for("房号")
    await qian.send("5-502C")
    await qian.wait_for("能联系到他的电话")
    await qian.send("13700001111")
    await qian.wait_for("您想请人帮什么忙")
    await posting.send_content(qian, "想请人陪我去医院复查")
    check = await qian.wait_for(posting.CARD)
    check = await posting.change(qian, check, kind="照顾老人", when="三天内")
    assert "求助人：刘爷爷（代发）" in check.text and "帮助类型：照顾老人" in check.text
    await qian.press(check, "✅ 发布")
    await qian.wait_for("已发布")

    await zhao.send("/wishes")
    listing = await zhao.wait_for("待认领的微心愿")
    await zhao.press(listing, listing.buttons[0][0])
    card = await zhao.wait_for("求助人：刘爷爷")
    assert "5-502C" not in card.text and "13700001111" not in card.text
    await zhao.press(card, "我来帮忙")
    contact = await zhao.wait_for("13700001111")
    assert "5-502C" in contact.text and "刘爷爷" in contact.text
    await qian.wait_for("小赵 认领了您的微心愿")
    await fake.wait_idle()
    assert_private(fake, {HELPER, COORDINATOR}, "13700001111", "5-502C")


async def test_urgent_request_alerts_neighbours_then_escalates(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser], clock: ManualClock
) -> None:
    resident, zhao, li = people["resident"], people["helper"], people["coordinator"]
    await resident.send("/urgent")
    await resident.wait_for("您现在需要什么帮助")
    await resident.send("我在家摔倒了，起不来")
    check = await resident.wait_for("紧急求助 — 请核对")
    await resident.press(check, "✅ 发布")
    await resident.wait_for("紧急求助")
    alert = await zhao.wait_for("紧急求助")
    assert "摔倒" in alert.text
    assert li.inbox == []

    clock.advance(minutes=_services(bot).settings.urgent_escalate_minutes + 1)
    await _services(bot).reminders.run_due()
    escalated = await li.wait_for("还没有人认领")
    await li.press(escalated, "详情")
    card = await li.wait_for(PHONE)  # coordinators see the contact
    assert ROOM in card.text
    await resident.wait_for("请社区工作人员来帮忙")
    await fake.wait_idle()
    assert_private(fake, {HELPER, COORDINATOR}, PHONE, ROOM)


async def test_release_reopens_and_offers_again(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, zhao, qian = people["resident"], people["helper"], people["other"]
    await post_wish(resident)
    offer = await zhao.wait_for("新微心愿")
    await qian.wait_for("新微心愿")
    await zhao.press(offer, "我来帮忙")
    card = await zhao.wait_for(lambda m: "退回微心愿" in str(m.buttons))
    await zhao.press(card, "退回微心愿")
    await zhao.wait_for("为什么不能办")
    await zhao.send("临时要出差")
    await zhao.wait_for("已重新开放")
    await resident.wait_for("临时要出差")
    again = await qian.wait_for("新微心愿")  # offered again
    await qian.press(again, "我来帮忙")
    await qian.wait_for(PHONE)
    await fake.group(GROUP).wait_for(lambda m: "已由 小钱 认领" in (m.text or ""), since=0)
    assert len([m for m in zhao.inbox if "新微心愿" in (m.text or "")]) == 1


async def test_cancel_from_my_wishes_closes_the_wall_post(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, zhao = people["resident"], people["helper"]
    await post_wish(resident)
    await fake.group(GROUP).wait_for("新微心愿", since=0)
    await resident.send("/mywishes")
    mine = await resident.wait_for("我的心愿")
    await resident.press(mine, mine.buttons[0][0])
    card = await resident.wait_for(lambda m: "取消这个微心愿" in str(m.buttons))
    await resident.press(card, "取消这个微心愿")
    sure = await resident.wait_for("取消微心愿")
    await resident.press(sure, "是的，取消")
    await resident.wait_for("已取消")
    await fake.group(GROUP).wait_for(lambda m: "这个微心愿已经结束" in (m.text or ""), since=0)
    offer = await zhao.wait_for("新微心愿", since=0)
    reply = await zhao.press(offer, "我来帮忙")
    assert reply is not None and "已经结束" in reply


async def test_claim_from_the_wish_wall_sends_the_contact_privately(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, qian = people["resident"], people["other"]
    group = fake.group(GROUP)
    await post_wish(resident)
    wall = await group.wait_for("新微心愿", since=0)
    await fake.wait_idle()
    answer = await qian.press(wall, "我来帮忙")
    assert answer is not None and "由您来办了" in answer
    await qian.wait_for(PHONE)  # in the private chat
    await group.wait_for(lambda m: m is wall and "已由 小钱 认领" in (m.text or ""))
    answer = await people["helper"].press(wall, "我来帮忙") if wall.buttons else None
    await fake.wait_idle()
    assert all(PHONE not in (m.text or "") for m in group.inbox)
    assert answer is None  # the claim button is gone from the wall post
    assert_private(fake, {OTHER, COORDINATOR}, PHONE, ROOM)


async def test_not_done_goes_back_to_the_helper_with_the_residents_words(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, zhao = people["resident"], people["helper"]
    await post_wish(resident)
    await zhao.press(await zhao.wait_for("新微心愿"), "我来帮忙")
    await zhao.wait_for(PHONE)
    await zhao.send("/mytasks")
    tasks = await zhao.wait_for("我的任务")
    await zhao.press(tasks, tasks.buttons[0][0])
    await zhao.press(await zhao.wait_for(lambda m: "报告完成" in str(m.buttons)), "报告完成")
    await zhao.wait_for("请简单写一下办了什么")
    await zhao.send_photo("PHOTO-DONE", caption="换好了")
    await zhao.press(await zhao.wait_for("居民给您确认码了吗"), NO_CODE)
    await zhao.wait_for("已请居民确认")
    ask = await resident.wait_for(lambda m: m.photo == "PHOTO-DONE")
    assert ask.caption is not None and "换好了" in ask.caption
    await resident.press(ask, "还没有办好")
    await resident.wait_for("哪里还没办好")
    await resident.send("灯还是一闪一闪的")
    await resident.wait_for("他会再来看看")
    back = await zhao.wait_for("灯还是一闪一闪的")
    await zhao.press(back, "报告完成")
    await zhao.wait_for("请简单写一下办了什么")
    await zhao.send("这次换了镇流器")
    await zhao.press(await zhao.wait_for("居民给您确认码了吗"), NO_CODE)
    ask = await resident.wait_for("这次换了镇流器")
    await resident.press(ask, "是的，办好了")
    await resident.wait_for("打几颗星")


async def test_expired_wish_is_offered_to_post_again(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser], clock: ManualClock
) -> None:
    resident = people["resident"]
    await posting.post(resident, "想找人陪我下棋", kind="生活帮助", when="今天")
    clock.advance(days=2)
    await _services(bot).reminders.run_due()
    asked = await resident.wait_for("要重新发布吗")
    await resident.press(asked, "重新发布")
    await resident.wait_for("已重新发布为微心愿")
    await resident.send("/mywishes")
    mine = await resident.wait_for("我的心愿")
    assert [text.split(" ")[1] for text, _ in mine.buttons] == ["待认领", "已过期"]


async def test_another_command_leaves_the_wish_dialogue(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident = people["resident"]
    await resident.send("/profile")  # its menu stays open in the background
    await fake.wait_idle()
    await post_wish(resident, "想请人帮忙贴春联")  # typed text still reaches the wish
    await resident.send("/wish")
    await resident.wait_for("您想请人帮什么忙")
    await resident.send("/mywishes")  # changed her mind: the command runs as usual
    await resident.wait_for("我的心愿")
    await resident.send("你好")  # not taken as a wish any more
    await fake.wait_idle()
    page = await _services(bot).wishes.mine(await _services(bot).users.require(RESIDENT))
    assert [w.text for w in page.wishes] == ["想请人帮忙贴春联"]
