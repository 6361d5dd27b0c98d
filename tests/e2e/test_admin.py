"""/admin over the real bot: counts that are counts, lists that follow each decision, one
answer per press."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.models import Skill, User
from storage import membership
from tests.conftest import COORDINATOR_ID
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

WAITING = 30  # three pages of applications


async def coordinator(bot: RunningBot, fake: FakeBotApi, language: str = "zh") -> FakeUser:
    assert bot.services is not None
    await bot.services.users.register(
        COORDINATOR_ID, display_name="Li", language=language, building_id=None
    )
    return fake.user(COORDINATOR_ID, first_name="Li", language_code=language)


async def applicants_waiting(bot: RunningBot, count: int) -> list[User]:
    """`count` registered people with an application each, filed straight into the store (the
    coordinator's 'new application' notices would take the outbox a message a second)."""
    services = bot.services
    assert services is not None
    people = [
        await services.users.register(
            500 + n, display_name=f"Applicant{n:02d}", language="zh", building_id=None
        )
        for n in range(1, count + 1)
    ]
    now = services.clock.now()
    async with services.store.transaction() as conn:
        invite = await membership.insert_invite(
            conn,
            code="SEEDCODE",
            created_by=COORDINATOR_ID,
            now=now,
            expires_at=now + timedelta(days=7),
            max_uses=count,
            community_id=services.default_community_id,
        )
        for person in people:
            await membership.insert_application(
                conn, user_id=person.id, invite_id=invite.id, building_id=None,
                skills={Skill.OTHER}, now=now,
            )  # fmt: skip
    return people


def answers_per_press(fake: FakeBotApi) -> Counter[str]:
    """How many answerCallbackQuery calls each press got (a rejected second one counts too)."""
    return Counter(
        str(call.params.get("callback_query_id")) for call in fake.calls_to("answerCallbackQuery")
    )


def button_starting(message: FakeMessage, prefix: str) -> str:
    return next(text for text, _ in message.buttons if text.startswith(prefix))


async def test_menu_counts_every_waiting_application_not_a_page(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    li = await coordinator(bot, fake)
    await applicants_waiting(bot, WAITING)
    await li.send("/admin")
    menu = await li.wait_for("管理")
    assert f"报到申请（{WAITING}）" in [text for text, _ in menu.buttons]


async def test_approving_answers_once_and_shows_what_remains(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    li = await coordinator(bot, fake)
    people = await applicants_waiting(bot, WAITING)
    await li.send("/admin")
    await li.press(await li.wait_for("管理"), f"报到申请（{WAITING}）")
    listing = await li.wait_for("待审核的报到申请")
    assert f"待审核的报到申请：{WAITING}" in listing.text and "Applicant01" in listing.text
    assert "Applicant11" not in listing.text  # one page of ten
    before = answers_per_press(fake)

    toast = await li.press(listing, button_starting(listing, "通过"))

    assert toast == "已通过，申请人现在是党员志愿者了。"
    refreshed = await li.wait_for(lambda m: m.message_id == listing.message_id)
    assert "Applicant01" not in refreshed.text
    assert "Applicant11" in refreshed.text  # the next one moved up onto the page
    assert f"待审核的报到申请：{WAITING - 1}" in refreshed.text
    await fake.wait_idle(quiet=0.3)
    pressed = answers_per_press(fake) - before
    assert list(pressed.values()) == [1]
    assert bot.services is not None
    assert (await bot.services.users.require(people[0].id)).is_member
    await li.send("/admin")
    menu = await li.wait_for("管理")
    assert f"报到申请（{WAITING - 1}）" in [text for text, _ in menu.buttons]


async def test_revoking_an_invite_answers_once_and_shows_what_remains(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    li = await coordinator(bot, fake)
    assert bot.services is not None
    actor = await bot.services.users.require(li.id)
    kept = await bot.services.membership.create_invite(actor, days=7, max_uses=5)
    gone = await bot.services.membership.create_invite(actor, days=7, max_uses=5)
    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "邀请码")
    listing = await li.wait_for(gone.code)
    before = answers_per_press(fake)

    toast = await li.press(listing, f"作废 {gone.code}")

    assert toast == "已作废。"
    refreshed = await li.wait_for(lambda m: m.message_id == listing.message_id)
    assert gone.code not in refreshed.text and kept.code in refreshed.text
    await fake.wait_idle(quiet=0.3)
    assert list((answers_per_press(fake) - before).values()) == [1]


async def test_promoting_and_demoting_answer_once_and_show_the_coordinators(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    li = await coordinator(bot, fake)
    assert bot.services is not None
    await bot.services.users.register(301, display_name="Zhou", language="zh", building_id=None)
    await li.send("/admin")
    await li.press(await li.wait_for("管理"), "社区工作人员")
    await li.press(
        await li.wait_for(lambda m: "添加社区工作人员" in str(m.buttons)), "添加社区工作人员"
    )
    await li.wait_for("请输入对方的名字")
    await li.send("Zhou")
    choice = await li.wait_for(lambda m: "Zhou (301)" in str(m.buttons))
    before = answers_per_press(fake)

    await li.press(choice, "Zhou (301)")
    # Li is appointed to the district: a coordinator of which place below it?
    places = await li.wait_for("哪个地方的社区工作人员")
    labels = [text for text, _ in places.buttons]
    assert labels[:3] == ["区: 西区", "街道: 古城台街道", "社区: 北气象巷社区"]
    toast = await li.press(places, "社区: 北气象巷社区")

    assert toast == "Zhou 现在是社区工作人员了。"
    coordinators = await li.wait_for(lambda m: "取消 Zhou" in str(m.buttons))
    assert "Zhou" in coordinators.text
    toast = await li.press(coordinators, "取消 Zhou")
    assert toast == "Zhou 不再是社区工作人员。"
    refreshed = await li.wait_for(lambda m: m.message_id == coordinators.message_id)
    assert "Zhou" not in refreshed.text
    await fake.wait_idle(quiet=0.3)
    assert list((answers_per_press(fake) - before).values()) == [1, 1, 1]


async def test_audit_log_reads_in_words_with_names_not_codes_or_ids(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    li = await coordinator(bot, fake)
    assert bot.services is not None
    actor = await bot.services.users.require(li.id)
    await bot.services.users.register(301, display_name="Zhou", language="zh", building_id=None)
    building = await bot.services.admin.add_building(
        actor, "5号楼", bot.services.default_community_id
    )
    await bot.services.admin.set_coordinator(actor, 301, True)
    await li.send("/admin")

    await li.press(await li.wait_for("管理"), "操作记录")

    log = await li.wait_for("操作记录")
    lines = log.text.splitlines()[1:]
    assert [line.split(" · ")[1:] for line in lines] == [
        ["Li", "任命社区工作人员", "Zhou"],
        ["Li", "添加楼院", "5号楼"],
    ]
    for code in ("building.add", "coordinator.promote", "user:", str(COORDINATOR_ID), "301"):
        assert code not in log.text
    assert f"building:{building.id}" not in log.text
