"""Twinning (结对帮扶) as a coordinator does it, over the real bot and the fake Bot API, in zh:
a household without Telegram registered from /admin (circumstances, consent; nothing saved
without consent, a double-tapped save makes one), a member paired with it and the pair ended
with a reason (both sides told), the needs-attention list showing a household whose wellbeing
dropped, a wish posted for the household in two taps after /wish_for, the household's phone
seen only by its paired member and the coordinators in reach, and bad input refused in zh
with nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot.models import Cadence, Circumstance, HelpKind, Node, NodeKind, Role, Skill, VisitCategory
from bot.services import Services
from bot.services.twinning import HouseholdDraft, VisitDraft
from handlers.twinning.admin_buttons import OpenHousehold, VisitMedia
from storage import org
from storage import users as users_repo
from storage.schema import households
from tests.conftest import COORDINATOR_ID
from tests.e2e import posting
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

RESIDENT, PAIRED, UNPAIRED, KEEPER_EIGHT = 1, 10, 11, 21
PHONE, ROOM = "13911112222", "5-502"
NOT_IN_REACH = "您管理的范围内没有这户人家。"
NOT_ALLOWED = "抱歉，您没有权限进行此操作。"
PHOTO = "visit-photo-1"


@dataclass
class Place:
    services: Services
    seven: int
    resident: FakeUser
    paired: FakeUser
    unpaired: FakeUser
    keeper: FakeUser  # a coordinator of 8号楼 only
    coordinator: FakeUser


@pytest.fixture
async def place(bot: RunningBot, fake: FakeBotApi) -> Place:
    """王奶奶, a resident of 7号楼; members 小赵 and 小钱 there; the district's coordinator 李书记,
    and 8号楼's own coordinator 楼长."""
    assert bot.services is not None
    services = bot.services
    now = services.clock.now()
    async with services.store.transaction() as conn:
        seven = await org.add_building(conn, services.default_community_id, "7号楼", now)
        eight = await org.add_building(conn, services.default_community_id, "8号楼", now)
    await services.users.register(
        RESIDENT, display_name="王奶奶", language="zh", building_id=seven.id
    )
    for uid, name in ((PAIRED, "小赵"), (UNPAIRED, "小钱")):
        await services.users.register(uid, display_name=name, language="zh", building_id=seven.id)
        async with services.store.transaction() as conn:
            await users_repo.grant_role(conn, uid, Role.MEMBER, None, now)
            await users_repo.set_skills(conn, uid, {Skill.REPAIRS})
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    await services.users.register(
        KEEPER_EIGHT, display_name="楼长", language="zh", building_id=None
    )
    coordinator = await services.users.require(COORDINATOR_ID)
    await services.admin.appoint(
        coordinator, KEEPER_EIGHT, Node(kind=NodeKind.BUILDING, id=eight.id)
    )
    return Place(
        services=services,
        seven=seven.id,
        resident=fake.user(RESIDENT, "Wang"),
        paired=fake.user(PAIRED, "Zhao"),
        unpaired=fake.user(UNPAIRED, "Qian"),
        keeper=fake.user(KEEPER_EIGHT, "Lou"),
        coordinator=fake.user(COORDINATOR_ID, "Li"),
    )


def _with_button(label: str) -> Callable[[FakeMessage], bool]:
    return lambda message: any(text == label for text, _ in message.buttons)


async def _count(services: Services) -> int:
    async with services.store.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(households)) or 0)


async def _section(coordinator: FakeUser) -> FakeMessage:
    await coordinator.send("/admin")
    await coordinator.press(await coordinator.wait_for("管理"), "🤝 结对帮扶")
    return await coordinator.wait_for("困难家庭、和他们结对")


async def _register_until_consent(coordinator: FakeUser, *, link_resident: bool) -> FakeMessage:
    """Through /admin to the consent question: 王奶奶家 of 7号楼, room, phone, two
    circumstances, notes, and (if asked) 王奶奶 linked as the household's resident."""
    menu = await _section(coordinator)
    await coordinator.press(menu, "➕ 登记困难家庭")
    await coordinator.wait_for("请问他叫什么名字")
    await coordinator.send("王奶奶家")
    await coordinator.press(await coordinator.wait_for("他住在哪个楼院"), "7号楼")
    await coordinator.wait_for("房号")
    await coordinator.send(ROOM)
    await coordinator.wait_for("能联系到他的电话")
    await coordinator.send(PHONE)
    toggles = await coordinator.wait_for("这户人家属于哪种情况")
    await coordinator.press(toggles, "独居老人")
    toggles = await coordinator.wait_for(_with_button("✅ 独居老人"))
    await coordinator.press(toggles, "低收入家庭")
    toggles = await coordinator.wait_for(_with_button("✅ 低收入家庭"))
    await coordinator.press(toggles, "下一步 ›")
    await coordinator.wait_for("需要党员志愿者知道")
    await coordinator.send("腿脚不便，耳朵有点背")
    asked = await coordinator.wait_for("已经在本机器人登记了吗")
    if link_resident:
        await coordinator.send("王奶奶")
        await coordinator.press(await coordinator.wait_for("是哪一位"), f"王奶奶 ({RESIDENT})")
    else:
        await coordinator.press(asked, "跳过")
    return await coordinator.wait_for("同意登记和上门看望")


async def _register(
    coordinator: FakeUser, *, link_resident: bool = True
) -> tuple[FakeMessage, str]:
    """The whole registration: the household's card shown after it, and the data of the save
    button that was pressed."""
    consent = await _register_until_consent(coordinator, link_resident=link_resident)
    await coordinator.press(consent, "✅ 已征得本人同意")
    check = await coordinator.wait_for("请核对")
    assert "独居老人、低收入家庭" in check.text and PHONE in check.text
    saving = check.button("✅ 保存")
    assert saving is not None
    await coordinator.press(check, "✅ 保存")
    await coordinator.wait_for("已登记：王奶奶家")
    return await coordinator.wait_for("结对的党员志愿者"), str(saving["callback_data"])


async def _pair(coordinator: FakeUser, card: FakeMessage) -> FakeMessage:
    await coordinator.press(card, "🤝 结对")
    await coordinator.wait_for("谁和王奶奶家结对")
    await coordinator.send("小赵")
    await coordinator.press(await coordinator.wait_for("哪一位党员志愿者"), f"小赵 ({PAIRED})")
    await coordinator.press(await coordinator.wait_for("小赵多久看望一次"), "每周一次")
    await coordinator.wait_for("小赵已和王奶奶家结对（每周一次）")
    return await coordinator.wait_for(
        lambda m: "结对的党员志愿者" in (m.text or "") and "小赵" in (m.text or "")
    )


async def test_a_household_is_registered_paired_and_unpaired_from_admin(
    fake: FakeBotApi, bot: RunningBot, place: Place
) -> None:
    coordinator, member, resident = place.coordinator, place.paired, place.resident
    card, save = await _register(coordinator)
    assert PHONE in card.text and ROOM in card.text and "腿脚不便" in card.text
    assert "已登记的居民：王奶奶" in card.text and "还没有。" in card.text
    assert await _count(place.services) == 1

    # The save pressed again (a double tap, or the old card) registers nothing more.
    await coordinator.press_data(None, save)
    await coordinator.press_data(None, save)
    assert await _count(place.services) == 1

    card = await _pair(coordinator, card)
    assert "小赵：每周一次，最近一次看望 还没有看望过" in card.text
    told = await member.wait_for("您已和王奶奶家（7号楼）结对帮扶")
    assert PHONE not in told.text and ROOM not in told.text
    await resident.wait_for("党员志愿者小赵和您家（王奶奶家）结对帮扶")

    await coordinator.press(card, "结束结对")
    await coordinator.press(await coordinator.wait_for("结束哪一个结对"), "小赵")
    await coordinator.wait_for("为什么结束小赵的结对")
    await coordinator.send("小赵工作调动，换人结对")
    await coordinator.wait_for("小赵和王奶奶家的结对已经结束，双方都已通知")
    await member.wait_for("结对帮扶已经结束。原因：小赵工作调动，换人结对")
    await resident.wait_for("党员志愿者小赵和您家（王奶奶家）的结对帮扶已经结束")
    household_id = (
        await place.services.twinning.households(
            await place.services.users.require(COORDINATOR_ID)
        )
    )[0].id
    pairs = await place.services.twinning.pairs_of(
        await place.services.users.require(COORDINATOR_ID), household_id
    )
    assert [p.end_reason for p in pairs] == ["小赵工作调动，换人结对"]


async def test_without_consent_nothing_is_registered(
    fake: FakeBotApi, bot: RunningBot, place: Place
) -> None:
    coordinator = place.coordinator
    consent = await _register_until_consent(coordinator, link_resident=False)
    await coordinator.send("同意")  # typed, not the button: not taken as consent
    await coordinator.wait_for("请用上面的按钮选择")
    await coordinator.press(consent, "本人不同意")
    await coordinator.wait_for("没有本人同意，不能登记。什么都没有保存。")
    assert await _count(place.services) == 0
    await fake.wait_idle()
    assert not any(PHONE in (m.text or "") for m in fake.messages if m.chat_id != COORDINATOR_ID)


async def _household(place: Place, *, paired: bool = True) -> int:
    """王奶奶家 of 7号楼 registered through the service (and paired weekly with 小赵)."""
    services = place.services
    coordinator = await services.users.require(COORDINATOR_ID)
    household = await services.twinning.register_household(
        coordinator,
        HouseholdDraft(
            name="王奶奶家",
            building_id=place.seven,
            room=ROOM,
            phone=PHONE,
            circumstances=frozenset({Circumstance.ELDERLY_ALONE}),
            resident_id=RESIDENT,
            consent=True,
        ),
    )
    if paired:
        await services.twinning.pair(coordinator, PAIRED, household.id, Cadence.WEEKLY)
    return household.id


async def test_needs_attention_shows_a_household_whose_wellbeing_dropped(
    fake: FakeBotApi, bot: RunningBot, place: Place
) -> None:
    household_id = await _household(place)
    fake.register_file(PHOTO, "photo")
    member = await place.services.users.require(PAIRED)
    today = place.services.clock.now().date()
    for token, mark, day in (("a", 4, today), ("b", 2, today)):  # two visits the same day
        await place.services.twinning.log_visit(
            member,
            VisitDraft(
                household_id=household_id,
                visited_on=min(day, today),
                categories=frozenset({VisitCategory.CHAT}),
                help_kind=HelpKind.MATERIALS,
                wellbeing=mark,
                wellbeing_note="腿疼得厉害，想请社区帮忙联系医生" if mark == 2 else None,
                photo_file_id=PHOTO if mark == 2 else None,
            ),
            token=token,
        )
    coordinator = place.coordinator
    menu = await _section(coordinator)
    await coordinator.press(menu, "⚠️ 需要关注")
    listing = await coordinator.wait_for("近况变差 4 → 2")
    assert "王奶奶家 (7号楼)" in listing.text
    await coordinator.press(listing, listing.buttons[0][0])
    card = await coordinator.wait_for("近况：")
    trend = next(line for line in card.text.splitlines() if line.startswith("近况："))
    assert "4 (" in trend and "→ 2 (" in trend and trend.rstrip().endswith("↓")
    assert PHONE in card.text
    # What the member noted for the staff reaches them, with who went.
    assert "最近的走访" in card.text and "留给社区的话：腿疼得厉害" in card.text
    assert "小赵" in card.text.split("最近的走访")[1]
    # Its photo, on a press, to the coordinator alone; a forged press elsewhere gets nothing.
    (photo_button,) = [text for text, _ in card.buttons if text.startswith("🖼")]
    await coordinator.press(card, photo_button)
    await fake.wait_idle()
    sent = [c.params for c in fake.calls_to("sendPhoto")]
    assert [(int(p["chat_id"]), p["photo"]) for p in sent] == [(COORDINATOR_ID, PHOTO)]
    (visit,) = [
        v for v in await place.services.twinning.visits(member, household_id) if v.photo_file_id
    ]
    forged = VisitMedia(visit_id=visit.id).pack()
    assert await place.keeper.press_data(None, forged) == NOT_IN_REACH
    assert await place.unpaired.press_data(None, forged) == NOT_ALLOWED
    await fake.wait_idle()
    assert len(fake.calls_to("sendPhoto")) == 1


async def _post_for_household(fake: FakeBotApi, coordinator: FakeUser) -> int:
    """/wish_for, the household's button, the wish, ✅: the taps it took."""
    before = len(fake.calls_to("answerCallbackQuery"))
    await coordinator.send("/wish_for")
    choose = await coordinator.wait_for("为哪户人家发")
    await coordinator.press(choose, "王奶奶家 · 7号楼")
    await coordinator.wait_for("您想请人帮什么忙")
    await posting.send_content(coordinator, "想请人帮忙换个灯泡")
    card = await coordinator.wait_for(posting.CARD)
    assert "王奶奶家" in card.text
    await coordinator.press(card, "✅ 发布")
    await coordinator.wait_for("已发布")
    return len(fake.calls_to("answerCallbackQuery")) - before


async def test_a_wish_for_a_registered_household_takes_two_taps_and_the_claimer_sees_it(
    fake: FakeBotApi, bot: RunningBot, place: Place
) -> None:
    await _household(place)
    assert await _post_for_household(fake, place.coordinator) == 2
    claimer = place.unpaired
    offer = await claimer.wait_for("新微心愿")
    assert PHONE not in offer.text and ROOM not in offer.text
    await claimer.press(offer, "我来帮忙")
    contact = await claimer.wait_for(PHONE)
    assert ROOM in contact.text and "王奶奶家" in contact.text


async def test_wish_for_still_takes_someone_else_typed(
    fake: FakeBotApi, bot: RunningBot, place: Place
) -> None:
    await _household(place)
    member = place.paired  # offered the household they are paired with
    await member.send("/wish_for")
    choose = await member.wait_for("为哪户人家发")
    assert [label for label, _ in choose.buttons][:2] == ["王奶奶家 · 7号楼", "其他人"]
    await member.press(choose, "其他人")
    await member.wait_for("请问他叫什么名字")
    await member.send("刘爷爷")
    await member.press(await member.wait_for("他住在哪个楼院"), "7号楼")
    # The unpaired member is offered no household: the name is asked at once, as before.
    await place.unpaired.send("/wish_for")
    await place.unpaired.wait_for("请问他叫什么名字")


async def test_the_households_phone_reaches_only_its_paired_member_and_coordinators(
    fake: FakeBotApi, bot: RunningBot, place: Place
) -> None:
    coordinator = place.coordinator
    card, _ = await _register(coordinator)
    await _pair(coordinator, card)
    await place.paired.wait_for("结对帮扶")
    await place.resident.wait_for("结对帮扶")
    await _post_for_household(fake, coordinator)
    offer = await place.paired.wait_for("新微心愿")
    await place.unpaired.wait_for("新微心愿")
    await place.paired.press(offer, "我来帮忙")
    await place.paired.wait_for(PHONE)
    household_id = (
        await place.services.twinning.households(
            await place.services.users.require(COORDINATOR_ID)
        )
    )[0].id
    for outsider in (place.keeper, place.unpaired, place.resident):
        await outsider.press_data(None, OpenHousehold(household_id=household_id).pack())
    await fake.wait_idle()
    seen_in = set()
    for message in fake.messages:
        body = " ".join(filter(None, [message.text, message.caption, str(message.buttons)]))
        body += " ".join(filter(None, (v.text for v in message.edited)))
        if PHONE in body:
            seen_in.add(message.chat_id)
    assert seen_in == {COORDINATOR_ID, PAIRED}


async def test_bad_input_is_refused_in_chinese_and_changes_nothing(
    fake: FakeBotApi, bot: RunningBot, place: Place
) -> None:
    coordinator = place.coordinator
    menu = await _section(coordinator)
    await coordinator.press(menu, "➕ 登记困难家庭")
    await coordinator.wait_for("请问他叫什么名字")
    await coordinator.send("   ")
    await coordinator.wait_for("名字是空的，请输入名字。")
    await coordinator.send("王奶奶家")
    await coordinator.press(await coordinator.wait_for("他住在哪个楼院"), "7号楼")
    await coordinator.wait_for("房号")
    await coordinator.send(ROOM)
    await coordinator.wait_for("能联系到他的电话")
    await coordinator.send("打我电话 12")
    await coordinator.wait_for("这看起来不像电话号码。")
    await coordinator.send("1" * 40)
    await coordinator.wait_for("这看起来不像电话号码。")
    await coordinator.send("/cancel")
    await coordinator.wait_for("已取消")
    assert await _count(place.services) == 0

    household_id = await _household(place, paired=False)
    forged = OpenHousehold(household_id=household_id).pack()
    assert await place.keeper.press_data(None, forged) == NOT_IN_REACH
    assert await place.unpaired.press_data(None, forged) == NOT_ALLOWED
    assert await place.resident.press_data(None, forged) == NOT_ALLOWED
    missing = OpenHousehold(household_id=household_id + 1000).pack()
    assert await coordinator.press_data(None, missing) == NOT_IN_REACH
    assert await _count(place.services) == 1
