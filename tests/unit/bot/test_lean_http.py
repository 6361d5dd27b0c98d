"""The sender's small HTTP/1.1 client against tiny raw servers: keep-alive, chunked bodies,
closed connections, timeouts, and the "request went out" signal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from telegram.error import NetworkError, TimedOut

from bot.runtime.lean_http import LeanRequest, request_written

Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return await reader.readexactly(length) if length else b""


class Server:
    """Answers each request with `reply`; counts connections and requests."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await read_request(reader)
                self.requests += 1
                if not await self.reply(reader, writer):
                    break
        writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/bot123:abc/getMe"


@contextlib.asynccontextmanager
async def serving(reply: Reply) -> AsyncIterator[Server]:
    server = Server(reply)
    server.server = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    try:
        yield server
    finally:
        server.server.close()
        for writer in server.writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await server.server.wait_closed()


async def json_ok(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    body = b'{"ok":true,"result":true}'
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    await writer.drain()
    return True


@pytest.fixture
async def client() -> AsyncIterator[LeanRequest]:
    request = LeanRequest(pool_size=2, read_timeout=0.5)
    await request.initialize()
    yield request
    await request.shutdown()


async def test_connections_are_kept_alive_and_reused(client: LeanRequest) -> None:
    async with serving(json_ok) as server:
        for _ in range(3):
            assert await client.do_request(server.url, "POST") == (
                200,
                b'{"ok":true,"result":true}',
            )
    assert (server.connections, server.requests) == (1, 3)


async def test_chunked_bodies_and_connection_close(client: LeanRequest) -> None:
    async def chunked_then_close(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b'5\r\n{"ok"\r\n11\r\n:true,"result":1}\r\n0\r\n\r\n'
        )
        await writer.drain()
        return False

    async with serving(chunked_then_close) as server:
        for _ in range(2):
            assert await client.do_request(server.url, "POST") == (
                200,
                b'{"ok":true,"result":1}',
            )
    assert server.connections == 2  # the server said close: a new connection each time


async def test_a_connection_closed_while_idle_is_not_used_again(client: LeanRequest) -> None:
    async def answer_then_hang_up(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        await json_ok(r, w)
        return False  # closes without saying so

    async with serving(answer_then_hang_up) as server:
        await client.do_request(server.url, "POST")
        await asyncio.sleep(0.05)  # the close arrives while the connection is idle
        await client.do_request(server.url, "POST")
    assert (server.connections, server.requests) == (2, 2)


async def test_silence_is_a_timeout_and_refusal_a_network_error(client: LeanRequest) -> None:
    done = asyncio.Event()

    async def silent(_: asyncio.StreamReader, __: asyncio.StreamWriter) -> bool:
        await done.wait()
        return False

    async with serving(silent) as server:
        with pytest.raises(TimedOut):
            await client.do_request(server.url, "POST")
        url = server.url
        done.set()
        await asyncio.sleep(0.01)
    with pytest.raises(NetworkError):  # nobody listens there any more
        await client.do_request(url, "POST")


async def test_the_written_signal_comes_once_the_request_is_out(client: LeanRequest) -> None:
    seen: list[int] = []

    async def count_requests(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
        seen.append(len(signals))  # the signal came before the server answered
        return await json_ok(r, w)

    signals: list[str] = []
    async with serving(count_requests) as server:
        token = request_written.set(lambda: signals.append("out"))
        try:
            await client.do_request(server.url, "POST")
        finally:
            request_written.reset(token)
        await client.do_request(server.url, "POST")  # no signal wanted here
    assert signals == ["out"] and seen == [1, 1]
