"""Updates of different people at once, one person's in order (bot/runtime/ordering.py)."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.runtime.ordering import InOrderPerPerson, person_of


def message_from(user_id: int, update_id: int, text: str = "hi") -> Update:
    person = {"id": user_id, "is_bot": False, "first_name": f"P{user_id}"}
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": person,
                "text": text,
            },
        },
        None,
    )


async def test_one_persons_updates_wait_for_each_other_and_others_do_not() -> None:
    processor = InOrderPerPerson(8)
    done: list[str] = []
    first_may_end = asyncio.Event()

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        if wait is not None:
            await wait.wait()
        done.append(name)

    updates = [
        (message_from(10, 1), handle("A1", first_may_end)),
        (message_from(10, 2), handle("A2")),
        (message_from(20, 3), handle("B1")),
        (message_from(10, 4), handle("A3")),
    ]
    tasks = [asyncio.create_task(processor.process_update(u, c)) for u, c in updates]
    await asyncio.sleep(0.05)
    # A1 is slow: B1 was handled meanwhile, A's later updates still wait behind A1.
    assert done == ["B1"]
    first_may_end.set()
    await asyncio.gather(*tasks)
    assert done == ["B1", "A1", "A2", "A3"]
    assert processor.people_in_hand() == 0  # nothing is kept for people no longer active


async def test_a_failing_update_releases_its_person() -> None:
    processor = InOrderPerPerson(4)

    async def fail() -> None:
        raise RuntimeError("handler bug")

    async def succeed() -> str:
        return "ok"

    failing = asyncio.create_task(processor.process_update(message_from(10, 1), fail()))
    after = asyncio.create_task(processor.process_update(message_from(10, 2), succeed()))
    results = await asyncio.gather(failing, after, return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] is None
    assert processor.people_in_hand() == 0


def test_whose_order_an_update_keeps() -> None:
    assert person_of(message_from(10, 1)) == 10
    channel = Update.de_json(
        {
            "update_id": 5,
            "channel_post": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": -100123, "type": "channel", "title": "c"},
                "text": "x",
            },
        },
        None,
    )
    assert person_of(channel) == -100123  # no sender: its chat
    assert person_of(object()) is None
