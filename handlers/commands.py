"""The command contract in one place: what each command is, who may use it. Drives /help and
the bot's command menu (setMyCommands) in every language."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import N_, Role


@dataclass(frozen=True)
class Command:
    name: str
    role: Role
    description: str  # English message id


COMMANDS: tuple[Command, ...] = (
    Command("start", Role.RESIDENT, N_("Register or see what you can do")),
    Command("help", Role.RESIDENT, N_("The commands you can use")),
    Command("profile", Role.RESIDENT, N_("Your name, building, language and notifications")),
    Command("join", Role.RESIDENT, N_("Become a member with an invite code")),
    Command("cancel", Role.RESIDENT, N_("Leave the current dialogue")),
    Command("admin", Role.COORDINATOR, N_("Members, invites, buildings, coordinators")),
)


def commands_for(roles: frozenset[Role]) -> list[Command]:
    return [c for c in COMMANDS if c.role in roles]
