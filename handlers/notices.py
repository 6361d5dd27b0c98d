"""Rendering what the services recorded as data: each feature's views register a renderer for
each of its notice kinds and each of its live views; the outbox sender asks `render` what to
do with a row when it is about to leave, in the recipient's language.

    @notice_view(WishTakenForYou)
    async def taken(notice: WishTakenForYou, env: ViewEnv) -> Shown: ...

A notice view returns None when what its notice tells of has moved on by the time it leaves
(a "please confirm" for a wish confirmed meanwhile): the row is dropped, not sent.

    @live_view("wish.wall")
    async def wall(live: LiveMessage, env: ViewEnv) -> Shown | None: ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from bot.i18n import Translate, translator
from bot.models import LiveMessage, Notice, OutboxItem, OutboxStatus, OutgoingMessage
from bot.services import Services
from bot.services.notify import RefreshLive, RetireLive, ShowLive
from handlers.common import Buttons


@dataclass(frozen=True)
class Shown:
    """What a view shows: HTML text (every user value escaped), buttons, optional media."""

    text: str
    buttons: Buttons = ()
    photo_file_id: str | None = None
    document_file_id: str | None = None
    voice_file_id: str | None = None  # the text becomes its caption

    def to(self, chat_id: int) -> OutgoingMessage:
        return OutgoingMessage(
            chat_id=chat_id,
            text=self.text,
            photo_file_id=self.photo_file_id,
            document_file_id=self.document_file_id,
            voice_file_id=self.voice_file_id,
            buttons=tuple(tuple(row) for row in self.buttons if row),
        )


@dataclass(frozen=True)
class ViewEnv:
    """What a renderer may use: the services (to load a thing's current state) and the
    reader's language."""

    services: Services
    language: str

    @property
    def t(self) -> Translate:
        return translator(self.language)


# What the sender does with a row.
@dataclass(frozen=True)
class Send:
    message: OutgoingMessage
    follow: LiveMessage | None = None  # a live message shown anew: keep this one current


@dataclass(frozen=True)
class Edit:
    """Edit a live message in place (or send it anew when Telegram no longer allows it; not
    for a retired one, `live` None: then there is nothing left to hide)."""

    live: LiveMessage | None
    message_id: int
    message: OutgoingMessage


@dataclass(frozen=True)
class Later:
    """Not renderable yet (an edit of a message whose first send is still on its way)."""

    seconds: float
    why: str


@dataclass(frozen=True)
class Drop:
    """Nothing to show any more (the thing is gone, or its message was never sent)."""

    why: str


Action = Send | Edit | Later | Drop
N = TypeVar("N", bound=Notice)
R = TypeVar("R", bound=Shown | None)
NoticeView = Callable[[Any, ViewEnv], Awaitable[Shown | None]]  # None: moved on, dropped
LiveView = Callable[[LiveMessage, ViewEnv], Awaitable[Shown | None]]
RetiredView = Callable[[str, ViewEnv], Shown]  # (the thing, env) -> the stub

NOTICE_VIEWS: dict[str, NoticeView] = {}
LIVE_VIEWS: dict[str, LiveView] = {}
RETIRED_VIEWS: dict[str, RetiredView] = {}


def notice_view(
    kind: type[N],
) -> Callable[[Callable[[N, ViewEnv], Awaitable[R]]], Callable[[N, ViewEnv], Awaitable[R]]]:
    """Register the renderer of one notice kind (one per kind)."""

    def register(
        view: Callable[[N, ViewEnv], Awaitable[R]],
    ) -> Callable[[N, ViewEnv], Awaitable[R]]:
        if kind.KIND in NOTICE_VIEWS:
            raise TypeError(f"notice kind {kind.KIND!r} has two views")
        NOTICE_VIEWS[kind.KIND] = view
        return view

    return register


def live_view(name: str) -> Callable[[LiveView], LiveView]:
    """Register the renderer of one kind of live message."""

    def register(view: LiveView) -> LiveView:
        if name in LIVE_VIEWS:
            raise TypeError(f"live view {name!r} is defined twice")
        LIVE_VIEWS[name] = view
        return view

    return register


def require_views(modules: Iterable[ModuleType]) -> None:
    """Every notice kind a service can record has its view (checked at start-up: a notice
    without one would fail only when it is sent). `modules` are the view modules, imported."""
    assert all(isinstance(m, ModuleType) for m in modules)
    known = set(Notice.TYPES) - {ShowLive.KIND, RefreshLive.KIND, RetireLive.KIND}
    missing = sorted(known - set(NOTICE_VIEWS))
    if missing:
        raise RuntimeError(f"notice kinds without a view: {missing}")


def retired_view(name: str) -> Callable[[RetiredView], RetiredView]:
    """Register the stub a live message of this view becomes when it is no longer kept
    current (views that show nothing private need none: they are left as they are)."""

    def register(view: RetiredView) -> RetiredView:
        RETIRED_VIEWS[name] = view
        return view

    return register


async def render_notice(services: Services, notice: Notice, language: str) -> Shown | None:
    """The notice as it reads now; None when what it tells of has moved on."""
    return await NOTICE_VIEWS[notice.KIND](notice, ViewEnv(services, language))


async def render(services: Services, item: OutboxItem, chat_id: int) -> Action:
    """What to send for an outbox row, rendered now, in the recipient's language."""
    if item.kind is None:
        return Send(item.message.model_copy(update={"chat_id": chat_id}))
    notice = Notice.load(item.kind, item.params or {})
    language = item.language or services.settings.default_language
    env = ViewEnv(services, language)
    if isinstance(notice, RetireLive):
        stub = RETIRED_VIEWS.get(notice.view)
        if stub is None:
            return Drop("its view keeps nothing private")
        return Edit(None, notice.message_id, stub(notice.thing, env).to(chat_id))
    if isinstance(notice, ShowLive | RefreshLive):
        live = await services.live.get(notice.key)
        if live is None:
            return Drop("the live message is no longer kept")
        shown = await LIVE_VIEWS[live.view](live, ViewEnv(services, live.language))
        if shown is None:
            return Drop("the thing it shows is gone")
        if isinstance(notice, ShowLive):
            return Send(shown.to(chat_id))
        if live.message_id is None:
            first = await services.live.first_send(live)
            if first in (OutboxStatus.PENDING, OutboxStatus.SENDING):
                return Later(1.0, "its first send has not been recorded yet")
            if first is OutboxStatus.SENT:
                # Sent, but its id is unknown (counted as delivered after a crash): the message
                # cannot be edited, so it is shown anew and that one is kept current.
                return Send(shown.to(chat_id), follow=live)
            return Drop("its first send did not go out")
        return Edit(live, live.message_id, shown.to(chat_id))
    told = await NOTICE_VIEWS[item.kind](notice, env)
    if told is None:
        return Drop("what it tells of has moved on")
    return Send(told.to(chat_id))
