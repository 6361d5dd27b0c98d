"""/teams for coordinators: service teams (legal, medical, …) — create one with a name, kind
and leader; add and remove members; change the leader; rename; archive. The buttons ("tm:…")
work from any message, so /admin can link to `ListTeams`."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc
from bot.models import TEAM_KIND_LABELS, Role, Team, TeamKind, User
from bot.services.teams import clean_team_name
from handlers.buttons import Button, StaleButton, button
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Next, dialogue, step

Handlers = list[BaseHandler[Update, LinliContext, object]]

# --- buttons -------------------------------------------------------------------------------


@button("tm:list")
class ListTeams(Button):
    pass


@button("tm:show")
class ShowTeam(Button):
    team_id: int


@button("tm:new")
class NewTeam(Button):
    pass


@button("tm:kind")
class ChooseKind(Button):
    kind: TeamKind


@button("tm:pick")
class PickPerson(Button):
    user_id: int


@button("tm:add")
class AddMember(Button):
    team_id: int


@button("tm:lead")
class ChangeLeader(Button):
    team_id: int


@button("tm:ren")
class RenameTeam(Button):
    team_id: int


@button("tm:rmm")
class RemoveMenu(Button):
    team_id: int


@button("tm:rm")
class RemoveMember(Button):
    team_id: int
    user_id: int


@button("tm:act")
class SetActive(Button):
    team_id: int
    active: bool


# --- dialogue ------------------------------------------------------------------------------


class TeamDialogue(StrEnum):
    NAME = "name"
    KIND = "kind"
    SEARCH = "search"
    PICK = "pick"
    RENAME = "rename"


class Action(StrEnum):
    CREATE = "create"
    ADD = "add"
    LEAD = "lead"
    RENAME = "rename"


class TeamDraft(DialogueDraft):
    KEY: ClassVar[str] = "team_draft"
    action: Action | None = None
    name: str = ""
    kind: TeamKind | None = None
    team_id: int | None = None


coordinator_step = step(Role.COORDINATOR)


def kind_label(t: Translate, kind: TeamKind) -> str:
    return t(TEAM_KIND_LABELS[kind])


@coordinator_step
async def list_teams(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    teams = await context.services.teams.all(user, community_id=context.working_community)
    rows = [
        [
            (
                ("" if team.active else "🗄 ") + f"{team.name} · {kind_label(t, team.kind)}",
                ShowTeam(team_id=team.id).pack(),
            )
        ]
        for team in teams
    ]
    rows.append([(t("New team"), NewTeam().pack())])
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
            (t("Add a member"), AddMember(team_id=team.id).pack()),
            (t("Remove a member"), RemoveMenu(team_id=team.id).pack()),
        ],
        [
            (t("Change the leader"), ChangeLeader(team_id=team.id).pack()),
            (t("Rename"), RenameTeam(team_id=team.id).pack()),
        ],
        [
            (t("Archive"), SetActive(team_id=team.id, active=False).pack())
            if team.active
            else (t("Restore"), SetActive(team_id=team.id, active=True).pack())
        ],
        [(t("« Teams"), ListTeams().pack())],
    ]
    await answer(update, "\n".join(lines), rows, edit=update.callback_query is not None)


@coordinator_step
async def show_team(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    team = await context.services.teams.get(user, ShowTeam.of(update).team_id)
    await ack(update)
    await _card(update, context, t, team)
    return END


# --- creating --------------------------------------------------------------------------------


@coordinator_step
async def new_team(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await ack(update)
    TeamDraft(action=Action.CREATE).save(context)
    await answer(update, t("What is the new team called? For example: Legal aid team."))
    return TeamDialogue.NAME


@coordinator_step
async def typed_name(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    assert update.message is not None
    TeamDraft.change(context, name=clean_team_name(update.message.text or ""))
    rows = [[(kind_label(t, k), ChooseKind(kind=k).pack())] for k in TeamKind]
    await answer(update, t("What kind of team is it?"), rows)
    return TeamDialogue.KIND


@coordinator_step
async def chose_kind(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    kind = ChooseKind.of(update).kind
    await ack(update)
    TeamDraft.change(context, kind=kind)
    await answer(update, kind_label(t, kind), edit=True)
    return await _ask_search(update, t, leader=True)


async def _ask_search(update: Update, t: Translate, *, leader: bool) -> Next:
    await answer(
        update,
        t("Who leads the team? Type part of their name (they must be a member).")
        if leader
        else t("Who should join? Type part of their name (they must be a member)."),
    )
    return TeamDialogue.SEARCH


@coordinator_step
async def typed_search(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    people = await context.services.teams.find_members(user, update.message.text or "")
    if not people:
        await answer(update, t("No member matches that. Please try another part of the name."))
        return TeamDialogue.SEARCH
    rows = [[(f"{p.display_name} ({p.id})", PickPerson(user_id=p.id).pack())] for p in people]
    await answer(update, t("Please choose:"), rows)
    return TeamDialogue.PICK


@coordinator_step
async def picked(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    person = PickPerson.of(update).user_id
    draft = TeamDraft.load(context)
    teams = context.services.teams
    if draft.action is Action.CREATE and draft.kind is not None:
        team = await teams.create(
            user,
            name=draft.name,
            kind=draft.kind,
            leader_id=person,
            community_id=context.working_community,
        )
        done = t("Team {name} is created.").format(name=esc(team.name))
    elif draft.action is Action.ADD and draft.team_id is not None:
        team = await teams.add_member(user, draft.team_id, person)
        done = t("Added to {name}.").format(name=esc(team.name))
    elif draft.action is Action.LEAD and draft.team_id is not None:
        team = await teams.set_leader(user, draft.team_id, person)
        done = t("The leader of {name} is changed.").format(name=esc(team.name))
    else:  # the draft expired or was left
        raise StaleButton()
    await ack(update, done)
    await _card(update, context, t, team)
    return END


# --- changing ------------------------------------------------------------------------------


async def _start_change(
    update: Update, context: LinliContext, user: User, t: Translate, action: Action, team_id: int
) -> Next:
    team = await context.services.teams.get(user, team_id)
    await ack(update)
    TeamDraft(action=action, team_id=team.id).save(context)
    if action is Action.RENAME:
        await answer(update, t("The new name for {name}?").format(name=esc(team.name)))
        return TeamDialogue.RENAME
    return await _ask_search(update, t, leader=action is Action.LEAD)


@coordinator_step
async def add_member(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    team_id = AddMember.of(update).team_id
    return await _start_change(update, context, user, t, Action.ADD, team_id)


@coordinator_step
async def change_leader(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    team_id = ChangeLeader.of(update).team_id
    return await _start_change(update, context, user, t, Action.LEAD, team_id)


@coordinator_step
async def rename(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    team_id = RenameTeam.of(update).team_id
    return await _start_change(update, context, user, t, Action.RENAME, team_id)


@coordinator_step
async def typed_rename(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    team_id = TeamDraft.load(context).team_id
    if team_id is None:  # the draft expired
        raise StaleButton()
    team = await context.services.teams.rename(user, team_id, update.message.text or "")
    await _card(update, context, t, team)
    return END


@coordinator_step
async def remove_menu(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    team = await context.services.teams.get(user, RemoveMenu.of(update).team_id)
    await ack(update)
    members = [m for m in await context.services.teams.members(team) if m.id != team.leader_id]
    rows = [
        [(m.display_name, RemoveMember(team_id=team.id, user_id=m.id).pack())] for m in members
    ]
    rows.append([(t("« Back"), ShowTeam(team_id=team.id).pack())])
    text = t("Who should leave {name}?").format(name=esc(team.name))
    if not members:
        text = t("Only the leader is in this team.")
    await answer(update, text, rows, edit=True)
    return END


@coordinator_step
async def remove_member(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = RemoveMember.of(update)
    team = await context.services.teams.remove_member(user, pressed.team_id, pressed.user_id)
    await ack(update, t("Removed."))
    await _card(update, context, t, team)
    return END


@coordinator_step
async def set_active(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = SetActive.of(update)
    team = await context.services.teams.set_active(user, pressed.team_id, pressed.active)
    await ack(update)
    await _card(update, context, t, team)
    return END


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    conversation = dialogue(
        "teams",
        entry_points=[
            CallbackQueryHandler(new_team, pattern=NewTeam.pattern()),
            CallbackQueryHandler(add_member, pattern=AddMember.pattern()),
            CallbackQueryHandler(change_leader, pattern=ChangeLeader.pattern()),
            CallbackQueryHandler(rename, pattern=RenameTeam.pattern()),
        ],
        states={
            TeamDialogue.NAME: [MessageHandler(text, typed_name)],
            TeamDialogue.KIND: [CallbackQueryHandler(chose_kind, pattern=ChooseKind.pattern())],
            TeamDialogue.SEARCH: [MessageHandler(text, typed_search)],
            TeamDialogue.PICK: [
                CallbackQueryHandler(picked, pattern=PickPerson.pattern()),
                MessageHandler(text, typed_search),
            ],
            TeamDialogue.RENAME: [MessageHandler(text, typed_rename)],
        },
        drafts=[TeamDraft],
    )
    return [
        conversation,
        CommandHandler("teams", list_teams, filters=private),
        CallbackQueryHandler(list_teams, pattern=ListTeams.pattern()),
        CallbackQueryHandler(show_team, pattern=ShowTeam.pattern()),
        CallbackQueryHandler(remove_menu, pattern=RemoveMenu.pattern()),
        CallbackQueryHandler(remove_member, pattern=RemoveMember.pattern()),
        CallbackQueryHandler(set_active, pattern=SetActive.pattern()),
    ]
