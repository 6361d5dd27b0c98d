"""Dialogue states are stored by name; rows saved by the release before (IntEnum values) are
loaded as the named state, so a dialogue open during the deploy goes on in the right step."""

from __future__ import annotations

import json

import pytest

from bot.config import Settings
from bot.runtime.persistence import LEGACY_STATES, state_by_name
from storage import bot_state
from storage.store import Store
from tests.conftest import COORDINATOR_ID
from tests.e2e import posting
from tests.e2e.conftest import RunningBot
from tests.e2e.test_onboarding import add_building
from tests.support.fake_bot_api import FakeBotApi


async def save_old_rows(settings: Settings, rows: list[tuple[str, str, object]]) -> None:
    """Write bot_state rows exactly as the previous release's persistence wrote them."""
    store = await Store.open(settings.database_url)
    try:
        async with store.transaction() as conn:
            for kind, key, data in rows:
                await bot_state.save(conn, kind, key, data)
    finally:
        await store.close()


def conversation_key(name: str, chat_id: int, user_id: int) -> str:
    return f"{name}|{json.dumps([chat_id, user_id])}"


async def test_onboarding_open_in_the_old_int_layout_goes_on_in_the_room_step(
    fake: FakeBotApi, bot: RunningBot, bot_settings: Settings
) -> None:
    await add_building(bot, "7号楼")
    await bot.stop()
    # The old release: Onboarding.ROOM == 4, the draft an untyped dict.
    await save_old_rows(
        bot_settings,
        [
            ("conversation", conversation_key("onboarding", 401, 401), 4),
            ("user", "401", {"onboarding": {"language": "en", "name": "Ann"}}),
        ],
    )
    await bot.start()
    en = fake.user(401, first_name="Ann", language_code="en")
    await en.send("3-201")  # the answer to the room question asked before the deploy
    await en.wait_for("May we have your phone number?")
    await en.send("Skip")
    await en.wait_for("You are registered")
    assert bot.services is not None
    user = await bot.services.users.require(401)
    assert (user.display_name, user.room, user.language) == ("Ann", "3-201", "en")


async def test_profile_open_in_the_old_int_layout_takes_the_typed_name(
    fake: FakeBotApi, bot: RunningBot, bot_settings: Settings
) -> None:
    assert bot.services is not None
    await bot.services.users.register(402, display_name="Bo", language="en", building_id=None)
    await bot.stop()
    await save_old_rows(
        bot_settings, [("conversation", conversation_key("profile", 402, 402), 2)]
    )  # ProfileDialogue.NAME == 2
    await bot.start()
    en = fake.user(402, first_name="Bo", language_code="en")
    await en.send("Bob")
    await en.wait_for("Saved.")
    assert bot.services is not None
    assert (await bot.services.users.require(402)).display_name == "Bob"


async def test_an_admin_dialogue_is_saved_by_name_after_a_restart(
    fake: FakeBotApi, bot: RunningBot
) -> None:
    assert bot.services is not None
    await bot.services.users.register(
        COORDINATOR_ID, display_name="Li", language="en", building_id=None
    )
    li = fake.user(COORDINATOR_ID, first_name="Li", language_code="en")
    await li.send("/admin")
    await li.press(await li.wait_for("Administration"), "Buildings")
    listing = await li.wait_for(lambda m: m.button("Add a building") is not None)
    await li.press(listing, "Add a building")
    await li.wait_for("name of the new building")
    await fake.wait_idle()
    await bot.restart()
    assert bot.services is not None
    async with bot.services.store.read() as conn:
        rows = await bot_state.load_kind(conn, "conversation")
    key = conversation_key("admin", COORDINATOR_ID, COORDINATOR_ID)
    assert rows[key] == "add_building"
    await li.send("9号楼")
    await li.wait_for("Building 9号楼 added")


async def test_a_wish_being_written_in_the_old_int_layout_takes_the_typed_wish(
    fake: FakeBotApi, bot: RunningBot, bot_settings: Settings
) -> None:
    assert bot.services is not None
    await bot.services.users.register(403, display_name="王奶奶", language="zh", building_id=None)
    await bot.stop()
    # The old release: WishDialogue.CONTENT == 6, the draft an untyped dict (same field names).
    await save_old_rows(
        bot_settings,
        [
            ("conversation", conversation_key("wishes", 403, 403), 6),
            ("user", "403", {"wish_draft": {"category": "repairs"}}),
        ],
    )
    await bot.start()
    wang = fake.user(403, first_name="Wang", language_code="zh")
    # The answer to "please tell us your wish", asked before; no word of it guesses a kind,
    # so the kind on the card is the one in the old draft.
    await wang.send("厨房的窗户关不上了")
    card = await wang.wait_for(posting.CARD)
    assert "帮助类型：家庭维修" in card.text and "厨房的窗户关不上了" in card.text
    card = await posting.change(wang, card, when="明天")
    await wang.press(card, "✅ 发布")
    await wang.wait_for("已发布")


@pytest.mark.parametrize(
    ("conversation", "old", "name"),
    [
        ("wishes", 1, "for_name"),
        ("wishes", 6, "content"),
        ("wishes", 12, "release_reason"),
        ("onboarding", 3, "building"),
        ("broadcast", 3, "when"),
        ("teams", 4, "pick"),
        ("join", 1, "skills"),
        ("admin", 4, "reject_reason"),
    ],
)
def test_old_int_states_map_to_their_names(conversation: str, old: int, name: str) -> None:
    assert state_by_name(conversation, old) == name


def test_named_and_unknown_states() -> None:
    assert state_by_name("profile", "quiet") == "quiet"  # already a name: kept
    assert state_by_name("profile", 99) is None  # no such old state: the dialogue is dropped
    assert state_by_name("no_such_dialogue", 1) is None
    assert set(LEGACY_STATES) >= {"onboarding", "profile", "join", "admin", "teams", "broadcast"}


def test_every_named_dialogue_state_is_reachable_from_the_legacy_table() -> None:
    """Each dialogue's old ints map onto its current state names, one each (states added
    since the move to names had no int)."""
    from handlers.admin import AdminDialogue
    from handlers.broadcast import BroadcastDialogue
    from handlers.membership import JoinDialogue
    from handlers.profile import ProfileDialogue
    from handlers.start import Onboarding
    from handlers.teams import TeamDialogue
    from handlers.wishes.views import WishDialogue

    current = {
        "onboarding": Onboarding,
        "profile": ProfileDialogue,
        "join": JoinDialogue,
        "admin": AdminDialogue,
        "teams": TeamDialogue,
        "broadcast": BroadcastDialogue,
        "wishes": WishDialogue,
    }
    for name, states in current.items():
        old = list(LEGACY_STATES[name].values())
        assert len(set(old)) == len(old) and set(old) <= {s.value for s in states}, name


async def test_a_thank_you_being_written_in_the_old_layout_reaches_the_helper(
    fake: FakeBotApi, bot: RunningBot, bot_settings: Settings
) -> None:
    services = bot.services
    assert services is not None
    from bot.models import Role, WishCategory
    from bot.services.wishes import WishDraft
    from storage import users as users_repo

    wang = await services.users.register(
        404, display_name="王奶奶", language="zh", building_id=None
    )
    zhao = await services.users.register(405, display_name="小赵", language="zh", building_id=None)
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, zhao.id, Role.MEMBER, None, services.clock.now())
    zhao = await services.users.require(zhao.id)
    wish = await services.wishes.post(wang, WishDraft(category=WishCategory.REPAIRS, text="灯"))
    await services.wishes.claim(zhao, wish.id)
    await services.wishes.report_done(zhao, wish.id, note="好了")
    await services.wishes.confirm(wang, wish.id)
    await bot.stop()
    # The old release: WishDialogue.THANKS == 10, the wish's number in the posting draft's place.
    await save_old_rows(
        bot_settings,
        [
            ("conversation", conversation_key("wishes", 404, 404), 10),
            ("user", "404", {"wish_draft": {"wish_id": wish.id}}),
        ],
    )
    await bot.start()
    resident = fake.user(404, first_name="Wang", language_code="zh")
    helper = fake.user(405, first_name="Zhao", language_code="zh")
    await resident.send("谢谢小赵！")
    await resident.wait_for("您的话已经送到")
    await helper.wait_for("谢谢小赵！", since=0)
