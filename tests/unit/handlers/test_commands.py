"""The command contract: /help and the menus show each role what it may use."""

from __future__ import annotations

from bot.models import Role
from handlers.commands import COMMANDS, commands_for


def test_help_lists_wish_for_to_coordinators_who_are_not_members() -> None:
    coordinator = {c.name for c in commands_for(frozenset({Role.RESIDENT, Role.COORDINATOR}))}
    resident = {c.name for c in commands_for(frozenset({Role.RESIDENT}))}
    assert "wish_for" in coordinator and "admin" in coordinator
    assert "wish_for" not in resident and "admin" not in resident


def test_command_names_are_unique_and_valid_for_telegram() -> None:
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names))
    assert all(name.isascii() and name.islower() and 1 <= len(name) <= 32 for name in names)
