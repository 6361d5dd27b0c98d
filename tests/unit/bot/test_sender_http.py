"""The sender's HTTP (PTB's HTTPXRequest with httpcore's trace): the moment a request leaves
is the moment its bytes are all in the kernel, and a request in doubt is told from one that
never left or was answered. Raw sockets play the server, so nothing is assumed about it."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import parse_qs

import pytest
from telegram.error import Forbidden, NetworkError
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.runtime.http import RequestWatch, sender_request, watching
from bot.runtime.outbox import not_from_telegram

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
LONG_TEXT = "社区通知：" * 780  # about 3,900 characters, as a long announcement


@asynccontextmanager
async def raw_server(serve: Serve, *, receive_buffer: int | None = None) -> AsyncIterator[str]:
    """A TCP server on loopback running `serve` per connection; its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:  # inherited by accepted sockets: a small TCP window
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    listener.bind(("127.0.0.1", 0))
    server = await asyncio.start_server(serve, sock=listener)
    port = listener.getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return await reader.readexactly(length)


def long_message() -> RequestData:
    text = RequestParameter.from_input("text", LONG_TEXT)
    return RequestData([RequestParameter.from_input("chat_id", 1), text])


async def call(url: str, watch: RequestWatch) -> tuple[int, bytes]:
    """A long message sent through the sender's transport while `watch` watches."""
    request = sender_request(pool_size=2)
    await request.initialize()
    token = watching.set(watch)
    try:
        return await request.do_request(f"{url}/bot1:T/sendMessage", "POST", long_message(), 1.0)
    finally:
        watching.reset(token)
        await request.shutdown()


CHILD = """
import asyncio, os, signal, sys
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter
from bot.runtime.http import RequestWatch, sender_request, watching
from bot.runtime.outbox import not_from_telegram

async def main() -> None:
    request = sender_request(pool_size=1)
    await request.initialize()
    watching.set(RequestWatch(on_out=lambda: os.kill(os.getpid(), signal.SIGKILL)))
    text = RequestParameter.from_input("text", sys.argv[2])
    data = RequestData([RequestParameter.from_input("chat_id", 1), text])
    await request.do_request(sys.argv[1] + "/bot1:T/sendMessage", "POST", data, 30.0)

asyncio.run(main())
"""


async def test_a_process_killed_the_moment_its_request_left_still_delivers_all_of_it() -> None:
    received: list[bytes] = []

    async def slow_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(1.0)  # not reading: the window closes, bytes wait on the client
        received.append(await reader.read())  # everything until the client's kernel closes
        writer.close()

    async with raw_server(slow_server, receive_buffer=4096) as url:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, url, LONG_TEXT, stderr=subprocess.PIPE
        )
        _, errors = await asyncio.wait_for(child.communicate(), 20)
        assert child.returncode == -9, errors.decode()  # killed at the moment it was told
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)

    (raw,) = received
    head, _, body = raw.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    assert length > 20_000 and len(body) == length  # nothing was left in the dead process
    assert parse_qs(body.decode())["text"] == [LONG_TEXT]


async def test_a_request_read_and_never_answered_is_in_doubt() -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.transport.abort()  # a reset after the request was read

    watch = RequestWatch()
    async with raw_server(swallow) as url:
        with pytest.raises(NetworkError):
            await call(url, watch)
    assert watch.out and not watch.answered and watch.in_doubt


async def test_a_refused_connection_is_not_in_doubt() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nobody listens there
    watch = RequestWatch()
    with pytest.raises(NetworkError):
        await call(f"http://127.0.0.1:{port}", watch)
    assert not watch.out and not watch.in_doubt


async def test_an_error_answer_from_the_api_is_not_in_doubt() -> None:
    async def server_error(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    watch = RequestWatch()
    async with raw_server(server_error) as url:
        status, _ = await call(url, watch)
    assert status == 500 and watch.out and watch.answered and not watch.in_doubt


def answer_then(
    reply: bytes,
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()
        writer.transport.abort()

    return serve


async def test_a_200_whose_body_was_cut_off_was_accepted_not_in_doubt() -> None:
    watch = RequestWatch()
    serve = answer_then(b'HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n{"ok": true, ')
    async with raw_server(serve) as url:
        with pytest.raises(NetworkError):
            await call(url, watch)
    assert watch.status == 200 and watch.accepted and not watch.in_doubt


async def test_a_gateways_504_leaves_the_request_in_doubt() -> None:
    watch = RequestWatch()
    body = b'{"ok": false, "error_code": 504, "description": "Gateway Timeout"}'
    reply = b"HTTP/1.1 504 Gateway Timeout\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    async with raw_server(answer_then(reply)) as url:
        status, _ = await call(url, watch)
    assert status == 504 and watch.in_doubt and not watch.accepted


async def test_a_proxys_page_is_not_taken_for_telegrams_verdict() -> None:
    page = b"<html><body>403 Forbidden by the office proxy</body></html>"
    proxy = b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n\r\n%s" % (len(page), page)
    body = b'{"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked"}'
    telegram = b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    verdicts = []
    for reply in (proxy, telegram):
        async with raw_server(answer_then(reply)) as url:
            request = sender_request(pool_size=1)
            await request.initialize()
            try:
                await request.post(f"{url}/bot1:T/sendMessage", long_message())
            except Forbidden as error:
                verdicts.append(not_from_telegram(error))
            finally:
                await request.shutdown()
    assert verdicts == [True, False]
