"""Suggestions (社区智囊团) over the real bot and the fake Bot API: a resident (in English)
leaves an anonymous suggestion with a photo — a sticker and an over-long text refused on the
way, nothing made — the coordinator (in zh) is told, opens it, sees the photo (sent to them
alone) and replies; the resident receives the reply in English and finds it in "my
suggestions". Nothing the Bot API carried to the coordinator's chat, and no answer to a
press, holds the resident's id or name. A member records one heard face to face and receives
the reply to pass on; a resident pressing a coordinator's forged button, or a member's, is
refused with nothing changed."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot.models import Role, SuggestionStatus, SuggestionTopic, WishCategory
from bot.services import Services
from bot.services.suggestions import SuggestionDraft, SuggestionEvent
from bot.services.wishes import WishDraft
from handlers.suggestions.buttons import SuggestionMove, SuggestionOpen, SuggestNew
from storage import org
from storage import users as users_repo
from storage.schema import suggestion_replies, suggestions
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeUser

GRANNY_ID, GRANNY = 7_654_321, "张奶奶"
MEMBER_ID = 7_654_322
LAMP = "3号楼门口的路灯坏了一个月，晚上看不见路"
ANSWER = "已请物业今晚修好路灯，谢谢您！"


@dataclass
class Place:
    services: Services
    granny: FakeUser  # a resident of 7号楼, in English
    member: FakeUser  # 王党员, a member
    coordinator: FakeUser  # 李书记, the district's, in zh


@pytest.fixture
async def place(bot: RunningBot, fake: FakeBotApi) -> Place:
    assert bot.services is not None
    services = bot.services
    now = services.clock.now()
    async with services.store.transaction() as conn:
        building = await org.add_building(conn, services.default_community_id, "7号楼", now)
    await services.users.register(
        GRANNY_ID, display_name=GRANNY, language="en", building_id=building.id, room="3-201"
    )
    await services.users.register(
        MEMBER_ID, display_name="王党员", language="zh", building_id=building.id
    )
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, MEMBER_ID, Role.MEMBER, None, now)
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    return Place(
        services=services,
        granny=fake.user(GRANNY_ID, "Zhang", language_code="en"),
        member=fake.user(MEMBER_ID, "Wang", language_code="zh"),
        coordinator=fake.user(COORDINATOR_ID, "Li", language_code="zh"),
    )


async def _count(services: Services) -> int:
    async with services.store.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(suggestions)) or 0)


async def _status(services: Services) -> tuple[str, object]:
    async with services.store.read() as conn:
        row = (await conn.execute(select(suggestions))).mappings().one()
    return row["status"], row["answered_at"]


def _to_coordinator(fake: FakeBotApi) -> str:
    """Everything the bot sent the coordinator's chat and every answer to a press, as text."""
    seen = [
        json.dumps(call.params, ensure_ascii=False, default=str)
        for call in fake.calls
        if str(call.params.get("chat_id")) == str(COORDINATOR_ID)
        or call.method.lower() == "answercallbackquery"
    ]
    for message in fake.sent_to(COORDINATOR_ID):
        seen += [message.text or "", message.caption or "", json.dumps(message.buttons)]
    return "\n".join(seen)


async def test_an_anonymous_suggestion_with_a_photo_is_answered_in_the_residents_language(
    fake: FakeBotApi, place: Place
) -> None:
    granny, coordinator, services = place.granny, place.coordinator, place.services
    await granny.send("/suggest")
    menu = await granny.wait_for("Community think-tank")
    assert "Record one heard" not in str(menu.buttons)  # a member's choice only
    await granny.press(menu, "✍️ Leave a suggestion")
    topics = await granny.wait_for("Please choose a topic")
    await granny.press(topics, "Safety")
    await granny.wait_for("please type your view")
    await granny.send_sticker()
    await granny.wait_for("I can take words, a photo or a voice note")
    await granny.send_document("DOC-1", "plan.pdf")
    await granny.wait_for("I can take words, a photo or a voice note")
    await granny.send("长" * 1001)
    await granny.wait_for("That text is too long (at most 1000 characters).")
    await granny.send_photo("PHOTO-LAMP", caption=LAMP)
    sign = await granny.wait_for("Sign it with your name")
    await granny.press(sign, "🙈 Anonymous")
    card = await granny.wait_for("please check")
    assert LAMP in (card.text or "") and "the staff will not see who you are" in (card.text or "")
    assert await _count(services) == 0  # nothing is made before ✅ Send
    send = card.button("✅ Send")
    assert send is not None
    await granny.press(card, "✅ Send")
    await granny.wait_for("Thank you! Your suggestion is with the community staff")
    await granny.press_data(card, str(send["callback_data"]))  # a double tap: nothing more
    assert await _count(services) == 1

    told = await coordinator.wait_for("新建议")
    assert LAMP in (told.text or "") and "提出人：🙈 匿名" in (told.text or "")
    assert "治安安全" in (told.text or "")
    await coordinator.press(told, "查看")
    opened = await coordinator.wait_for(lambda m: "✍️ 答复" in str(m.buttons))
    assert LAMP in (opened.text or "") and "号建议" in (opened.text or "")
    assert "新提交" in (opened.text or "") and "7号楼" not in (opened.text or "")
    await coordinator.press(opened, "📷 看照片")
    photo = await coordinator.wait_for(lambda m: m.photo is not None)
    assert photo.photo == "PHOTO-LAMP"
    assert all(m.photo is None for m in fake.sent_to(MEMBER_ID))  # the photo went to one chat
    await coordinator.press(opened, "✍️ 答复")
    await coordinator.wait_for("请输入对")
    await coordinator.send(ANSWER)
    await coordinator.wait_for("答复已发出")

    reply = await granny.wait_for("A reply from the community")
    assert ANSWER in (reply.text or "") and "李书记" in (reply.text or "")
    assert "Your suggestion #" in (reply.text or "")
    status, answered_at = await _status(services)
    assert status == SuggestionStatus.ANSWERED.value and answered_at is not None
    await granny.press(reply, "📋 My suggestions")
    mine = await granny.wait_for("(newest first)")
    assert "Answered" in (mine.text or "") and ANSWER in (mine.text or "")

    # From /admin, the coordinator finds it among the answered ones and closes it.
    await coordinator.send("/admin")
    admin = await coordinator.wait_for(lambda m: "💬 社区智囊团" in str(m.buttons))
    await coordinator.press(admin, "💬 社区智囊团")
    section = await coordinator.wait_for(lambda m: "已答复 (1)" in str(m.buttons))
    assert "新提交 (0)" in str(section.buttons)  # the one suggestion is counted once
    await coordinator.press(section, "已答复 (1)")
    listed = await coordinator.wait_for(
        lambda m: "居民建议" in (m.text or "") and "已答复" in (m.text or "")
    )
    assert LAMP[:10] in (listed.text or "")
    (label,) = [label for label, _ in listed.buttons if label.startswith("#")]
    await coordinator.press(listed, label)
    again = await coordinator.wait_for(lambda m: m is not opened and "✅ 办结" in str(m.buttons))
    await coordinator.press(again, "✅ 办结")
    await granny.wait_for("Your suggestion is now: Closed")
    assert (await _status(services))[0] == SuggestionStatus.CLOSED.value

    everything = _to_coordinator(fake)
    assert ANSWER in everything and LAMP in everything  # what the coordinator saw is there ...
    assert GRANNY not in everything  # ... and who left it is not
    assert str(GRANNY_ID) not in everything
    assert "3-201" not in everything and "7号楼" not in everything


async def test_a_member_records_one_heard_face_to_face_and_passes_the_reply_on(
    fake: FakeBotApi, place: Place
) -> None:
    member, coordinator = place.member, place.coordinator
    await member.send("💬 提建议")  # the home keyboard's button
    menu = await member.wait_for("社区智囊团")
    await member.press(menu, "📝 代居民记录建议")
    await member.wait_for("是哪位居民说的")
    await member.send("李大爷 5-302")
    topics = await member.wait_for("请选择一个类别")
    await member.press(topics, "环境卫生")
    await member.wait_for("请写下您的意见建议")
    await member.send("小区垃圾桶太少，早上经常满出来")
    sign = await member.wait_for("署名还是匿名")
    await member.press(sign, "👤 署名：王党员")
    card = await member.wait_for("请核对")
    assert "当面听取：李大爷 5-302" in (card.text or "")
    await member.press(card, "✅ 发送")
    await member.wait_for("建议已交给社区工作人员")

    told = await coordinator.wait_for("新建议")
    assert "李大爷 5-302" in (told.text or "") and "王党员" in (told.text or "")
    await coordinator.press(told, "查看")
    opened = await coordinator.wait_for(lambda m: "✍️ 答复" in str(m.buttons))
    await coordinator.press(opened, "🔧 办理中")
    await member.wait_for("您的建议现在：办理中")
    await coordinator.press(opened, "✍️ 答复")
    await coordinator.wait_for("请输入对")
    await coordinator.send("下周加放两个垃圾桶")
    await coordinator.wait_for("答复已发出")
    reply = await member.wait_for("社区答复")
    assert "下周加放两个垃圾桶" in (reply.text or "")
    assert "这是您代 李大爷 5-302 记录的建议，请转告。" in (reply.text or "")

    # The wish posted for it answered it: linked by its number, the member told.
    services = place.services
    poster = await services.users.require(MEMBER_ID)
    wish = await services.wishes.post(
        poster, WishDraft(category=WishCategory.OTHER, text="搬两个垃圾桶到5号楼")
    )
    card = await coordinator.wait_for(lambda m: "答复已发出" in (m.text or ""), since=0)
    await coordinator.press(card, "🔗 关联办理结果")
    kinds = await coordinator.wait_for(lambda m: "🙋 微心愿" in str(m.buttons))
    await coordinator.press(kinds, "🙋 微心愿")
    await coordinator.wait_for("请输入微心愿的编号")
    await coordinator.send("第二个")
    await coordinator.wait_for("请只输入编号，例如 12。")
    await coordinator.send(str(wish.id + 1000))
    await coordinator.wait_for(f"您负责的范围内没有 {wish.id + 1000} 号微心愿。")
    await coordinator.send(f"#{wish.id}")
    linked = await coordinator.wait_for("已关联")
    assert f"办理结果：{wish.id} 号微心愿" in (linked.text or "")
    await member.wait_for(f"您的建议已这样办理：{wish.id} 号微心愿")
    await member.send("/suggest")
    await member.press(await member.wait_for("社区智囊团"), "📋 我的建议")
    mine = await member.wait_for("最新的在前")
    assert f"{wish.id} 号微心愿" in (mine.text or "") and "已答复" in (mine.text or "")


async def test_forged_buttons_are_refused_with_nothing_changed(
    fake: FakeBotApi, place: Place
) -> None:
    granny, services = place.granny, place.services
    await granny.send("/suggest")
    menu = await granny.wait_for("Community think-tank")
    refused = await granny.press_data(menu, SuggestNew(face=True).pack())
    assert refused == "Only members can record a suggestion heard from a resident."

    mine = await services.users.require(GRANNY_ID)
    made = await services.suggestions.submit(
        mine, SuggestionDraft(topic=SuggestionTopic.OTHER, text="楼道堆物"), token="t"
    )
    forged = SuggestionMove(suggestion_id=made.id, event=SuggestionEvent.CLOSE).pack()
    refused = await granny.press_data(None, forged)
    assert refused == "Sorry, you are not allowed to do that."
    refused = await granny.press_data(None, SuggestionOpen(suggestion_id=made.id).pack())
    assert refused == "Sorry, you are not allowed to do that."
    await granny.send("/suggestions")
    await granny.wait_for("Sorry, you are not allowed to do that.")
    # A coordinator pressing a stale number is told it is not theirs to see.
    stale = SuggestionOpen(suggestion_id=made.id + 99).pack()
    refused = await place.coordinator.press_data(None, stale)
    assert refused == "您负责的范围内没有这条建议。"
    assert await _status(services) == (SuggestionStatus.NEW.value, None)
    async with services.store.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(suggestion_replies)) == 0
