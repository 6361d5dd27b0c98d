"""你说我做 over the real bot and the fake Bot API, the community in Asia/Shanghai: a coordinator
opens it from /admin (last month first), picks two stories, previews exactly what residents
will get and sends it; a resident reading Chinese and one reading English each get it in their
own language, the stories' words as written and nobody's name; the delivery report comes
back. A member pressing the coordinator's buttons (forged) is refused and nothing is sent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.models import Role, SuggestionStatus, SuggestionTopic, WishCategory, WishStatus
from storage import org
from storage import users as users_repo
from storage.schema import broadcasts, digests
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi
from tests.unit.services.test_digest import _suggestion, _wish, at

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 3 December, 10:00 in Shanghai
MEMBER, RESIDENT, RESIDENT_EN = 10, 20, 21


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


async def test_a_coordinator_picks_previews_and_sends_and_residents_read_their_language(
    bot: RunningBot, fake: FakeBotApi
) -> None:
    assert bot.services is not None
    services = bot.services
    now = services.clock.now()
    community = services.default_community_id
    async with services.store.transaction() as conn:
        building = await org.add_building(conn, community, "7号楼", now)
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    await services.users.register(
        MEMBER, display_name="小赵", language="zh", building_id=building.id
    )
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, MEMBER, Role.MEMBER, None, now)
    await services.users.register(
        RESIDENT, display_name="张奶奶", language="zh", building_id=building.id, room="7-301"
    )
    await services.users.register(
        RESIDENT_EN, display_name="Tom", language="en", building_id=building.id
    )
    async with services.store.transaction() as conn:
        await _suggestion(
            conn,
            community=community,
            author=RESIDENT,
            anonymous=True,
            text="楼道灯坏了好几天",
            status=SuggestionStatus.ANSWERED,
            created=at(2),
            answered=at(10),
            reply="已联系物业，灯换好了",
            token="a",
        )
        await _wish(
            conn,
            community=community,
            posted_by=MEMBER,
            for_name="刘大爷",
            for_room="7-502",
            text="帮忙去医院取药",
            status=WishStatus.CONFIRMED,
            created=at(4),
            done=at(6),
            claimed_by=MEMBER,
            category=WishCategory.ELDERLY_CARE,
        )
        await _suggestion(
            conn,
            community=community,
            author=RESIDENT,
            text="希望多放几张长椅",
            status=SuggestionStatus.NEW,
            created=at(12),
            answered=None,
            topic=SuggestionTopic.FACILITIES,
            token="b",
        )
    li = fake.user(COORDINATOR_ID, "Li", language_code="zh")
    zhao = fake.user(MEMBER, "Zhao", language_code="zh")
    zhang = fake.user(RESIDENT, "Zhang", language_code="zh")
    tom = fake.user(RESIDENT_EN, "Tom", language_code="en")

    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "📰 你说我做")
    screen = await li.wait_for("你说我做 — ")
    assert "2026年11月" in screen.text
    assert "建议：2 条" in screen.text and "办好的微心愿：1 个" in screen.text
    assert "已答复的建议：1 条" in screen.text
    assert "刘大爷" not in screen.text and "张奶奶" not in screen.text

    # A member forges the coordinator's buttons: refused, nothing sent.
    await zhao.send("/start")
    await zhao.wait_for(lambda m: True)
    for data in ("dg:s:202611", "dg:p:202611", "dg:open"):
        answered = await zhao.press_data(None, data)
        assert answered is not None and "没有权限" in answered
    async with services.store.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(digests)) == 0
        assert await conn.scalar(select(func.count()).select_from(broadcasts)) == 0

    await li.press(screen, "☐ 1")
    screen = await li.wait_for("已选 1 个")
    await li.press(screen, "☐ 2")
    screen = await li.wait_for("已选 2 个")
    await li.press(screen, "👁 预览")
    preview = await li.wait_for("你说我做 — ")
    note = await li.wait_for("居民收到的就是这样")
    assert "各人看到自己的语言" in note.text
    assert "楼道灯坏了好几天" in preview.text and "已联系物业，灯换好了" in preview.text
    assert "帮忙去医院取药" in preview.text and "由一位党员志愿者办好了" in preview.text
    for name in ("刘大爷", "7-502", "张奶奶", "7-301", "小赵"):
        assert name not in preview.text

    await li.press(note, "📤 发给全社区")
    await li.wait_for("正在把你说我做发给")
    zh = await zhang.wait_for("你说我做 — ")
    en = await tom.wait_for("You said, we did — ")
    # The resident reading Chinese gets exactly the preview.
    assert zh.text == preview.text
    assert "November 2026" in en.text and "Suggestions answered: 1" in en.text
    assert "楼道灯坏了好几天" in en.text and "Our answer: 已联系物业，灯换好了" in en.text
    assert "done by a Party member" in en.text
    assert "你说我做" not in en.text
    report = await li.wait_for("已送达：", timeout=10)
    assert "发送失败：0" in report.text

    # In the announcements archive: listed by its title, read in full in the reader's language.
    await tom.send("/news")
    listed = await tom.wait_for("Community announcements")
    assert "You said, we did — " in listed.text and "Our answer" not in listed.text
    await tom.press(listed, listed.buttons[0][0])
    full = await tom.wait_for("Our answer: ")
    assert "You said, we did — " in full.text

    # The month's digest is sent: the screen says so and there is no second one.
    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "📰 你说我做")
    again = await li.wait_for("你说我做 — ")
    assert "已经发出" in again.text
    answered = await li.press_data(again, "dg:s:202611")
    assert answered is not None and "已经发给社区居民了" in answered
    async with services.store.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(digests)) == 1
    assert len([m for m in zhang.inbox if "你说我做 — " in (m.text or "")]) == 1


async def test_a_story_in_the_coordinator_own_words_is_shown_as_typed_and_a_fourth_refused(
    bot: RunningBot, fake: FakeBotApi
) -> None:
    assert bot.services is not None
    services = bot.services
    community = services.default_community_id
    await services.users.register(
        COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
    )
    async with services.store.transaction() as conn:
        for n in range(4):
            await _wish(
                conn,
                community=community,
                posted_by=COORDINATOR_ID,
                text=f"第{n + 1}件小事",
                status=WishStatus.DONE,
                created=at(3),
                done=at(4 + n),
                claimed_by=COORDINATOR_ID,
            )
    li = fake.user(COORDINATOR_ID, "Li", language_code="zh")
    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "📰 你说我做")
    screen = await li.wait_for("你说我做 — ")
    for n in (1, 2, 3):
        await li.press(screen, f"☐ {n}")
        screen = await li.wait_for(f"已选 {n} 个")
    refused = await li.press(screen, "☐ 4")
    assert refused is not None and "最多讲 3 个" in refused
    await li.press(screen, "✏️ 2")
    await li.wait_for("请用您自己的话")
    await li.send("字" * 201)
    await li.wait_for("控制在 200 个字以内")
    await li.send("<b>王阿姨</b>家的灯修好了 & 亮了")
    screen = await li.wait_for("已选 3 个")
    assert "↩ 2：用原话" in str(screen.buttons)
    await li.press(screen, "👁 预览")
    preview = await li.wait_for("你说我做 — ")
    # Typed words are shown as typed (escaped, never markup), nothing added to them.
    assert "🙋 <b>王阿姨</b>家的灯修好了 & 亮了\n" in preview.text
    assert preview.text.count("由一位党员志愿者办好了") == 2
