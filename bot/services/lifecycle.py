"""Lifecycles as data: each stateful thing (a wish; later shifts, sessions, visits,
suggestions) has one table of transitions — from, event, to, who may — that its service looks
every change up in, and that a test walks completely.

A move is checked in a fixed order: first whether the actor could make this kind of move at
all (else the event's "not yours" refusal), then whether the thing's state allows it now
(else a refusal that says what the state is). The service then makes the move with a guarded
UPDATE (`WHERE status = <from>`), so a race between the check and the write changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from bot.services.errors import LinliError

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


class Party(StrEnum):
    """How the actor stands to the thing; a person can be several at once."""

    OWNER = "owner"  # the person it is for (or who posted it for someone without a phone)
    POSTER = "poster"  # who posted it, exactly
    MEMBER = "member"  # a member who is not the poster (may take things on)
    HANDLER = "handler"  # took it on (or leads the team that did)
    ASSIGNEE = "assignee"  # put on it by a team leader
    LEADER = "leader"  # leads the team that took it on
    COORDINATOR = "coordinator"
    SYSTEM = "system"  # the scheduler: expiry, escalation


@dataclass(frozen=True)
class Transition(Generic[S, E]):
    source: S
    event: E
    target: S
    who: frozenset[Party]


class Lifecycle(Generic[S, E]):
    """One table of transitions with the lookups a service needs."""

    def __init__(self, name: str, transitions: Iterable[Transition[S, E]]) -> None:
        self.name = name
        self.transitions = tuple(transitions)
        self._by_move: dict[tuple[S, E], Transition[S, E]] = {}
        self._who: dict[E, frozenset[Party]] = {}
        for t in self.transitions:
            if (t.source, t.event) in self._by_move:
                raise ValueError(f"{name}: {t.event} from {t.source} is defined twice")
            self._by_move[(t.source, t.event)] = t
            self._who[t.event] = self._who.get(t.event, frozenset()) | t.who

    def find(self, status: S, event: E) -> Transition[S, E] | None:
        return self._by_move.get((status, event))

    def who_may(self, event: E) -> frozenset[Party]:
        """Everyone who may make this move from some state."""
        return self._who.get(event, frozenset())

    def move(
        self,
        status: S,
        event: E,
        parties: frozenset[Party],
        *,
        not_yours: Callable[[], LinliError],
        wrong_state: Callable[[], LinliError],
    ) -> Transition[S, E]:
        """The transition for `event` from `status` by someone who is `parties`; refused with
        `not_yours()` when no such person may make it, `wrong_state()` when not from here."""
        if not parties & self.who_may(event):
            raise not_yours()
        found = self.find(status, event)
        if found is None:
            raise wrong_state()
        if not parties & found.who:
            raise not_yours()
        return found
