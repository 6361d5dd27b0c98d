"""The sender's HTTP: python-telegram-bot's own `HTTPXRequest` (httpx), as every other call of
the bot makes, with the same trust store and proxy settings from the environment.

The sender must know two moments of each request to keep its contract (bot/runtime/outbox.py):
when the request has left — its body handed to the kernel, so the server gets it even if this
process dies — and whether an answer began to arrive. httpcore reports both through the
request's `trace` extension (`send_request_body.complete`, `receive_response_headers.complete`);
an httpx request hook attaches the trace of the request being watched in the calling task.

"Handed to the kernel": httpcore's socket write returns once asyncio's transport took the bytes,
and the transport keeps in the process whatever the kernel's send buffer did not accept at once
(a reviewer saw 11 KB of a 24 KB request left so with a hand-written client). A fixed send
buffer (SEND_BUFFER, far above the largest request the sender makes — a 4,096-character Chinese
message is about 37 KB form-encoded — with one request at a time per connection) makes the
kernel take a whole request in one call, so when the body is reported written nothing of it is
left in the process. (Linux doubles the value asked and caps it at twice net.core.wmem_max,
416 KB by default; on the development machine an autotuned loopback socket took 600 KB at once
even without it, so the fixed size matters on smaller kernels and real links.) A test kills a
process right at that moment and reads what the server got.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
from telegram.request import HTTPXRequest

SEND_BUFFER = 1 << 20
# A gateway's "timed out waiting for the Bot API" (504): the API may have acted meanwhile. A 502
# (the gateway could not reach the API or got no valid answer) and the other 5xx: not done.
GATEWAY_DOUBT = (504,)


@dataclass
class RequestWatch:
    """What became of the requests made while this watch was set (one call of the Bot API;
    an edit that must be sent anew makes two, and the flags follow the latest)."""

    on_out: Callable[[], None] | None = None  # called in the caller's task when a body left
    out: bool = False  # the latest request's body was handed to the kernel
    status: int | None = None  # the status of the latest request's answer, once it began
    answered: bool = False  # the latest answer arrived whole

    @property
    def accepted(self) -> bool:
        """Telegram said 200 and the rest of its answer was lost: the request was done."""
        return self.status is not None and 200 <= self.status < 300 and not self.answered

    @property
    def in_doubt(self) -> bool:
        """The request left, and no answer came — or a gateway's 504, sent when the Bot API
        behind it may or may not have acted: nobody knows whether it was done."""
        return self.out and (self.status is None or self.status in GATEWAY_DOUBT)

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_headers.started"):
            self.out = self.answered = False
            self.status = None
        elif event.endswith("send_request_body.complete"):
            self.out = True
            if self.on_out is not None:
                self.on_out()
        elif event.endswith("receive_response_headers.complete"):
            answer = info.get("return_value")
            if isinstance(answer, tuple) and len(answer) > 1 and isinstance(answer[1], int):
                self.status = answer[1]  # httpcore: (http version, status, reason, headers)
        elif event.endswith("receive_response_body.complete"):
            self.answered = True


# The watch of the Bot API call the current task is making (None: nobody watches).
watching: ContextVar[RequestWatch | None] = ContextVar("watching", default=None)


async def _attach_trace(request: httpx.Request) -> None:
    watch = watching.get()
    if watch is not None:
        request.extensions["trace"] = watch.trace


def sender_request(pool_size: int, *, read_timeout: float = 5.0) -> HTTPXRequest:
    """The sender's HTTPXRequest: `pool_size` connections (its requests in flight), a send
    buffer that takes a whole request, and the trace of the watched call attached."""
    return HTTPXRequest(
        connection_pool_size=pool_size,
        read_timeout=read_timeout,
        socket_options=[(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)],
        httpx_kwargs={"event_hooks": {"request": [_attach_trace]}},
    )
