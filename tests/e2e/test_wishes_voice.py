"""Voice wherever words are asked in the wish flow, over the real bot and the fake Bot API: a
done report, "not done" and a thank-you said as a voice note reach the other side as a voice
note; members hear (or see) an open wish before taking it on, without the resident's contact
details; a voice note sent outside any dialogue is offered as a new wish."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.models import Role, Skill, WishCategory, WishStatus
from bot.services import Services
from bot.services.wishes import WishDraft
from handlers.wishes.buttons import MediaKind, PlayMedia
from storage import org
from storage import users as users_repo
from storage.schema import wish_events, wishes
from tests.conftest import COORDINATOR_ID
from tests.e2e import posting
from tests.e2e.conftest import RunningBot, settings_with
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

GROUP = -1001234567
PHONE = "13911112222"
ROOM = "7-702B"
RESIDENT, HELPER, OTHER, COORDINATOR, FAR_MEMBER = 1, 10, 11, COORDINATOR_ID, 20
USE_BUTTONS = "请用上面的按钮选择"


@pytest.fixture
def bot_settings(tmp_path: Path, fake: FakeBotApi) -> Settings:
    fake.group(GROUP, "党员志愿者群")
    return settings_with(tmp_path, fake, members_group_id=GROUP)


def _services(bot: RunningBot) -> Services:
    assert bot.services is not None
    return bot.services


@pytest.fixture
async def people(bot: RunningBot, fake: FakeBotApi) -> AsyncIterator[dict[str, FakeUser]]:
    """A resident with a phone and room in 7号楼, two repair members there, a coordinator."""
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
    }


async def _post(bot: RunningBot, **fields: object) -> int:
    services = _services(bot)
    resident = await services.users.require(RESIDENT)
    draft = WishDraft(category=WishCategory.REPAIRS, **fields)  # type: ignore[arg-type]
    return (await services.wishes.post(resident, draft)).id


async def _claimed(bot: RunningBot, **fields: object) -> int:
    wish_id = await _post(bot, **fields)
    services = _services(bot)
    await services.wishes.claim(await services.users.require(HELPER), wish_id)
    return wish_id


def _sent_to(fake: FakeBotApi, chat_id: int) -> list[FakeMessage]:
    return [m for m in fake.messages if m.chat_id == chat_id and m.from_bot]


def _assert_nothing_private(fake: FakeBotApi, chat_id: int) -> None:
    for message in _sent_to(fake, chat_id):
        body = " ".join(filter(None, [message.text, message.caption, str(message.buttons)]))
        assert PHONE not in body and ROOM not in body, message


async def test_done_report_and_not_done_said_as_voice_notes(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, helper = people["resident"], people["helper"]
    wish_id = await _claimed(bot, text="厨房的灯坏了")
    await helper.send("/mytasks")
    tasks = await helper.wait_for("我的任务")
    await helper.press(tasks, tasks.buttons[0][0])
    await helper.press(await helper.wait_for(lambda m: "报告完成" in str(m.buttons)), "报告完成")
    await helper.wait_for("或一条语音")
    await helper.send_voice("DONE-VOICE", 12)
    await helper.press(await helper.wait_for("居民给您确认码了吗"), "没有确认码，请居民确认")
    await helper.wait_for("已请居民确认")

    ask = await resident.wait_for(lambda m: m.voice == "DONE-VOICE")
    assert ask.caption is not None and "办好了吗" in ask.caption and "语音" in ask.caption
    await resident.press(ask, "还没有办好")
    await resident.wait_for("哪里还没办好")
    await resident.send_sticker()  # neither words nor a voice note: told what is asked
    hint = await resident.wait_for("请写几句话，或者发一条语音")
    assert USE_BUTTONS not in (hint.text or "")
    await resident.send_voice("NOT-DONE-VOICE", 8)
    await resident.wait_for("他会再来看看")

    back = await helper.wait_for(lambda m: m.voice == "NOT-DONE-VOICE")
    assert back.caption is not None and "还没有办好" in back.caption and "王奶奶" in back.caption
    assert "报告完成" in str(back.buttons)
    services = _services(bot)
    async with services.store.read() as conn:
        row = (await conn.execute(select(wishes).where(wishes.c.id == wish_id))).one()
        spoken = await conn.scalar(
            select(wish_events.c.voice_file_id).where(wish_events.c.kind == "not_done")
        )
    assert row.status == WishStatus.CLAIMED.value and row.done_voice_file_id is None
    assert spoken == "NOT-DONE-VOICE"
    await fake.wait_idle()
    assert all(USE_BUTTONS not in (m.text or "") for m in _sent_to(fake, RESIDENT))


async def test_a_wish_given_back_with_a_voice_note_tells_the_resident_by_voice(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, helper = people["resident"], people["helper"]
    await _claimed(bot, text="想请人修一下门锁")
    await helper.send("/mytasks")
    tasks = await helper.wait_for("我的任务")
    await helper.press(tasks, tasks.buttons[0][0])
    card = await helper.wait_for(lambda m: "退回微心愿" in str(m.buttons))
    await helper.press(card, "退回微心愿")
    await helper.wait_for("为什么不能办")
    await helper.send_document(file_name="why.pdf")
    hint = await helper.wait_for("请写几句话，或者发一条语音")
    assert USE_BUTTONS not in (hint.text or "")
    await helper.send_voice("RELEASE-VOICE", 9)
    await helper.wait_for("已重新开放")
    told = await resident.wait_for(lambda m: m.voice == "RELEASE-VOICE")
    assert told.caption is not None and "原因在这条语音里" in told.caption


async def test_a_thank_you_said_as_a_voice_note_reaches_the_helper(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, helper = people["resident"], people["helper"]
    wish_id = await _claimed(bot, text="想请人换个灯泡")
    services = _services(bot)
    await services.wishes.report_done(await services.users.require(HELPER), wish_id, note="好了")
    await resident.press(await resident.wait_for("办好了吗"), "是的，办好了")
    await resident.press(await resident.wait_for("打几颗星"), "★★★★★")
    await resident.press(await resident.wait_for("想写几句感谢的话吗"), "写几句感谢")
    await resident.wait_for("或者发一条语音")
    await resident.send_photo("NOT-A-THANKS")
    hint = await resident.wait_for("请写几句话，或者发一条语音")
    assert USE_BUTTONS not in (hint.text or "")
    await resident.send_voice("THANKS-VOICE", 5)
    await resident.wait_for("您的话已经送到")

    thanks = await helper.wait_for(lambda m: m.voice == "THANKS-VOICE")
    assert thanks.caption is not None and "感谢的语音" in thanks.caption
    assert "王奶奶" in thanks.caption
    async with services.store.read() as conn:
        row = (await conn.execute(select(wishes).where(wishes.c.id == wish_id))).one()
    assert row.thanks_voice_file_id == "THANKS-VOICE" and row.thanks is None
    # Once only: the card offers no second thank-you.
    await resident.send("/mywishes")
    mine = await resident.wait_for("我的心愿")
    await resident.press(mine, mine.buttons[0][0])
    card = await resident.wait_for("感谢的话是一条语音")
    assert "写几句感谢" not in str(card.buttons)


async def test_members_listen_to_a_voice_wish_before_claiming_without_the_contact(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    helper, other = people["helper"], people["other"]
    fake.register_file("WISH-VOICE", "voice")  # as if the resident had sent them
    fake.register_file("WISH-PHOTO", "photo")
    wish_id = await _post(bot, voice_file_id="WISH-VOICE")
    photo_id = await _post(bot, photo_file_id="WISH-PHOTO")

    offer = await other.wait_for(lambda m: f"#{wish_id}" in (m.text or ""))
    await other.press(offer, "▶ 听语音")
    heard = await other.wait_for(lambda m: m.voice == "WISH-VOICE")
    assert heard.caption is not None and f"#{wish_id}" in heard.caption
    assert "7号楼" in heard.caption and "家庭维修" in heard.caption

    await helper.send("/wishes")
    listing = await helper.wait_for("待认领的微心愿")
    labels = [label for label, _ in listing.buttons]
    assert f"#{wish_id} 🎤 语音微心愿 · 家庭维修 · 7号楼" in labels
    assert f"#{photo_id} 🖼 照片微心愿 · 家庭维修 · 7号楼" in labels
    await helper.press(listing, f"#{wish_id} 🎤 语音微心愿 · 家庭维修 · 7号楼")
    card = await helper.wait_for(lambda m: "▶ 听语音" in str(m.buttons))
    await helper.press(card, "▶ 听语音")
    await helper.wait_for(lambda m: m.voice == "WISH-VOICE")
    await helper.press_data(None, PlayMedia(kind=MediaKind.PHOTO, wish_id=photo_id).pack())
    seen = await helper.wait_for(lambda m: m.photo == "WISH-PHOTO")
    assert "我来帮忙" in str(seen.buttons)  # heard or seen, it can be taken on from there

    # From the members' group's wish wall too, the voice note comes privately.
    wall = await fake.group(GROUP).wait_for(lambda m: f"#{wish_id}" in (m.text or ""), since=0)
    await other.press(wall, "▶ 听语音")
    await other.wait_for(lambda m: m.voice == "WISH-VOICE")

    await fake.wait_idle()
    assert not any(m.voice or m.photo for m in fake.group(GROUP).inbox)
    for member in (HELPER, OTHER):
        _assert_nothing_private(fake, member)
    async with _services(bot).store.read() as conn:
        statuses = set((await conn.scalars(select(wishes.c.status))).all())
    assert statuses == {WishStatus.OPEN.value}  # listening claims nothing


async def test_a_forged_listen_button_from_another_community_is_refused(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    services = _services(bot)
    wish_id = await _post(bot, voice_file_id="WISH-VOICE")
    coordinator = await services.users.require(COORDINATOR)
    (street,) = await services.admin.streets(coordinator)
    far = (await services.admin.add_community(coordinator, street.id, "河畔社区")).id
    await services.users.register(
        FAR_MEMBER, display_name="小孙", language="zh", building_id=None, community_id=far
    )
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, FAR_MEMBER, Role.MEMBER, None, services.clock.now())
    stranger = fake.user(FAR_MEMBER, "Sun")

    answer = await stranger.press_data(
        None, PlayMedia(kind=MediaKind.VOICE, wish_id=wish_id).pack()
    )
    assert answer is not None and "没有这个编号的微心愿" in answer
    # Once taken on, the wish is no longer open to other members of its own community either.
    await services.wishes.claim(await services.users.require(HELPER), wish_id)
    answer = await people["other"].press_data(
        None, PlayMedia(kind=MediaKind.VOICE, wish_id=wish_id).pack()
    )
    assert answer is not None and "只有发布这个微心愿的人" in answer
    await fake.wait_idle()
    assert not any(m.voice for m in _sent_to(fake, FAR_MEMBER))
    assert not any(m.voice for m in _sent_to(fake, OTHER))


async def test_a_voice_note_outside_any_dialogue_is_offered_as_a_wish(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, helper = people["resident"], people["helper"]
    await resident.send_voice("STRAY-VOICE", 42)
    offer = await resident.wait_for("要把这条语音发成微心愿吗")
    assert "我没有看懂" not in (offer.text or "")
    await resident.press(offer, "🙋 发成微心愿")
    check = await resident.wait_for(posting.CARD)
    assert check is offer  # the offer itself becomes the card
    assert "附有语音" in check.text and "帮助类型：其他" in check.text
    assert "需要时间：不着急" in check.text
    check = await posting.change(resident, check, kind="家庭维修")
    await resident.press(check, "✅ 发布")
    await resident.wait_for("已发布")

    offered = await helper.wait_for("新微心愿")
    assert "语音微心愿" in offered.text and "▶ 听语音" in str(offered.buttons)
    async with _services(bot).store.read() as conn:
        row = (await conn.execute(select(wishes))).one()
    assert row.voice_file_id == "STRAY-VOICE" and row.category == WishCategory.REPAIRS.value

    # A photo can be declined: nothing is posted, and the next /wish starts empty.
    await resident.send_photo("STRAY-PHOTO")
    offer = await resident.wait_for("要把这张照片发成微心愿吗")
    await resident.press(offer, "不用了")
    await resident.wait_for("没有发布")
    check = await posting.open_card(resident, "想请人帮忙换灯泡")
    assert "附有照片" not in check.text and "附有语音" not in check.text  # nothing carried over
    await resident.press(check, "✖ 取消")
    await resident.wait_for("没有发布")
    async with _services(bot).store.read() as conn:
        assert len((await conn.execute(select(wishes.c.id))).all()) == 1


async def test_a_stray_photo_with_too_long_words_is_answered_at_once_and_offers_nothing(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    """The words come with the photo: too long, she is told while she can still send it
    again shorter — not after "Post as a wish", when nothing would be left to post."""
    resident = people["resident"]
    await resident.send_photo("LONG-PHOTO", caption="楼道灯坏了" * 120)
    refusal = await resident.wait_for("太长")
    assert refusal.buttons == []
    await resident.send_photo("SHORT-PHOTO", caption="楼道灯坏了")
    offer = await resident.wait_for("要把这张照片发成微心愿吗")
    await resident.press(offer, "🙋 发成微心愿")
    check = await resident.wait_for(posting.CARD)
    assert "楼道灯坏了" in check.text and "附有照片" in check.text


async def test_more_said_while_the_card_is_shown_is_added_to_the_wish(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident = people["resident"]
    await posting.open_card(resident, "想请人修一下门锁")
    await resident.send("还有厨房的灯也不亮")
    check = await resident.wait_for(posting.CARD)
    await resident.send_voice("MORE-VOICE", 5)
    check = await resident.wait_for(lambda m: "附有语音" in (m.text or ""))
    assert "想请人修一下门锁\n还有厨房的灯也不亮" in check.text
    await resident.press(check, "✅ 发布")
    await resident.wait_for("已发布")
    async with _services(bot).store.read() as conn:
        row = (await conn.execute(select(wishes))).one()
    assert row.text == "想请人修一下门锁\n还有厨房的灯也不亮" and row.voice_file_id == "MORE-VOICE"
