"""A member who blocked the bot is skipped by offers; once they unblock it, they get them
again (Telegram's my_chat_member update, or /start)."""

from __future__ import annotations

import time

from tests.e2e import test_wishes as wishes_e2e
from tests.e2e.conftest import RunningBot
from tests.e2e.test_wishes import HELPER, _services, post_wish
from tests.support.fake_bot_api import BOT_SENDER, FakeBotApi, FakeUser

bot_settings = wishes_e2e.bot_settings
people = wishes_e2e.people


def status_change(user: FakeUser, old: str, new: str) -> dict[str, object]:
    """The update Telegram sends when a user blocks ("kicked") or unblocks ("member") a bot."""
    return {
        "my_chat_member": {
            "chat": user.chat_dict(),
            "from": user.to_dict(),
            "date": int(time.time()),
            "old_chat_member": {"status": old, "user": BOT_SENDER, "until_date": 0},
            "new_chat_member": {"status": new, "user": BOT_SENDER, "until_date": 0},
        }
    }


async def test_a_member_who_unblocks_the_bot_gets_offers_again(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    services = _services(bot)
    resident, zhao = people["resident"], people["helper"]

    fake.block(HELPER)
    fake.enqueue_update(status_change(zhao, "member", "kicked"))
    await fake.wait_idle()
    assert (await services.users.require(HELPER)).unreachable
    await post_wish(resident, "第一个心愿")
    await fake.wait_idle()
    assert not [m for m in zhao.inbox if "第一个心愿" in (m.text or "")]  # skipped

    fake.unblock(HELPER)
    fake.enqueue_update(status_change(zhao, "kicked", "member"))
    await fake.wait_idle()
    assert not (await services.users.require(HELPER)).unreachable
    await post_wish(resident, "第二个心愿")
    await zhao.wait_for("第二个心愿", since=0)


async def test_start_makes_a_member_reachable_again(
    fake: FakeBotApi, bot: RunningBot, people: dict[str, FakeUser]
) -> None:
    services = _services(bot)
    await services.users.set_reachable(HELPER, False)
    await people["helper"].send("/start")
    await people["helper"].wait_for("欢迎回来")
    assert not (await services.users.require(HELPER)).unreachable
