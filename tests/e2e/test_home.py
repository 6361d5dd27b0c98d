"""The home screen as an elderly resident uses it: big buttons only, no typed command. A
newcomer registers, posts a wish by voice with the buttons, a member listens to it before
taking it on, and the resident is told who is coming. Taps (button presses) are counted:
from the home screen to a posted wish takes at most three."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.models import Role, Skill, WishStatus
from handlers.home import HelpCardButton
from storage import org
from storage import users as users_repo
from tests.e2e.conftest import RunningBot
from tests.support.fake_bot_api import FakeBotApi, FakeMessage, FakeUser

NEWCOMER, HELPER = 201, 202
PHONE = "+8613900001111"


@dataclass
class Counted:
    """A user whose presses (buttons and the home keyboard) are counted."""

    user: FakeUser
    taps: int = 0
    seen: list[int] = field(default_factory=list)

    async def press(self, message: FakeMessage, label: str) -> None:
        self.taps += 1
        await self.user.press(message, label)

    async def tap_home(self, label: str, shown: FakeMessage) -> None:
        """A big button of the home keyboard: it sends its own text."""
        assert label in shown.keyboard, shown.keyboard
        self.taps += 1
        await self.user.send(label)

    async def share_contact(self, phone: str) -> None:
        self.taps += 1
        await self.user.share_contact(phone)


async def test_a_resident_posts_a_voice_wish_with_buttons_alone_and_learns_who_is_coming(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    services = bot.services
    assert services is not None
    async with services.store.transaction() as conn:
        building = await org.add_building(
            conn, services.default_community_id, "7号楼", services.clock.now()
        )
    await services.users.register(
        HELPER, display_name="小赵", language="zh", building_id=building.id
    )
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, HELPER, Role.MEMBER, None, services.clock.now())
        await users_repo.set_skills(conn, HELPER, {Skill.OTHER, Skill.REPAIRS})
    grandma = Counted(fake.user(NEWCOMER, first_name="Wang", language_code="zh-hans"))
    helper = fake.user(HELPER, first_name="Zhao", language_code="zh")

    # Onboarding: her name and room typed, her building and phone by buttons.
    await grandma.user.send("/start")
    await grandma.user.wait_for("我们怎么称呼您")
    await grandma.user.send("王奶奶")
    await grandma.press(await grandma.user.wait_for("楼院"), "7号楼")
    await grandma.user.wait_for("房号")
    await grandma.user.send("7-702")
    await grandma.user.wait_for("手机号")
    await grandma.share_contact(PHONE)
    home = await grandma.user.wait_for("登记完成")
    onboarding_taps, onboarding_messages = grandma.taps, len(grandma.user.inbox)
    assert onboarding_taps == 2 and onboarding_messages <= 5  # before: 3 taps, 7 messages

    # The wish: one big button, a voice note, one press to post.
    await grandma.tap_home("🙋 发微心愿", home)
    ask = await grandma.user.wait_for("您想请人帮什么忙")
    assert "✖ 取消" in [text for text, _ in ask.buttons]  # a way out on every step
    await grandma.user.send_voice("GRANDMA-VOICE", duration=21)
    card = await grandma.user.wait_for("请看一下您的微心愿")
    assert "不着急" in card.text  # no date asked: "no hurry" unless she changes it
    await grandma.press(card, "✅ 发布")
    await grandma.user.wait_for("已发布")
    assert grandma.taps - onboarding_taps <= 3
    assert len(grandma.user.inbox) - onboarding_messages <= 3
    (wish,) = (await services.wishes.mine(await services.users.require(NEWCOMER))).wishes
    assert wish.voice_file_id == "GRANDMA-VOICE" and wish.status is WishStatus.OPEN
    typed = [m.text for m in fake.messages if m.chat_id == NEWCOMER and not m.from_bot]
    assert not any(text and text.startswith("/") and text != "/start" for text in typed)

    # The member hears it before taking it on — the voice alone, no contact with it.
    offer = await helper.wait_for(lambda m: "▶ 听语音" in str(m.buttons))
    await helper.press(offer, "▶ 听语音")
    heard = await helper.wait_for(lambda m: m.voice == "GRANDMA-VOICE")
    assert PHONE not in (heard.caption or "") and "7-702" not in (heard.caption or "")
    await helper.press(heard, "我来帮忙")

    # She is told who is coming, and what to check at the door.
    told = await grandma.user.wait_for("上门的人")
    assert "小赵" in told.text and "不要给陌生人开门" in told.text


async def test_an_edited_button_message_or_a_help_button_in_a_group_does_nothing(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    """An edit of an old message must not run the button's command again (the bot does not
    ask Telegram for edits, and the home buttons take new messages only). A help-card
    button forged into a group is refused, and nothing is posted there."""
    services = bot.services
    assert services is not None
    await services.users.register(NEWCOMER, display_name="王奶奶", language="zh", building_id=None)
    grandma = fake.user(NEWCOMER, first_name="Wang", language_code="zh")
    sent = await grandma.send("📋 我的心愿")
    await grandma.wait_for("您还没有发布过微心愿")
    before = len(grandma.inbox)
    edited = {**sent.to_dict(), "text": "🙋 发微心愿", "edit_date": 1}
    fake.enqueue_update({"edited_message": edited})
    await fake.wait_idle(quiet=0.5)
    assert grandma.inbox[before:] == []  # no prompt, no "something went wrong"

    group = fake.group(-100777, "楼院群")
    await grandma.send("/help", chat=group)
    in_group = await group.wait_for(lambda m: True)
    await fake.wait_idle(quiet=0.3)
    shown = len(group.inbox)
    answered = await grandma.press_data(in_group, HelpCardButton(command="wish").pack())
    assert answered is not None and "发微心愿" not in answered
    await fake.wait_idle(quiet=0.3)
    assert len(group.inbox) == shown
