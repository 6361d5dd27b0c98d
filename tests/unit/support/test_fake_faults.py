"""Network faults of the fake Bot API, seen from a plain httpx client: what the client gets
and whether the request's effect (a message sent) happened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-TOKEN"
CHAT = 42
# What a client may see when the server resets a connection it sent a request on.
CUT = (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        server.user(CHAT)
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield http


def url(fake: FakeBotApi, method: str = "sendMessage") -> str:
    return f"{fake.base_url}{TOKEN}/{method}"


async def send(
    client: httpx.AsyncClient, fake: FakeBotApi, text: str = "hi", **kwargs: Any
) -> httpx.Response:
    return await client.post(url(fake), json={"chat_id": CHAT, "text": text}, **kwargs)


def texts(fake: FakeBotApi) -> list[str | None]:
    return [m.text for m in fake.sent_to(CHAT)]


async def test_outage_refuses_connects_then_listens_on_the_same_port(
    fake: FakeBotApi, client: httpx.AsyncClient
) -> None:
    assert (await send(client, fake, "before")).status_code == 200  # a kept-alive connection
    port = fake.url
    fake.outage(0.4)
    with pytest.raises(httpx.ConnectError):
        await send(client, fake, "during")
    async with httpx.AsyncClient() as fresh:
        with pytest.raises(httpx.ConnectError):
            await send(fresh, fake, "during, new client")
    assert fake.fault_counts["outage_cut"] == 1  # the idle keep-alive connection
    await asyncio.sleep(0.5)
    assert fake.url == port
    assert (await send(client, fake, "after")).json()["ok"] is True
    assert texts(fake) == ["before", "after"]


async def test_outage_cuts_a_pending_long_poll_and_loses_no_update(
    fake: FakeBotApi, client: httpx.AsyncClient
) -> None:
    poll = asyncio.create_task(client.post(url(fake, "getUpdates"), json={"timeout": 5}))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    fake.outage(None)
    with pytest.raises(CUT):
        await poll
    assert time.monotonic() - started < 1.0
    update_id = fake.enqueue_update({"message": {"message_id": 1, "text": "queued"}})
    fake.heal()
    reply = await client.post(url(fake, "getUpdates"), json={"timeout": 0})
    assert [u["update_id"] for u in reply.json()["result"]] == [update_id]  # nothing lost


async def test_stop_works_during_an_outage() -> None:
    fake = FakeBotApi()
    await fake.start()
    fake.outage(5.0)
    started = time.monotonic()
    await fake.stop()
    assert time.monotonic() - started < 1.0
    await asyncio.sleep(0.05)
    assert not fake.faults_active


async def test_hang_holds_the_answer_but_the_effect_happens_after_the_window(
    fake: FakeBotApi, client: httpx.AsyncClient
) -> None:
    fake.hang(0.5)
    with pytest.raises(httpx.ReadTimeout):
        await send(client, fake, "gave up", timeout=0.2)
    assert texts(fake) == []  # held, not processed yet
    started = time.monotonic()
    reply = await send(client, fake, "waited")  # arrives in the window: held until its end
    assert time.monotonic() - started >= 0.2
    assert reply.json()["result"]["text"] == "waited"
    assert set(texts(fake)) == {"gave up", "waited"}  # the abandoned one was served too
    assert fake.fault_counts["hang"] == 2
    assert len(fake.calls_to("sendMessage")) == 2


async def test_hang_spares_get_updates_and_other_methods(
    fake: FakeBotApi, client: httpx.AsyncClient
) -> None:
    fake.hang(None, methods={"SENDMESSAGE"})
    poll = await client.post(url(fake, "getUpdates"), json={"timeout": 0}, timeout=0.5)
    assert poll.json()["ok"] is True
    me = await client.get(url(fake, "getMe"), timeout=0.5)
    assert me.json()["ok"] is True
    held = asyncio.create_task(send(client, fake, "held"))
    await asyncio.sleep(0.3)
    assert not held.done()
    fake.heal()
    assert (await held).json()["ok"] is True
    assert texts(fake) == ["held"]


async def test_reset_after_read_processed(fake: FakeBotApi, client: httpx.AsyncClient) -> None:
    fake.reset_after_read(count=2)
    for text in ("one", "two"):
        with pytest.raises(CUT):
            await send(client, fake, text)
    assert texts(fake) == ["one", "two"]  # processed although the client got no answer
    assert (await send(client, fake, "three")).status_code == 200
    assert fake.fault_counts["reset"] == 2
    assert [c.status for c in fake.calls_to("sendMessage")] == [200, 200, 200]


async def test_reset_after_read_unprocessed(fake: FakeBotApi, client: httpx.AsyncClient) -> None:
    fake.reset_after_read(0.3, processed=False)
    with pytest.raises(CUT):
        await send(client, fake, "lost")
    assert texts(fake) == []
    assert fake.calls_to("sendMessage") == []
    await asyncio.sleep(0.35)
    assert (await send(client, fake, "later")).status_code == 200
    assert texts(fake) == ["later"]


async def test_faults_combine_hang_then_reset(fake: FakeBotApi, client: httpx.AsyncClient) -> None:
    fake.hang(0.3)
    fake.reset_after_read(count=1)
    started = time.monotonic()
    with pytest.raises(CUT):
        await send(client, fake, "held then cut")
    assert time.monotonic() - started >= 0.25
    assert texts(fake) == ["held then cut"]
    assert fake.fault_counts["hang"] == fake.fault_counts["reset"] == 1


async def test_delay_answer_processes_at_once_and_answers_late(
    fake: FakeBotApi, client: httpx.AsyncClient
) -> None:
    fake.delay_answer(0.5, delay=0.4)
    with pytest.raises(httpx.ReadTimeout):
        await send(client, fake, "timed out", timeout=0.2)
    assert texts(fake) == ["timed out"]  # the effect happened before the client gave up
    started = time.monotonic()
    reply = await send(client, fake, "patient")
    assert time.monotonic() - started >= 0.35
    assert reply.json()["result"]["text"] == "patient"
    assert fake.fault_counts["delay"] == 2


async def test_fail_5xx_answers_without_processing(
    fake: FakeBotApi, client: httpx.AsyncClient
) -> None:
    fake.fail_5xx(count=2, status=503)
    for _ in range(2):
        reply = await send(client, fake)
        assert reply.status_code == 503
        assert reply.json() == {
            "ok": False,
            "error_code": 503,
            "description": "Service Unavailable",
        }
    assert texts(fake) == []
    assert (await send(client, fake, "ok")).status_code == 200
    assert texts(fake) == ["ok"]
    assert fake.fault_counts["5xx"] == 2


async def test_fail_5xx_window_and_heal(fake: FakeBotApi, client: httpx.AsyncClient) -> None:
    fake.fail_5xx(None)
    assert (await send(client, fake)).status_code == 502
    assert (await client.get(url(fake, "getMe"))).status_code == 502
    assert (await client.post(url(fake, "getUpdates"), json={})).status_code == 200
    fake.heal()
    assert (await send(client, fake, "healed")).status_code == 200
    assert texts(fake) == ["healed"]


async def test_fail_next_still_works(fake: FakeBotApi, client: httpx.AsyncClient) -> None:
    fake.fail_next("sendMessage", 502, count=1)
    assert (await send(client, fake)).status_code == 502
    assert (await send(client, fake, "ok")).status_code == 200
    assert texts(fake) == ["ok"]


async def test_slow_reads_delay_big_bodies_only(
    fake: FakeBotApi, client: httpx.AsyncClient
) -> None:
    fake.slow_reads(1.0, bytes_per_second=48_000)
    started = time.monotonic()
    assert (await send(client, fake, "small")).status_code == 200
    small = time.monotonic() - started
    started = time.monotonic()
    big = {"chat_id": CHAT, "text": "big", "padding": "x" * 24_000}
    assert (await client.post(url(fake, "sendMessage"), json=big)).status_code == 200
    slow = time.monotonic() - started
    assert small < 0.15
    assert 0.4 <= slow < 1.5
    assert texts(fake) == ["small", "big"]
    assert fake.fault_counts["slow_read"] == 2


async def test_slow_reads_keep_form_and_multipart_bodies_intact(
    fake: FakeBotApi, client: httpx.AsyncClient
) -> None:
    fake.slow_reads(None, bytes_per_second=100_000)
    form = await client.post(url(fake), data={"chat_id": str(CHAT), "text": "form"})
    assert form.json()["ok"] is True
    upload = await client.post(
        url(fake, "sendDocument"),
        data={"chat_id": str(CHAT)},
        files={"document": ("a.txt", b"x" * 5000, "text/plain")},
    )
    assert upload.json()["ok"] is True
    assert [m.kind for m in fake.sent_to(CHAT)] == ["text", "document"]


async def test_heal_releases_held_requests_and_late_answers(
    fake: FakeBotApi, client: httpx.AsyncClient
) -> None:
    fake.hang(None, methods=["getMe"])
    fake.delay_answer(None, delay=60)
    held = asyncio.create_task(client.get(url(fake, "getMe")))
    late = asyncio.create_task(send(client, fake, "late"))
    await asyncio.sleep(0.2)
    assert texts(fake) == ["late"]
    assert not held.done()
    assert not late.done()
    fake.heal()
    assert (await held).json()["ok"] is True
    assert (await late).json()["ok"] is True
    assert not fake.faults_active


async def test_stop_releases_held_requests() -> None:
    fake = FakeBotApi()
    await fake.start()
    fake.user(CHAT)
    fake.hang(None)
    async with httpx.AsyncClient() as http:
        held = asyncio.create_task(send(http, fake, "held"))
        await asyncio.sleep(0.1)
        await fake.stop()
        reply = await held
    assert reply.json()["ok"] is True
    assert texts(fake) == ["held"]
