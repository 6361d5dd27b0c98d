"""Live messages kept in the database: which message shows what, followed and retired."""

from __future__ import annotations

from sqlalchemy import select

from bot.services import Services
from bot.services.notify import RetireLive
from storage.schema import live_messages, outbox


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
