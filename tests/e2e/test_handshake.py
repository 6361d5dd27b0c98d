"""The handshake at the door over the real bot and the fake Bot API: the resident alone sees a
confirmation code (her card, the "someone will help" notice); the helper reports the work done
first and then types it (or types it as the note), and the wish is confirmed at once —
credited once, whether the code comes twice, the resident presses confirm after it, or the bot
restarts in between — and the resident is never asked to confirm; a helper who walks away at the
code prompt loses nothing: the resident is asked after the grace; "no code" asks her at once;
five wrong codes lock it, a coordinator hears (never the code) and she is asked at once; a wish
posted for a neighbour has none."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.models import LedgerKind, Role, Skill, WishCategory, WishEventKind, WishStatus
from bot.services import Services
from bot.services.wishes import WishDraft
from bot.services.wishes.rules import HANDSHAKE_GRACE
from handlers.wishes.buttons import ConfirmDone, ReportDone, ShowWish
from storage import org
from storage import users as users_repo
from storage import wishes as repo
from tests.conftest import COORDINATOR_ID
from tests.e2e import posting
from tests.e2e.conftest import RunningBot, settings_with
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

GROUP = -1001234567
PHONE = "13911112222"
RESIDENT, HELPER, OTHER, COORDINATOR = 1, 10, 11, COORDINATOR_ID
ASK_CODE = "居民给您确认码了吗"
ASK_RESIDENT = "办好了吗"  # the resident's "done, please confirm?"
NO_CODE = "没有确认码，请居民确认"
CODE_IN_TEXT = re.compile(r"确认码 (\d{4}) ")


@pytest.fixture
def bot_settings(tmp_path: Path, fake: FakeBotApi) -> Settings:
    fake.group(GROUP, "党员志愿者群")  # the wish wall: it must never show a code
    return settings_with(tmp_path, fake, members_group_id=GROUP)


@pytest.fixture
async def people(bot: RunningBot, fake: FakeBotApi) -> AsyncIterator[dict[str, FakeUser]]:
    """A resident of 7号楼, two repair members there, the district's coordinator."""
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
        phone="13911112222",
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


def _services(bot: RunningBot) -> Services:
    assert bot.services is not None
    return bot.services


def wish_id_of(message: FakeMessage) -> int:
    data = message.buttons[0][1]
    assert data is not None
    return int(data.split(":")[-1])


async def _claimed(resident: FakeUser, helper: FakeUser) -> tuple[int, str]:
    """Posted by the resident, taken on by the helper; the wish and the code the resident
    was told in the "someone will help" notice."""
    await posting.post(resident, "厨房的灯坏了，想请人帮忙换一下", kind="家庭维修", when="明天")
    offer = await helper.wait_for("新微心愿")
    await helper.press(offer, "我来帮忙")
    await helper.wait_for("由您认领了")
    told = await resident.wait_for("小赵 认领了您的微心愿")
    found = CODE_IN_TEXT.search(told.text or "")
    assert found is not None, told.text
    assert "看到党员志愿者办完后" in (told.text or "")
    return wish_id_of(offer), found.group(1)


async def _to_the_code_step(helper: FakeUser, wish_id: int) -> None:
    await helper.press_data(None, ReportDone(wish_id=wish_id).pack())
    await helper.wait_for("请简单写一下办了什么")
    await helper.send("灯换好了")
    await helper.wait_for(ASK_CODE)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10000:04d}"


def _asked(fake: FakeBotApi) -> list[FakeMessage]:
    """Every "done, please confirm?" the resident was sent."""
    return [
        m for m in fake.sent_to(RESIDENT) if ASK_RESIDENT in (m.text or "") + (m.caption or "")
    ]


async def _past_the_grace(fake: FakeBotApi, clock: ManualClock) -> None:
    """Time moves past the grace; whatever was due has left (or been dropped) by the end."""
    clock.advance(seconds=HANDSHAKE_GRACE.total_seconds() + 60)
    await fake.wait_idle(quiet=1.5)  # longer than the sender's poll


async def _wish_credits(services: Services, member_id: int) -> tuple[int, int]:
    """How many wish entries the member's passbook holds, and their balance of all time."""
    member = await services.users.require(member_id)
    page = await services.passbook.passbook(member)
    wishes = [e for e in page.entries if e.kind in (LedgerKind.WISH, LedgerKind.URGENT)]
    return len(wishes), page.balance.all_time


def assert_only_the_resident_saw(fake: FakeBotApi, code: str) -> None:
    """The code, as a number of its own, in no message (or version of one, or button, or
    answer to a press) the bot sent anyone but the resident: not the helper, not the wall."""
    alone = re.compile(rf"(?<!\d){code}(?!\d)")
    for message in fake.messages:
        bodies = [message.text, message.caption, str(message.buttons)]
        bodies += [v.text for v in message.edited] + [v.caption for v in message.edited]
        if any(alone.search(body or "") for body in bodies):
            assert message.chat_id == RESIDENT, message
    for call in fake.calls_to("answerCallbackQuery"):
        assert not alone.search(str(call.params.get("text") or "")), call


async def test_the_code_confirms_at_once_and_credits_once_across_retries_and_restarts(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser], clock: ManualClock
) -> None:
    resident, helper = people["resident"], people["helper"]
    wish_id, code = await _claimed(resident, helper)
    async with _services(bot).store.read() as conn:
        stored = await repo.handshake_of(conn, wish_id)
    assert stored is not None and stored.code == code
    # Her own card shows it; the helper's card of the same wish does not.
    await resident.press_data(None, ShowWish(wish_id=wish_id).pack())
    card = await resident.wait_for(f"把确认码 {code} 告诉他/她")
    await helper.press_data(None, ShowWish(wish_id=wish_id).pack())
    assert "确认码" not in (await helper.wait_for("由您认领了")).text

    await _to_the_code_step(helper, wish_id)
    bot = await bot.restart()  # the code step is kept across a restart
    typed = await helper.send(code)
    await helper.wait_for(f"确认码正确：微心愿 #{wish_id} 已完成")
    told = await resident.wait_for("输入了您告诉他/她的确认码")
    assert f"#{wish_id}" in told.text and "已完成" in told.text
    # Her live card follows: confirmed, and the code is gone from it.
    await resident.wait_for(lambda m: m is card and "已完成" in (m.text or ""), since=0)
    assert code not in (card.text or "")

    services = _services(bot)
    assert await _wish_credits(services, HELPER) == (1, 10)
    history = await services.wishes.history(await services.users.require(HELPER), wish_id)
    assert [(e.kind, e.actor_id, e.note) for e in history[-2:]] == [
        (WishEventKind.DONE, HELPER, "灯换好了"),
        (WishEventKind.CONFIRMED, HELPER, "handshake"),
    ]

    # The code again: delivered twice (as Telegram does when the bot died before it
    # confirmed the update), and through the old "report done" button.
    fake.enqueue_update({"message": typed.to_dict()})
    await helper.wait_for(f"微心愿 #{wish_id} 已经确认过了", since=0)
    answer = await helper.press_data(None, ReportDone(wish_id=wish_id).pack())
    assert answer is not None and "已经确认过了" in answer
    # Restarted, and then the resident presses confirm on an old message: told, not refused.
    bot = await bot.restart()
    answer = await resident.press_data(None, ConfirmDone(wish_id=wish_id).pack())
    assert answer is not None and "已经确认过了" in answer
    # She may still rate and thank as after confirming herself.
    await resident.press(told, "★★★★")
    await resident.wait_for("想写几句感谢的话吗")

    await fake.wait_idle()
    assert await _wish_credits(_services(bot), HELPER) == (1, 10 + 1)  # one star above 3
    # Confirmed by the code: her "please confirm?", waiting out the grace, never came.
    await _past_the_grace(fake, clock)
    assert _asked(fake) == []
    assert await _wish_credits(_services(bot), HELPER) == (1, 10 + 1)
    assert not [m for m in helper.inbox if "出错" in (m.text or "")]
    assert_only_the_resident_saw(fake, code)


async def test_five_wrong_codes_lock_it_and_a_coordinator_hears(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, helper, coordinator = people["resident"], people["helper"], people["coordinator"]
    wish_id, code = await _claimed(resident, helper)
    await _to_the_code_step(helper, wish_id)

    await helper.send("12a")  # not a code: said so, not counted
    await helper.wait_for("请输入 4 位数字的确认码")
    for left in (4, 3, 2, 1):
        await helper.send(_wrong(code))
        await helper.wait_for(f"确认码不对，还可以再试 {left} 次")
    await helper.send(_wrong(code))
    locked = await helper.wait_for("已经不能再用了")
    assert "已请居民确认" in locked.text
    # No grace left to wait for: she is asked now (the clock has not moved).

    alert = await coordinator.wait_for("输错确认码 5 次")
    assert f"#{wish_id}" in alert.text and "小赵" in alert.text and "王奶奶" in alert.text
    # The resident confirms as before; the card no longer offers the code.
    ask = await resident.wait_for("办好了吗")
    await resident.press(ask, "是的，办好了")
    await resident.wait_for("打几颗星")
    assert await _wish_credits(_services(bot), HELPER) == (1, 10)
    await fake.wait_idle()
    assert_only_the_resident_saw(fake, code)


async def test_a_wish_posted_for_a_neighbour_gets_no_code(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    other, helper = people["other"], people["helper"]
    services = _services(bot)
    poster = await services.users.require(OTHER)
    draft = WishDraft(category=WishCategory.REPAIRS, text="帮张大爷换灯泡", for_name="张大爷")
    wish_id = (await services.wishes.post(poster, draft)).id
    await helper.send(f"/claim {wish_id}")
    await helper.wait_for("由您认领了")
    told = await other.wait_for("小赵 认领了您的微心愿")
    assert "确认码" not in told.text
    async with services.store.read() as conn:
        stored = await repo.handshake_of(conn, wish_id)
    assert stored is not None and stored.code is None

    # Reporting it done asks for no code: whoever posted it confirms, as before.
    await helper.press_data(None, ReportDone(wish_id=wish_id).pack())
    await helper.wait_for("请简单写一下办了什么")
    await helper.send("换好了")
    await helper.wait_for("已请居民确认")
    assert not [m for m in helper.inbox if ASK_CODE in (m.text or "")]
    ask = await other.wait_for("办好了吗")
    await other.press(ask, "是的，办好了")
    await other.wait_for("打几颗星")
    assert await _wish_credits(services, HELPER) == (1, 10)


async def test_the_no_code_button_asks_the_resident_at_once_and_once(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser], clock: ManualClock
) -> None:
    resident, helper = people["resident"], people["helper"]
    wish_id, code = await _claimed(resident, helper)
    await _to_the_code_step(helper, wish_id)
    await helper.press(await helper.wait_for(ASK_CODE, since=0), NO_CODE)
    await helper.wait_for("已请居民确认")
    ask = await resident.wait_for(ASK_RESIDENT)  # the clock has not moved: at once
    assert "灯换好了" in ask.text
    assert await _wish_credits(_services(bot), HELPER) == (0, 0)
    await _past_the_grace(fake, clock)
    assert _asked(fake) == [ask]  # once, not again when the grace is over
    await resident.press(ask, "是的，办好了")
    await resident.wait_for("打几颗星")
    assert await _wish_credits(_services(bot), HELPER) == (1, 10)
    await fake.wait_idle()
    assert_only_the_resident_saw(fake, code)


async def test_a_helper_who_walks_away_at_the_code_prompt_loses_nothing(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser], clock: ManualClock
) -> None:
    resident, helper = people["resident"], people["helper"]
    wish_id, code = await _claimed(resident, helper)
    await _to_the_code_step(helper, wish_id)  # and no code, no button: gone
    services = _services(bot)
    wish = await services.wishes.view(await services.users.require(HELPER), wish_id)
    assert wish.status == WishStatus.DONE and wish.done_note == "灯换好了"

    # Within the grace she is not asked yet; her card still tells her the code.
    clock.advance(seconds=HANDSHAKE_GRACE.total_seconds() - 60)
    await fake.wait_idle(quiet=1.5)
    assert _asked(fake) == []
    await resident.press_data(None, ShowWish(wish_id=wish_id).pack())
    await resident.wait_for(f"把确认码 {code} 告诉他/她")
    clock.advance(seconds=120)
    ask = await resident.wait_for(ASK_RESIDENT)
    assert "灯换好了" in ask.text and f"#{wish_id}" in ask.text
    assert await _wish_credits(services, HELPER) == (0, 0)
    await resident.press(ask, "是的，办好了")
    await resident.wait_for("打几颗星")
    assert await _wish_credits(services, HELPER) == (1, 10)

    # The helper comes back to the prompt with the code: confirmed already, credited once.
    await helper.send(code)
    await helper.wait_for(f"微心愿 #{wish_id} 已经确认过了")
    await fake.wait_idle()
    assert await _wish_credits(services, HELPER) == (1, 10)
    assert _asked(fake) == [ask]
    assert not [m for m in fake.sent_to(RESIDENT) if "输入了您告诉他/她的确认码" in (m.text or "")]
    assert_only_the_resident_saw(fake, code)


async def test_the_code_typed_as_the_note_confirms_at_once(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser], clock: ManualClock
) -> None:
    resident, helper = people["resident"], people["helper"]
    wish_id, code = await _claimed(resident, helper)
    await helper.press_data(None, ReportDone(wish_id=wish_id).pack())
    await helper.wait_for("请简单写一下办了什么")
    await helper.send(code)
    await helper.wait_for(f"确认码正确：微心愿 #{wish_id} 已完成")
    await resident.wait_for("输入了您告诉他/她的确认码")

    services = _services(bot)
    history = await services.wishes.history(await services.users.require(HELPER), wish_id)
    assert [(e.kind, e.note) for e in history[-2:]] == [
        (WishEventKind.DONE, None),  # never the code kept as a note
        (WishEventKind.CONFIRMED, "handshake"),
    ]
    assert (
        await services.wishes.view(await services.users.require(HELPER), wish_id)
    ).done_note is None
    await _past_the_grace(fake, clock)
    assert _asked(fake) == []
    assert await _wish_credits(services, HELPER) == (1, 10)
    assert not [m for m in helper.inbox if ASK_CODE in (m.text or "")]
    assert_only_the_resident_saw(fake, code)
