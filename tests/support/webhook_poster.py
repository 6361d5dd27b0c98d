"""Telegram's side of a webhook: POST updates to the bot's webhook server, the way Telegram does.

The fake Bot API's driver (:class:`~tests.support.fake_bot_api.FakeUser`: ``send``, ``press``
...) queues each update for ``getUpdates``; a bot on a webhook never asks for them. A
:class:`WebhookPoster` takes the updates queued since its last delivery and POSTs each, as JSON,
with the ``X-Telegram-Bot-Api-Secret-Token`` header, to the address the bot listens on (the
reverse proxy's side of ``WEBHOOK_URL``). ``secret=`` overrides the header for one delivery
(``None``: no header), to play someone who found the URL but not the secret.

Example::

    poster = WebhookPoster(fake, "http://127.0.0.1:8443/telegram", "s3cret")
    await user.send("/start")
    assert await poster.deliver() == [200]
    reply = await user.next_message()
"""

from __future__ import annotations

import json
import socket
from typing import Any, Final

import aiohttp

from tests.support.fake_bot_api import FakeBotApi

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"


class _Keep:
    """The poster's own secret (the default of ``secret=``)."""


KEEP: Final = _Keep()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class WebhookPoster:
    """POSTs the fake's queued updates to a bot's webhook URL (see the module docstring)."""

    def __init__(self, fake: FakeBotApi, url: str, secret: str | None) -> None:
        self.fake = fake
        self.url = url
        self.secret = secret
        self.statuses: list[int] = []  # every answer, in order
        self._forwarded_upto = 0

    async def post(self, update: dict[str, Any], *, secret: str | _Keep | None = KEEP) -> int:
        """POST one update (a Bot API ``Update`` object); return the HTTP status."""
        token = self.secret if isinstance(secret, _Keep) else secret
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers[SECRET_HEADER] = token
        timeout = aiohttp.ClientTimeout(total=10)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(self.url, data=json.dumps(update), headers=headers) as response,
        ):
            await response.read()
            self.statuses.append(response.status)
            return response.status

    def queued(self) -> list[dict[str, Any]]:
        """Updates the fake's users produced that this poster has not delivered yet."""
        return [u for u in self.fake.pending_updates if u["update_id"] > self._forwarded_upto]

    async def deliver(self, *, secret: str | _Keep | None = KEEP) -> list[int]:
        """POST every update queued since the last delivery, in order; return the statuses.

        An update is delivered once whatever the answer (Telegram would retry a failed one; a
        test that wants that posts it again with :meth:`post`)."""
        statuses = []
        for update in self.queued():
            self._forwarded_upto = update["update_id"]
            statuses.append(await self.post(update, secret=secret))
        return statuses
