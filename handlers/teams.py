"""/teams for coordinators: service teams (legal, medical, …) — create one with a name, kind
and leader; add and remove members; change the leader; rename; archive. The buttons ("tm:…")
work from any message, so /admin can link to "tm:list"."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translate, esc
from bot.models import TEAM_KIND_LABELS, Role, Team, TeamKind, User
from bot.services.errors import InvalidInput, LinliError
from bot.services.teams import clean_team_name
from handlers.callbacks import data, pattern
from handlers.common import (
    END,
    ack,
    answer,
    as_user,
    leave_for_command,
    refuse,
    require_user,
    use_buttons,
)
from handlers.context import LinliContext
from handlers.help import cancel

Handlers = list[BaseHandler[Update, LinliContext, object]]
DRAFT = "team_draft"


class TeamDialogue(IntEnum):
    NAME = 1
    KIND = 2
    SEARCH = 3
    PICK = 4
    RENAME = 5


LIST = pattern("tm", "list")
SHOW = pattern("tm", "show", "(int)")
NEW = pattern("tm", "new")
KIND = pattern("tm", "kind", "(word)")
PICK = pattern("tm", "pick", "(int)")
ADD = pattern("tm", "add", "(int)")
LEADER = pattern("tm", "lead", "(int)")
RENAME = pattern("tm", "ren", "(int)")
REMOVE_MENU = pattern("tm", "rmm", "(int)")
REMOVE = pattern("tm", "rm", "(int)", "(int)")
ACTIVE = pattern("tm", "act", "(int)", "(int)")


def _draft(context: LinliContext) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault(DRAFT, {})
    return draft


def _int(context: LinliContext, group: int = 1) -> int:
    assert context.matches
    return int(context.matches[0].group(group))


def kind_label(t: Translate, kind: TeamKind) -> str:
    return t(TEAM_KIND_LABELS[kind])


@as_user(Role.COORDINATOR)
async def list_teams(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    await ack(update)
    teams = await context.services.teams.all(user)
    rows = [
        [
            (
                ("" if team.active else "🗄 ") + f"{team.name} · {kind_label(t, team.kind)}",
                data("tm", "show", team.id),
            )
        ]
        for team in teams
    ]
    rows.append([(t("New team"), data("tm", "new"))])
    text = t("<b>Service teams</b>")
    if not teams:
        text += "\n" + t("There are no teams yet.")
    await answer(update, text, rows, edit=update.callback_query is not None)
    return END


async def _card(update: Update, context: LinliContext, t: Translate, team: Team) -> None:
    members = await context.services.teams.members(team)
    names = {m.id: m.display_name for m in members}
    lines = [
        f"<b>{esc(team.name)}</b> · {kind_label(t, team.kind)}",
        t("Leader: {name}").format(name=esc(names.get(team.leader_id, str(team.leader_id)))),
        t("Members ({count}):").format(count=len(members)),
        *(f"• {esc(m.display_name)}" for m in members),
    ]
    if not team.active:
        lines.append(t("This team is archived and cannot take on wishes."))
    rows = [
        [
            (t("Add a member"), data("tm", "add", team.id)),
            (t("Remove a member"), data("tm", "rmm", team.id)),
        ],
        [
            (t("Change the leader"), data("tm", "lead", team.id)),
            (t("Rename"), data("tm", "ren", team.id)),
        ],
        [
            (t("Archive"), data("tm", "act", team.id, 0))
            if team.active
            else (t("Restore"), data("tm", "act", team.id, 1))
        ],
        [(t("« Teams"), data("tm", "list"))],
    ]
    await answer(update, "\n".join(lines), rows, edit=update.callback_query is not None)


@as_user(Role.COORDINATOR)
async def show_team(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    try:
        team = await context.services.teams.get(user, _int(context))
    except LinliError as error:
        await refuse(update, t, error)
        return END
    await ack(update)
    await _card(update, context, t, team)
    return END


# --- creating --------------------------------------------------------------------------------


@as_user(Role.COORDINATOR)
async def new_team(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    await ack(update)
    _draft(context).clear()
    _draft(context)["action"] = "create"
    await answer(update, t("What is the new team called? For example: Legal aid team."))
    return TeamDialogue.NAME


@as_user(Role.COORDINATOR)
async def typed_name(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    assert update.message is not None
    try:
        _draft(context)["name"] = clean_team_name(update.message.text or "")
    except LinliError as error:
        await refuse(update, t, error)
        return TeamDialogue.NAME
    rows = [[(kind_label(t, k), data("tm", "kind", k.value))] for k in TeamKind]
    await answer(update, t("What kind of team is it?"), rows)
    return TeamDialogue.KIND


@as_user(Role.COORDINATOR)
async def chose_kind(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    value = context.matches[0].group(1) if context.matches else ""
    if value not in {k.value for k in TeamKind}:
        await ack(update, t("Please choose with the buttons above."), alert=True)
        return TeamDialogue.KIND
    await ack(update)
    _draft(context)["kind"] = value
    await answer(update, kind_label(t, TeamKind(value)), edit=True)
    return await _ask_search(update, t, leader=True)


async def _ask_search(update: Update, t: Translate, *, leader: bool) -> int:
    await answer(
        update,
        t("Who leads the team? Type part of their name (they must be a member).")
        if leader
        else t("Who should join? Type part of their name (they must be a member)."),
    )
    return TeamDialogue.SEARCH


@as_user(Role.COORDINATOR)
async def typed_search(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert update.message is not None
    try:
        people = await context.services.teams.find_members(user, update.message.text or "")
    except LinliError as error:
        await refuse(update, t, error)
        return TeamDialogue.SEARCH
    if not people:
        await answer(update, t("No member matches that. Please try another part of the name."))
        return TeamDialogue.SEARCH
    rows = [[(f"{p.display_name} ({p.id})", data("tm", "pick", p.id))] for p in people]
    await answer(update, t("Please choose:"), rows)
    return TeamDialogue.PICK


@as_user(Role.COORDINATOR)
async def picked(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    draft = _draft(context)
    person = _int(context)
    teams = context.services.teams
    try:
        action = draft.get("action")
        if action == "create":
            team = await teams.create(
                user, name=draft.get("name", ""), kind=TeamKind(draft["kind"]), leader_id=person
            )
            done = t("Team {name} is created.").format(name=esc(team.name))
        elif action == "add":
            team = await teams.add_member(user, int(draft["team_id"]), person)
            done = t("Added to {name}.").format(name=esc(team.name))
        elif action == "lead":
            team = await teams.set_leader(user, int(draft["team_id"]), person)
            done = t("The leader of {name} is changed.").format(name=esc(team.name))
        else:
            raise InvalidInput()
    except LinliError as error:
        await refuse(update, t, error)
        return TeamDialogue.PICK if isinstance(error, InvalidInput) else END
    except (KeyError, ValueError):
        await ack(update, t("This button is no longer valid. Please start again."), alert=True)
        return END
    await ack(update, done)
    assert context.user_data is not None
    context.user_data.pop(DRAFT, None)
    await _card(update, context, t, team)
    return END


# --- changing ------------------------------------------------------------------------------


async def _start_change(update: Update, context: LinliContext, action: str) -> int:
    found = await require_user(update, context, Role.COORDINATOR)
    if found is None:
        return END
    user, t = found
    try:
        team = await context.services.teams.get(user, _int(context))
    except LinliError as error:
        await refuse(update, t, error)
        return END
    await ack(update)
    _draft(context).clear()
    _draft(context).update(action=action, team_id=team.id)
    if action == "rename":
        await answer(update, t("The new name for {name}?").format(name=esc(team.name)))
        return TeamDialogue.RENAME
    return await _ask_search(update, t, leader=action == "lead")


async def add_member(update: Update, context: LinliContext) -> int:
    return await _start_change(update, context, "add")


async def change_leader(update: Update, context: LinliContext) -> int:
    return await _start_change(update, context, "lead")


async def rename(update: Update, context: LinliContext) -> int:
    return await _start_change(update, context, "rename")


@as_user(Role.COORDINATOR)
async def typed_rename(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert update.message is not None
    try:
        team = await context.services.teams.rename(
            user, int(_draft(context).get("team_id", 0)), update.message.text or ""
        )
    except LinliError as error:
        await refuse(update, t, error)
        return TeamDialogue.RENAME if isinstance(error, InvalidInput) else END
    assert context.user_data is not None
    context.user_data.pop(DRAFT, None)
    await _card(update, context, t, team)
    return END


@as_user(Role.COORDINATOR)
async def remove_menu(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    try:
        team = await context.services.teams.get(user, _int(context))
    except LinliError as error:
        await refuse(update, t, error)
        return END
    await ack(update)
    members = [m for m in await context.services.teams.members(team) if m.id != team.leader_id]
    rows = [[(m.display_name, data("tm", "rm", team.id, m.id))] for m in members]
    rows.append([(t("« Back"), data("tm", "show", team.id))])
    text = t("Who should leave {name}?").format(name=esc(team.name))
    if not members:
        text = t("Only the leader is in this team.")
    await answer(update, text, rows, edit=True)
    return END


@as_user(Role.COORDINATOR)
async def remove_member(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    try:
        team = await context.services.teams.remove_member(user, _int(context, 1), _int(context, 2))
    except LinliError as error:
        await refuse(update, t, error)
        return END
    await ack(update, t("Removed."))
    await _card(update, context, t, team)
    return END


@as_user(Role.COORDINATOR)
async def set_active(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    try:
        team = await context.services.teams.set_active(
            user, _int(context, 1), bool(_int(context, 2))
        )
    except LinliError as error:
        await refuse(update, t, error)
        return END
    await ack(update)
    await _card(update, context, t, team)
    return END


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    conversation: ConversationHandler[LinliContext] = ConversationHandler(
        entry_points=[
            CallbackQueryHandler(new_team, pattern=NEW),
            CallbackQueryHandler(add_member, pattern=ADD),
            CallbackQueryHandler(change_leader, pattern=LEADER),
            CallbackQueryHandler(rename, pattern=RENAME),
        ],
        states={
            TeamDialogue.NAME: [MessageHandler(text, typed_name)],
            TeamDialogue.KIND: [CallbackQueryHandler(chose_kind, pattern=KIND)],
            TeamDialogue.SEARCH: [MessageHandler(text, typed_search)],
            TeamDialogue.PICK: [
                CallbackQueryHandler(picked, pattern=PICK),
                MessageHandler(text, typed_search),
            ],
            TeamDialogue.RENAME: [MessageHandler(text, typed_rename)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            MessageHandler(filters.COMMAND & private, leave_for_command),
            MessageHandler(private & ~filters.COMMAND, use_buttons),
        ],
        name="teams",
        persistent=True,
        allow_reentry=True,
    )
    return [
        conversation,
        CommandHandler("teams", list_teams, filters=private),
        CallbackQueryHandler(list_teams, pattern=LIST),
        CallbackQueryHandler(show_team, pattern=SHOW),
        CallbackQueryHandler(remove_menu, pattern=REMOVE_MENU),
        CallbackQueryHandler(remove_member, pattern=REMOVE),
        CallbackQueryHandler(set_active, pattern=ACTIVE),
    ]
