"""A small HTTP/1.1 keep-alive client for python-telegram-bot, used by the outbox sender.

Why: the sender's hot path is one JSON POST per message. Through httpx/httpcore/anyio a call
costs about 2 ms of CPU on a small 2-core machine (measured: 2.3 ms; this client 0.2 ms), which
caps a whole bot process near 150 messages/s. PTB still builds the request and maps every
error (RetryAfter, Forbidden, ChatMigrated, ...): only the transport is replaced.

Scope, on purpose: JSON bodies over plain or TLS connections, responses with Content-Length or
chunked bodies. Uploads (multipart) go to an HTTPXRequest; with a proxy configured in the
environment the sender uses HTTPXRequest altogether (see `bot.runtime.scheduler.sender_bot`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

USER_AGENT = "Linli (python-telegram-bot; lean HTTP/1.1)"
Key = tuple[str, str, int]

# Called (in the caller's task) once a request's bytes are all in the kernel's hands: from
# then on the server gets it even if this process dies. The outbox sender notes it.
request_written: ContextVar[Callable[[], None] | None] = ContextVar(
    "request_written", default=None
)


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @property
    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


def _timeout(value: object, default: float | None) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if value is None:
        return None
    return default  # DEFAULT_NONE: not given


class LeanRequest(BaseRequest):
    """PTB's request interface over asyncio streams, with a small pool of kept-alive
    connections per server."""

    def __init__(
        self,
        *,
        pool_size: int = 8,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
    ) -> None:
        self.pool_size = pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._idle: dict[Key, list[_Connection]] = {}
        self._uploads = HTTPXRequest(connection_pool_size=2)
        self._tls: ssl.SSLContext | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        await self._uploads.initialize()

    async def shutdown(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        await self._uploads.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is not None and request_data.contains_files:
            return await self._uploads.do_request(
                url,
                method,
                request_data,
                read_timeout,  # type: ignore[arg-type]
                write_timeout,  # type: ignore[arg-type]
                connect_timeout,  # type: ignore[arg-type]
                pool_timeout,  # type: ignore[arg-type]
            )
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise NetworkError(f"unsupported URL for the lean client: {scheme}://")
        port = parts.port or (443 if scheme == "https" else 80)
        key: Key = (scheme, parts.hostname, port)
        body = request_data.json_payload if request_data is not None else b""
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\n"
            f"Accept: application/json\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        connection = await self._checkout(key, _timeout(connect_timeout, self._connect_timeout))
        try:
            connection.writer.write(head + body)
            if connection.writer.transport.get_write_buffer_size():
                await asyncio.wait_for(
                    connection.writer.drain(), _timeout(write_timeout, self._write_timeout)
                )
            written = request_written.get()
            if written is not None:
                written()
            status, keep, payload = await asyncio.wait_for(
                _read_response(connection.reader), _timeout(read_timeout, self._read_timeout)
            )
        except TimeoutError:
            connection.close()
            raise TimedOut() from None
        except (OSError, EOFError, asyncio.IncompleteReadError, ValueError) as error:
            connection.close()
            raise NetworkError(f"lean HTTP: {error!r}") from error
        except BaseException:
            connection.close()  # cancelled mid-request: the connection state is unknown
            raise
        if keep:
            self._checkin(key, connection)
        else:
            connection.close()
        return status, payload

    async def _checkout(self, key: Key, timeout: float | None) -> _Connection:
        idle = self._idle.get(key, [])
        while idle:
            connection = idle.pop()
            if connection.usable:
                return connection
            connection.close()  # the server closed it while it was idle
        scheme, host, port = key
        if scheme == "https" and self._tls is None:
            self._tls = ssl.create_default_context()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    host,
                    port,
                    ssl=self._tls if scheme == "https" else None,
                    server_hostname=host if scheme == "https" else None,
                ),
                timeout,
            )
        except TimeoutError:
            raise TimedOut("connecting to the Bot API timed out") from None
        except OSError as error:
            raise NetworkError(f"lean HTTP: cannot connect: {error!r}") from error
        return _Connection(reader, writer)

    def _checkin(self, key: Key, connection: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) < self.pool_size and connection.usable:
            idle.append(connection)
        else:
            connection.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """(status, keep the connection, body) of one HTTP/1.1 response."""
    status_line = await reader.readline()
    if not status_line:
        raise EOFError("the server closed the connection before answering")
    version, code, *_ = status_line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if not line:
            raise EOFError("the server closed the connection in the headers")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    keep = version.upper() == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body, keep = await reader.read(), False
    return int(code), keep, body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size_line = await reader.readline()
        if not size_line:
            raise EOFError("the server closed the connection in a chunked body")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)  # CRLF after the chunk
