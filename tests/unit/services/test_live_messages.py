"""Live messages kept in the database: which message shows what, followed and retired."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

import bot.app  # noqa: F401  (every feature's views, for rendering)
from bot.clock import ManualClock
from bot.models import Role, WishCategory
from bot.services import Services
from bot.services.notify import RefreshLive, RetireLive
from bot.services.wishes import WishDraft
from handlers.notices import Send, render
from storage import outbox as outbox_repo
from storage import users as users_repo
from storage.schema import live_messages, outbox
from storage.store import Store
from tests.conftest import make_settings


async def test_a_card_sent_anew_after_it_was_opened_again_is_retired_not_lost(
    services: Services,
) -> None:
    live = services.live
    key, thing = "wish:1:card:10", "wish:1"
    await live.keep_current(
        key=key,
        thing=thing,
        view="wish.card",
        chat_id=10,
        message_id=2,
        language="zh",
        viewer_id=10,
    )
    rendered_for = await live.get(key)  # the sender renders an edit of message 2 ...
    assert rendered_for is not None
    await live.keep_current(  # ... the reader opens the card again: message 4 (2 is retired)
        key=key,
        thing=thing,
        view="wish.card",
        chat_id=10,
        message_id=4,
        language="zh",
        viewer_id=10,
    )
    await live.followed(rendered_for, 3, 10)  # message 2 was gone: the card went out as 3

    async with services.store.read() as conn:
        tracked = set((await conn.scalars(select(live_messages.c.message_id))).all())
        retired = {
            row.params["message_id"]
            for row in (await conn.execute(select(outbox))).all()
            if row.kind == RetireLive.KIND
        }
    assert tracked == {4}  # the newest card is the one kept current
    assert retired == {2, 3}  # every other one is cleared of what it showed


async def test_a_wall_post_whose_id_was_lost_in_a_crash_is_shown_anew_and_followed(
    tmp_path: Path, store: Store, clock: ManualClock
) -> None:
    services = await Services.build(
        make_settings(tmp_path, members_group_id=-100555), store, clock
    )
    resident = await services.users.register(
        1, display_name="Wang", language="zh", building_id=None
    )
    member = await services.users.register(
        10, display_name="Zhao", language="zh", building_id=None
    )
    async with store.transaction() as conn:
        await users_repo.grant_role(conn, member.id, Role.MEMBER, None, clock.now())
    wish = await services.wishes.post(resident, WishDraft(category=WishCategory.OTHER, text="x"))
    async with store.transaction() as conn:
        # The wall post went out, but the bot was killed before its message id was recorded:
        # it counts as delivered, with no id (as a row in doubt of an AT_MOST_ONCE kind does).
        await conn.execute(update(outbox).where(outbox.c.chat_id == -100555).values(status="sent"))
    await services.wishes.claim(await services.users.require(member.id), wish.id)
    async with store.read() as conn:
        (edit,) = [
            r for r in await outbox_repo.rows_for_chat(conn, -100555) if r.kind == RefreshLive.KIND
        ]

    action = await render(services, edit, -100555)

    assert isinstance(action, Send) and action.follow is not None  # shown anew, not dropped
    assert "Zhao" in (action.message.text or "")
    await services.live.followed(action.follow, 77, -100555)
    wall = await services.live.get(f"wish:{wish.id}:wall")
    assert wall is not None and wall.message_id == 77  # later changes edit the new post
