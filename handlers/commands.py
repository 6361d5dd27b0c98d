"""The command contract in one place: what each command is, who may use it, and the big button
that stands for it. Drives /help, the home keyboard (handlers/home.py) and the bot's command
menus (setMyCommands) in every language.

The order is the order people see: what a resident comes for first (a wish, urgent help, their
wishes), housekeeping (profile, help, cancel, start) last.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import N_, Role


@dataclass(frozen=True)
class Command:
    name: str
    role: Role
    description: str  # English message id (the command menu, /help)
    also: Role | None = None  # a second role that may use it
    label: str | None = None  # the button's English message id; None: no button
    home: bool = False  # on the home keyboard (else only on the /help card)
    home_for: Role | None = None  # on the home keyboard of this role only (None: of `role`)


COMMANDS: tuple[Command, ...] = (
    Command(
        "wish",
        Role.RESIDENT,
        N_("Post a micro-wish: something you would like help with"),
        label=N_("🙋 Post a wish"),
        home=True,
    ),
    Command(
        "urgent",
        Role.RESIDENT,
        N_("Ask for urgent help now"),
        label=N_("🆘 Urgent help"),
        home=True,
    ),
    Command(
        "mywishes",
        Role.RESIDENT,
        N_("Your wishes: follow, cancel, confirm, thank"),
        label=N_("📋 My wishes"),
        home=True,
    ),
    Command(
        "news",
        Role.RESIDENT,
        N_("Announcements from the community"),
        label=N_("📰 News"),
        home=True,
    ),
    Command(
        "study",
        Role.RESIDENT,
        N_("Study sessions open to you: attend or excused, material, check in"),
        label=N_("📚 Study"),
        home=True,
        home_for=Role.MEMBER,
    ),
    Command(
        "suggest",
        Role.RESIDENT,
        N_("Leave a view or suggestion for the community; your suggestions and replies"),
        label=N_("💬 Suggestions"),
        home=True,
    ),
    Command(
        "attend", Role.RESIDENT, N_("Check in to a study session with its code: /attend 1234")
    ),
    Command(
        "wishes",
        Role.MEMBER,
        N_("Open wishes you could help with"),
        label=N_("🤝 Open wishes"),
        home=True,
    ),
    Command(
        "mytasks",
        Role.MEMBER,
        N_("Wishes you are helping with: report done, give back"),
        label=N_("🧰 My tasks"),
        home=True,
    ),
    Command("claim", Role.MEMBER, N_("Take on a wish by its number: /claim 12")),
    Command(
        "wish_for",
        Role.MEMBER,
        N_("Post a wish for a resident without a phone"),
        also=Role.COORDINATOR,
        label=N_("📝 Wish for a neighbour"),
        home=True,
    ),
    Command(
        "passbook",
        Role.MEMBER,
        N_("Your love-savings passbook: points and what they were for"),
        label=N_("💝 Love-savings passbook"),
        home=True,
    ),
    Command(
        "twins",
        Role.MEMBER,
        N_("Your twinned households: who to visit, log a visit"),
        label=N_("🤝 Twinning"),
        home=True,
    ),
    Command(
        "patrol",
        Role.MEMBER,
        N_("Patrol duty: take a shift, your shifts, check in and out"),
        label=N_("🚓 Patrol duty"),
        home=True,
    ),
    Command(
        "finding",
        Role.MEMBER,
        N_("On patrol: report what you saw to the coordinators"),
    ),
    Command(
        "ranking",
        Role.MEMBER,
        N_("This quarter's ranking of the love-savings passbook"),
        label=N_("🏅 Ranking"),
    ),
    Command(
        "stuck",
        Role.COORDINATOR,
        N_("Stuck wishes: open too long, overdue, unconfirmed"),
        label=N_("⏳ Stuck wishes"),
        home=True,
    ),
    Command(
        "broadcast",
        Role.COORDINATOR,
        N_("Send an announcement; delivery reports"),
        label=N_("📢 Announce"),
        home=True,
    ),
    Command(
        "admin",
        Role.COORDINATOR,
        N_("Members, invites, buildings, teams, coordinators"),
        label=N_("🗂 Admin"),
        home=True,
    ),
    Command(
        "findings",
        Role.COORDINATOR,
        N_("Patrol findings not yet handled: handle, or turn into a wish"),
    ),
    Command(
        "suggestions",
        Role.COORDINATOR,
        N_("Community think-tank: read, answer and mark the suggestions"),
    ),
    Command(
        "teams",
        Role.COORDINATOR,
        N_("Service teams: create, leader, members"),
        label=N_("👥 Service teams"),
    ),
    Command(
        "quarter",
        Role.COORDINATOR,
        N_("Close a quarter: thank the top members, the love-savings sheet"),
        label=N_("🎖 Close a quarter"),
    ),
    Command(
        "stats",
        Role.COORDINATOR,
        N_("Statistics of a month, quarter or year, with charts: /stats 2026-11"),
        label=N_("📊 Statistics"),
        home=True,
    ),
    Command(
        "export",
        Role.COORDINATOR,
        N_("The statistics as a file (Excel or CSV): /export 2026Q4"),
    ),
    Command(
        "profile",
        Role.RESIDENT,
        N_("Your name, building, language and notifications"),
        label=N_("👤 My profile"),
        home=True,
    ),
    Command(
        "join",
        Role.RESIDENT,
        N_("Party members: report to the community with an invite code"),
        label=N_("🚩 Party member check-in"),
    ),
    Command("help", Role.RESIDENT, N_("What you can do here"), label=N_("❓ Help"), home=True),
    Command("cancel", Role.RESIDENT, N_("Leave the current dialogue")),
    Command("start", Role.RESIDENT, N_("Register or see what you can do")),
)

BY_NAME = {command.name: command for command in COMMANDS}


def commands_for(roles: frozenset[Role]) -> list[Command]:
    return [c for c in COMMANDS if c.role in roles or c.also in roles]
