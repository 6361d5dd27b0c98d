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
    also: Role | None = None  # a second role that may use it


COMMANDS: tuple[Command, ...] = (
    Command("start", Role.RESIDENT, N_("Register or see what you can do")),
    Command("help", Role.RESIDENT, N_("The commands you can use")),
    Command("profile", Role.RESIDENT, N_("Your name, building, language and notifications")),
    Command("join", Role.RESIDENT, N_("Become a member with an invite code")),
    Command("cancel", Role.RESIDENT, N_("Leave the current dialogue")),
    Command("wish", Role.RESIDENT, N_("Post a wish: something you would like help with")),
    Command("urgent", Role.RESIDENT, N_("Ask for urgent help now")),
    Command("mywishes", Role.RESIDENT, N_("Your wishes: follow, cancel, confirm, thank")),
    Command("wishes", Role.MEMBER, N_("Open wishes you could help with")),
    Command("claim", Role.MEMBER, N_("Take on a wish by its number: /claim 12")),
    Command("mytasks", Role.MEMBER, N_("Wishes you are helping with: report done, give back")),
    Command(
        "wish_for",
        Role.MEMBER,
        N_("Post a wish for a resident without a phone"),
        also=Role.COORDINATOR,
    ),
    Command("admin", Role.COORDINATOR, N_("Members, invites, buildings, teams, coordinators")),
    Command("broadcast", Role.COORDINATOR, N_("Send an announcement; delivery reports")),
    Command("teams", Role.COORDINATOR, N_("Service teams: create, leader, members")),
)


def commands_for(roles: frozenset[Role]) -> list[Command]:
    return [c for c in COMMANDS if c.role in roles or c.also in roles]
