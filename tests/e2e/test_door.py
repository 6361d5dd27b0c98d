"""Safety at the door: the resident learns who will come (the helper, or the team and its
leader and whom the leader puts on) and what to check; the helper's phone only after they
agreed in /profile, and it reaches nobody but the resident."""

from __future__ import annotations

from bot.models import TeamKind
from tests.e2e import test_wishes as wishes_e2e
from tests.e2e.conftest import RunningBot
from tests.e2e.test_wishes import (
    COORDINATOR,
    GROUP,
    HELPER,
    OTHER,
    RESIDENT,
    _services,
    post_wish,
    wish_id_of,
)
from tests.support.fake_bot_api import FakeBotApi, FakeUser

bot_settings = wishes_e2e.bot_settings
people = wishes_e2e.people

HELPER_PHONE = "13700001111"
CHECK = "上门时请核对：来人应自称“小赵”，是社区党员志愿者。"


def chats_with(fake: FakeBotApi, secret: str) -> set[int]:
    """Every chat that received (or saw edited into a message) `secret`."""
    found = set()
    for message in fake.messages:
        bodies = [message.text, message.caption, str(message.buttons)]
        bodies += [v.text for v in message.edited] + [v.caption for v in message.edited]
        if any(secret in body for body in bodies if body):
            found.add(message.chat_id)
    return found


async def test_the_resident_learns_who_comes_and_the_phone_only_once_the_member_agrees(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, zhao = people["resident"], people["helper"]
    await _services(bot).users.update_profile(HELPER, phone=HELPER_PHONE)

    await post_wish(resident, "厨房的灯坏了")
    await zhao.press(await zhao.wait_for("厨房的灯坏了"), "我来帮忙")
    told = await resident.wait_for("小赵 认领了您的微心愿")
    assert "🚪 上门的人：小赵。" in told.text and CHECK in told.text
    assert "不要给陌生人开门、不要转账" in told.text
    assert HELPER_PHONE not in told.text  # not agreed yet

    await resident.send("/mywishes")
    mine = await resident.wait_for(lambda m: bool(m.buttons))
    await resident.press(mine, mine.buttons[0][0])
    card = await resident.wait_for("上门的人：小赵")
    assert CHECK in card.text and HELPER_PHONE not in card.text

    await zhao.send("/profile")
    profile = await zhao.wait_for("向我帮助的居民显示电话：关")
    await zhao.press(profile, "向我帮助的居民显示我的电话")
    await zhao.wait_for("向我帮助的居民显示电话：开")

    await post_wish(resident, "想请人帮忙搬一下柜子")
    await zhao.press(await zhao.wait_for("搬一下柜子"), "我来帮忙")
    told = await resident.wait_for(lambda m: "搬一下柜子" in (m.text or "") and "认领" in m.text)
    assert f"📞 小赵的电话：{HELPER_PHONE}" in told.text and CHECK in told.text

    await fake.wait_idle()
    # The member's own /profile shows it to them; otherwise only the resident ever got it: not
    # the other member, not the coordinator, not the members' group.
    assert chats_with(fake, HELPER_PHONE) == {RESIDENT, HELPER}
    assert fake.group(GROUP).inbox  # the group did get the wall posts, without the phone


async def test_a_team_claim_names_the_team_its_leader_and_whom_the_leader_puts_on(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    resident, zhao, qian = people["resident"], people["helper"], people["other"]
    services = _services(bot)
    li = await services.users.require(COORDINATOR)
    team = await services.teams.create(
        li, name="维修服务队", kind=TeamKind.DOMESTIC, leader_id=OTHER
    )
    await services.teams.add_member(li, team.id, HELPER)
    await services.users.update_profile(OTHER, phone=HELPER_PHONE)
    await services.users.update_profile(OTHER, share_phone=True)

    await post_wish(resident, "想请人修一下门锁")
    wish_id = wish_id_of(await zhao.wait_for("门锁"))
    await zhao.send(f"/claim {wish_id} team")
    told = await resident.wait_for("维修服务队")
    assert "🚪 上门的人：小赵（维修服务队，队长：小钱）。" in told.text
    assert "是维修服务队的党员志愿者" in told.text
    assert HELPER_PHONE not in told.text  # the leader is named, but is not coming (yet)

    ask = await qian.wait_for("请在“🧰 我的任务”里安排谁参加")
    await qian.press(ask, "我的任务")
    tasks = await qian.wait_for("我的任务")
    await qian.press(tasks, tasks.buttons[0][0])
    card = await qian.wait_for(lambda m: "安排参加人员" in str(m.buttons))
    await qian.press(card, "安排参加人员")
    await qian.press(await qian.wait_for("谁参加微心愿"), "▫️ 小钱")
    added = await resident.wait_for("也会来帮忙")
    assert "维修服务队的小钱也会来帮忙办您的微心愿" in added.text
    assert f"📞 小钱的电话：{HELPER_PHONE}" in added.text  # coming now, and agreed

    await fake.wait_idle()
    assert chats_with(fake, HELPER_PHONE) <= {RESIDENT, OTHER}
    assert RESIDENT in chats_with(fake, HELPER_PHONE)
