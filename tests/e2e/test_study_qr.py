"""The check-in code's second way, over the real bot and the fake Bot API: the coordinator
who shows the code also gets a QR picture of a link into the bot; a member who scans it
(Telegram sends `/start attend_<session>_<code>`) is checked in and credited once — no
welcome screen — while a link with a wrong code is refused as a typed one is, and someone not
yet registered is taken to registration instead."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from handlers.study.qr import check_in_link, qr_png
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.e2e.test_study import (  # noqa: F401 - `place` is a fixture
    START,
    ZHAO,
    Place,
    _credits,
    _schedule_from_admin,
    _set,
    place,
)
from tests.support.fake_bot_api import BOT_USERNAME, FakeBotApi


async def test_a_scanned_check_in_link_checks_the_member_in_once(
    bot: RunningBot,
    fake: FakeBotApi,
    place: Place,  # noqa: F811 - the fixture imported above
    clock: ManualClock,
) -> None:
    services = place.services
    admin_card = await _schedule_from_admin(place)
    _set(clock, START + timedelta(minutes=5))
    await place.coordinator.press(admin_card, "🔢 出示签到码")
    await place.coordinator.wait_for("签到码：")
    picture = await place.coordinator.wait_for(lambda m: m.photo is not None)
    assert "扫这个二维码" in (picture.caption or "")
    session = (await services.study.mine(await services.users.require(ZHAO)))[0].session
    code = await services.study.code(await services.users.require(COORDINATOR_ID), session.slot.id)
    link = check_in_link(BOT_USERNAME, session.slot.id, code[1])
    uploaded = fake.file(picture.photo or "")
    assert uploaded is not None and uploaded.data() == qr_png(link)  # the picture is the link
    assert uploaded.data().startswith(b"\x89PNG")

    payload = link.split("?start=")[1]
    wrong = payload[:-4] + ("0000" if not payload.endswith("0000") else "1111")
    await place.zhao.send(f"/start {wrong}")
    assert "还可以试 4 次" in ((await place.zhao.wait_for("签到码不对")).text or "")
    await place.zhao.send(f"/start {payload}")
    done = await place.zhao.wait_for("签到成功")
    assert "爱心储蓄 +3 分" in (done.text or "")
    await place.zhao.send(f"/start {payload}")
    await place.zhao.wait_for("您已经签到过了")
    await fake.wait_idle(quiet=0.3)
    assert not [m for m in place.zhao.inbox if "欢迎回来" in (m.text or "")]
    assert await _credits(services, session.slot.id) == 1

    # Someone who has never registered is taken to registration, not checked in.
    stranger = fake.user(777, "New", language_code="zh")
    await stranger.send(f"/start {payload}")
    await stranger.wait_for("欢迎")
    assert await _credits(services, session.slot.id) == 1
