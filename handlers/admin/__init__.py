"""/admin for coordinators: applications, invites, buildings, coordinators, community, audit;
for those above several communities, the communities and streets below them.

A coordinator of a street or the district looks after one community at a time (its buildings,
invites, teams, name): "Communities" lists those below them and switches. What they see of
people (applications, coordinators, the audit log) covers their whole node."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc, format_local
from bot.models import NODE_LABELS, SKILL_LABELS, Building, Community, Node, NodeKind, Role, User
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from handlers.admin.audit import audit_line
from handlers.admin.buttons import (
    AddBuilding,
    AddCommunity,
    AddStreet,
    AdminMenu,
    AppointTo,
    ApproveApplication,
    ArchiveBuilding,
    AuditLog,
    BuildingDetail,
    Buildings,
    BuildingsPage,
    Communities,
    CommunityName,
    Coordinators,
    Demote,
    FindUser,
    InviteCodes,
    InviteDays,
    MakeInvite,
    NewInvite,
    Promote,
    RejectApplication,
    RenameBuilding,
    RestoreBuilding,
    ReviewApplications,
    RevokeInvite,
    SwitchCommunity,
)
from handlers.building_picker import BuildingPicker, on_page, page_of
from handlers.buttons import Button
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import AnyHandler, Callback, DialogueDraft, Next, dialogue, step
from handlers.digest.buttons import DigestMenu
from handlers.passbook.buttons import PointsMenu
from handlers.patrol.admin_buttons import PatrolMenu
from handlers.study.buttons import StudyMenu
from handlers.suggestions.views import menu_row as suggestions_row
from handlers.teams import ListTeams
from handlers.twinning.admin_buttons import TwinningMenu

# --- dialogue ------------------------------------------------------------------------------


class AdminDialogue(StrEnum):
    MENU = "menu"
    BUILDINGS = "buildings"  # the list of buildings is shown: a typed number finds one
    ADD_BUILDING = "add_building"
    RENAME_BUILDING = "rename_building"
    REJECT_REASON = "reject_reason"
    FIND_USER = "find_user"
    RENAME_COMMUNITY = "rename_community"
    ADD_COMMUNITY = "add_community"
    ADD_STREET = "add_street"


class AdminDraft(DialogueDraft):
    KEY: ClassVar[str] = "admin"
    application_id: int | None = None  # the application being rejected
    building_id: int | None = None  # the building being renamed
    street_id: int | None = None  # the street a community is being added to


INVITE_DAYS = (1, 7, 30)
INVITE_USES = (1, 10, 50)
coordinator_step = step(Role.COORDINATOR)


def _back(t: Translate) -> list[tuple[str, str]]:
    return [(t("« Back"), AdminMenu().pack())]


def _above_several(user: User) -> bool:
    """Appointed above one community: a street or the district (or a street of one)."""
    reach = user.reach
    return reach is not None and (
        len(reach.community_ids) > 1 or reach.node.kind in (NodeKind.STREET, NodeKind.DISTRICT)
    )


async def _looked_after(context: LinliContext, user: User) -> Community | None:
    """The community the coordinator looks after now; None when they must choose one first
    (or, appointed to a building, run no community's housekeeping)."""
    try:
        return await context.services.admin.community(user, context.working_community)
    except NotFound:  # the one they chose is no longer below them
        context.working_community = None
        return await _looked_after(context, user) if _above_several(user) else None
    except (InvalidInput, NotAllowed):
        return None


@coordinator_step
async def menu(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    pending = await context.services.membership.pending_count(user)
    community = await _looked_after(context, user)
    rows = [[(t("Applications ({count})").format(count=pending), ReviewApplications().pack())]]
    if community is not None:
        rows.append(
            [(t("Invite codes"), InviteCodes().pack()), (t("Buildings"), Buildings().pack())]
        )
    rows.append([(t("Coordinators"), Coordinators().pack()), (t("Audit log"), AuditLog().pack())])
    if community is not None:
        rows.append(
            [
                (t("Service teams"), ListTeams().pack()),
                (t("Community name"), CommunityName().pack()),
            ]
        )
        rows.append([(t("💝 Points"), PointsMenu().pack())])
    rows.append([(t("🤝 Twinning"), TwinningMenu().pack())])
    rows.append([(t("🚓 Patrol duty"), PatrolMenu().pack()), (t("📚 Study"), StudyMenu().pack())])
    rows.append(suggestions_row(t))
    if community is not None:
        rows.append([(t("📰 You said, we did"), DigestMenu().pack())])
    if _above_several(user):
        rows.append([(t("Communities"), Communities().pack())])
    title = t("<b>Administration</b> — {community}").format(
        community=esc(community.name) if community else "—"
    )
    if community is None and _above_several(user):
        title += "\n" + t(
            "Choose a community under Communities to manage its buildings and teams."
        )
    await answer(update, title, rows, edit=update.callback_query is not None)
    return AdminDialogue.MENU


# --- communities and streets (coordinators above several) ------------------------------------


@coordinator_step
async def communities(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    return await _communities(update, context, user, t)


async def _communities(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """The communities below the coordinator, to switch between; adding communities and
    streets where their node allows (the press is answered by the caller)."""
    admin = context.services.admin
    current = await _looked_after(context, user)
    lines = [t("<b>Communities</b>")]
    rows: list[list[tuple[str, str]]] = []
    for community in await admin.communities(user):
        mark = " ✓" if current is not None and community.id == current.id else ""
        label = f"{community.name}（{community.street_name}）{mark}"
        lines.append(f"• {esc(label)}")
        rows.append([(label, SwitchCommunity(community_id=community.id).pack())])
    assert user.reach is not None
    if user.reach.node.kind in (NodeKind.STREET, NodeKind.DISTRICT):
        for street in await admin.streets(user):
            rows.append(
                [
                    (
                        t("Add a community to {street}").format(street=street.name),
                        AddCommunity(street_id=street.id).pack(),
                    )
                ]
            )
    if user.reach.node.kind is NodeKind.DISTRICT:
        rows.append([(t("Add a street"), AddStreet().pack())])
    rows.append(_back(t))
    await answer(update, "\n".join(lines), rows, edit=update.callback_query is not None)
    return AdminDialogue.MENU


@coordinator_step
async def switch_community(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    community = await context.services.admin.community(
        user, SwitchCommunity.of(update).community_id
    )
    context.working_community = community.id
    await ack(update, t("Now managing {name}.").format(name=community.name))
    return await menu(update, context)


@coordinator_step
async def ask_new_community(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    street_id = AddCommunity.of(update).street_id
    if street_id not in {s.id for s in await context.services.admin.streets(user)}:
        raise NotFound()
    await ack(update)
    AdminDraft(street_id=street_id).save(context)
    await answer(update, t("Please type the name of the new community."))
    return AdminDialogue.ADD_COMMUNITY


@coordinator_step
async def typed_new_community(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    assert update.message is not None
    street_id = AdminDraft.load(context).street_id
    if street_id is None:
        return await menu(update, context)
    community = await context.services.admin.add_community(
        user, street_id, update.message.text or ""
    )
    AdminDraft.clear(context)
    await answer(update, t("Community {name} added.").format(name=esc(community.name)))
    return await _communities(update, context, user, t)


@coordinator_step
async def ask_new_street(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    if user.reach is None or user.reach.node.kind is not NodeKind.DISTRICT:
        raise NotAllowed()
    await ack(update)
    await answer(update, t("Please type the name of the new street."))
    return AdminDialogue.ADD_STREET


@coordinator_step
async def typed_new_street(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    assert update.message is not None
    street = await context.services.admin.add_street(user, update.message.text or "")
    await answer(update, t("Street {name} added.").format(name=esc(street.name)))
    return await _communities(update, context, user, t)


# --- applications --------------------------------------------------------------------------


@coordinator_step
async def applications(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    return await _applications(update, context, user, t)


async def _applications(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """Show the oldest waiting applications (the press is answered by the caller)."""
    pending, waiting = await context.services.membership.pending(user)
    if not pending:
        await answer(update, t("No applications are waiting."), [_back(t)], edit=True)
        return AdminDialogue.MENU
    zone = context.services.settings.zone
    applicants = {
        u.id: u for u in [await context.services.users.get(a.user_id) for a in pending] if u
    }
    lines = [t("<b>Applications waiting: {count}</b>").format(count=waiting)]
    if waiting > len(pending):
        lines.append(
            t("The oldest {shown} are shown; the others follow as these are decided.").format(
                shown=len(pending)
            )
        )
    rows: list[list[tuple[str, str]]] = []
    for application in pending:
        applicant = applicants.get(application.user_id)
        building = (
            await context.services.users.building(application.building_id)
            if application.building_id
            else None
        )
        skills = ", ".join(t(SKILL_LABELS[s]) for s in sorted(application.skills))
        lines.append(
            t("#{id} {name} — {building} — {skills} — {when}").format(
                id=application.id,
                name=esc(applicant.display_name if applicant else application.user_id),
                building=esc(building.name) if building else "—",
                skills=skills,
                when=format_local(application.created_at, user.language, zone),
            )
        )
        rows.append(
            [
                (
                    t("Approve #{id}").format(id=application.id),
                    ApproveApplication(application_id=application.id).pack(),
                ),
                (
                    t("Reject #{id}").format(id=application.id),
                    RejectApplication(application_id=application.id).pack(),
                ),
            ]
        )
    rows.append(_back(t))
    await answer(update, "\n".join(lines), rows, edit=update.callback_query is not None)
    return AdminDialogue.MENU


@coordinator_step
async def approve(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    application_id = ApproveApplication.of(update).application_id
    await context.services.membership.decide(user, application_id, approve=True)
    await ack(update, t("Approved. The applicant is now a member."))
    return await _applications(update, context, user, t)


@coordinator_step
async def reject(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    application_id = RejectApplication.of(update).application_id
    await context.services.membership.get_application(user, application_id)
    await ack(update)
    AdminDraft(application_id=application_id).save(context)
    await answer(update, t("Please type the reason; the applicant will read it."))
    return AdminDialogue.REJECT_REASON


@coordinator_step
async def typed_reject_reason(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    assert update.message is not None
    application_id = AdminDraft.load(context).application_id
    if application_id is None:
        return await menu(update, context)
    await context.services.membership.decide(
        user, application_id, approve=False, reason=update.message.text or ""
    )
    AdminDraft.clear(context)
    await answer(update, t("Rejected. The applicant has been told the reason."))
    return await _applications(update, context, user, t)


# --- invites -------------------------------------------------------------------------------


@coordinator_step
async def invites(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    return await _invites(update, context, user, t)


async def _invites(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """Show the active invite codes (the press is answered by the caller)."""
    zone = context.services.settings.zone
    active = await context.services.membership.active_invites(user)
    lines = [t("<b>Invite codes</b>")]
    rows: list[list[tuple[str, str]]] = []
    for invite in active:
        lines.append(
            t("<code>{code}</code> — used {uses}/{max} — until {until}").format(
                code=invite.code,
                uses=invite.uses,
                max=invite.max_uses,
                until=format_local(invite.expires_at, user.language, zone),
            )
        )
        rows.append(
            [
                (
                    t("Revoke {code}").format(code=invite.code),
                    RevokeInvite(invite_id=invite.id).pack(),
                )
            ]
        )
    if not active:
        lines.append(t("No active invite codes."))
    rows.append([(t("New invite code"), NewInvite().pack())])
    rows.append(_back(t))
    await answer(update, "\n".join(lines), rows, edit=update.callback_query is not None)
    return AdminDialogue.MENU


@coordinator_step
async def new_invite(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await ack(update)
    rows = [
        [
            (t("{days} days").format(days=days), InviteDays(days=days).pack())
            for days in INVITE_DAYS
        ],
        _back(t),
    ]
    await answer(update, t("How long should the code be valid?"), rows, edit=True)
    return AdminDialogue.MENU


@coordinator_step
async def invite_days(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    days = InviteDays.of(update).days
    await ack(update)
    rows = [
        [
            (t("{uses} uses").format(uses=uses), MakeInvite(days=days, uses=uses).pack())
            for uses in INVITE_USES
        ],
        _back(t),
    ]
    await answer(update, t("How many people may use it?"), rows, edit=True)
    return AdminDialogue.MENU


@coordinator_step
async def make_invite(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = MakeInvite.of(update)
    days, uses = pressed.days, pressed.uses
    invite = await context.services.membership.create_invite(
        user, days=days, max_uses=uses, community_id=context.working_community
    )
    await ack(update)
    await answer(
        update,
        t(
            "New invite code: <code>{code}</code>\nValid for {days} days, {uses} uses. "
            "Share it with: /join {code}"
        ).format(code=invite.code, days=days, uses=uses),
        [[(t("Invite codes"), InviteCodes().pack())], _back(t)],
        edit=True,
    )
    return AdminDialogue.MENU


@coordinator_step
async def revoke_invite(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await context.services.membership.revoke_invite(user, RevokeInvite.of(update).invite_id)
    await ack(update, t("Revoked."))
    return await _invites(update, context, user, t)


# --- buildings -----------------------------------------------------------------------------


@coordinator_step
async def buildings(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    return await _buildings(update, context, user, t, 0)


@coordinator_step
async def buildings_page(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    return await _buildings(update, context, user, t, BuildingsPage.of(update).page)


async def _buildings(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    page: int,
    *,
    showing: int | None = None,
) -> Next:
    """The page of the buildings list (the page showing building `showing`, when given)."""
    found = await context.services.admin.all_buildings(user, context.working_community)
    if showing is not None:
        page = page_of(found, showing)
    note, rows = _picker(t).page(t, found, page, after=_building_actions(t))
    _, shown = on_page(found, page)
    lines = [t("<b>Buildings</b>"), *(f"• {esc(b.name + _archived(t, b))}" for b in shown)]
    if note:
        lines.append(note)
    await answer(update, "\n".join(lines), rows, edit=update.callback_query is not None)
    return AdminDialogue.BUILDINGS


@coordinator_step
async def searched_building(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    assert update.message is not None
    found = await context.services.admin.all_buildings(user, context.working_community)
    text, rows = _picker(t).found(t, found, update.message.text or "", after=_building_actions(t))
    await answer(update, text, rows)
    return AdminDialogue.BUILDINGS


def _picker(t: Translate) -> BuildingPicker:
    return BuildingPicker(
        choose=lambda b: BuildingDetail(building_id=b.id).pack(),
        turn=lambda page: BuildingsPage(page=page).pack(),
        mark=lambda b: _archived(t, b),
    )


def _archived(t: Translate, building: Building) -> str:
    return t(" (archived)") if building.archived else ""


def _building_actions(t: Translate) -> list[list[tuple[str, str]]]:
    return [[(t("Add a building"), AddBuilding().pack())], _back(t)]


@coordinator_step
async def building_detail(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    building_id = BuildingDetail.of(update).building_id
    building = await context.services.admin.building(user, building_id)
    await ack(update)
    toggle = (
        (
            t("Restore {name}").format(name=building.name),
            RestoreBuilding(building_id=building.id).pack(),
        )
        if building.archived
        else (
            t("Archive {name}").format(name=building.name),
            ArchiveBuilding(building_id=building.id).pack(),
        )
    )
    title = esc(building.name) + (t(" (archived)") if building.archived else "")
    rows = [
        [
            (
                t("Rename {name}").format(name=building.name),
                RenameBuilding(building_id=building.id).pack(),
            )
        ],
        [toggle],
        [(t("Buildings"), Buildings().pack())],
    ]
    await answer(update, f"<b>{title}</b>", rows, edit=True)
    return AdminDialogue.MENU


@coordinator_step
async def ask_new_building(
    update: Update, context: LinliContext, _user: User, t: Translate
) -> Next:
    await ack(update)
    await answer(update, t("Please type the name of the new building, for example 5号楼."))
    return AdminDialogue.ADD_BUILDING


@coordinator_step
async def ask_building_rename(
    update: Update, context: LinliContext, _user: User, t: Translate
) -> Next:
    await ack(update)
    AdminDraft(building_id=RenameBuilding.of(update).building_id).save(context)
    await answer(update, t("Please type the new name of the building."))
    return AdminDialogue.RENAME_BUILDING


@coordinator_step
async def typed_new_building(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    assert update.message is not None
    building = await context.services.admin.add_building(
        user, update.message.text or "", context.working_community
    )
    await answer(update, t("Building {name} added.").format(name=esc(building.name)))
    return await _buildings(update, context, user, t, 0, showing=building.id)


@coordinator_step
async def typed_building_rename(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    assert update.message is not None
    building_id = AdminDraft.load(context).building_id
    if building_id is None:
        return await menu(update, context)
    building = await context.services.admin.rename_building(
        user, building_id, update.message.text or ""
    )
    AdminDraft.clear(context)
    await answer(update, t("Renamed to {name}.").format(name=esc(building.name)))
    return await _buildings(update, context, user, t, 0, showing=building.id)


@coordinator_step
async def archive_building(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    building_id = ArchiveBuilding.of(update).building_id
    await context.services.admin.set_building_archived(user, building_id, True)
    await ack(update)
    return await _buildings(update, context, user, t, 0, showing=building_id)


@coordinator_step
async def restore_building(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    building_id = RestoreBuilding.of(update).building_id
    await context.services.admin.set_building_archived(user, building_id, False)
    await ack(update)
    return await _buildings(update, context, user, t, 0, showing=building_id)


# --- coordinators --------------------------------------------------------------------------


@coordinator_step
async def coordinators(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    return await _coordinators(update, context, user, t)


async def _coordinators(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """Show the coordinators (the press is answered by the caller)."""
    lines = [t("<b>Coordinators</b>")]
    rows: list[list[tuple[str, str]]] = []
    for coordinator in await context.services.admin.coordinators(user):
        level = t(NODE_LABELS[coordinator.reach.node.kind]) if coordinator.reach else "—"
        lines.append(
            f"• {esc(coordinator.display_name)} (<code>{coordinator.id}</code>) — {esc(level)}"
        )
        if coordinator.id != user.id:
            rows.append(
                [
                    (
                        t("Remove {name}").format(name=coordinator.display_name),
                        Demote(user_id=coordinator.id).pack(),
                    )
                ]
            )
    rows.append([(t("Add a coordinator"), FindUser().pack())])
    rows.append(_back(t))
    await answer(update, "\n".join(lines), rows, edit=update.callback_query is not None)
    return AdminDialogue.MENU


@coordinator_step
async def ask_user(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("Type the person's name (or part of it) or their Telegram id."))
    return AdminDialogue.FIND_USER


@coordinator_step
async def typed_user_search(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    assert update.message is not None
    matches = await context.services.admin.find_users(user, update.message.text or "")
    candidates = [m for m in matches if not m.is_coordinator]
    if not candidates:
        await answer(update, t("Nobody found who is not a coordinator already. Try again."))
        return AdminDialogue.FIND_USER
    rows = [[(f"{m.display_name} ({m.id})", Promote(user_id=m.id).pack())] for m in candidates]
    rows.append(_back(t))
    await answer(update, t("Whom should I make a coordinator?"), rows)
    return AdminDialogue.MENU


@coordinator_step
async def promote(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    target_id = Promote.of(update).user_id
    nodes = await context.services.admin.nodes(user)
    if len(nodes) > 1:  # above several: for which of them?
        await ack(update)
        rows = [
            [
                (
                    f"{t(NODE_LABELS[node.kind])}: {name}",
                    AppointTo(user_id=target_id, kind=node.kind, node_id=node.id).pack(),
                )
            ]
            for node, name in nodes
        ]
        rows.append(_back(t))
        await answer(update, t("A coordinator of which place?"), rows, edit=True)
        return AdminDialogue.MENU
    target = await context.services.admin.set_coordinator(user, target_id, True)
    await ack(update, t("{name} is now a coordinator.").format(name=target.display_name))
    return await _coordinators(update, context, user, t)


@coordinator_step
async def appoint(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = AppointTo.of(update)
    node = Node(kind=pressed.kind, id=pressed.node_id)
    target = await context.services.admin.appoint(user, pressed.user_id, node)
    await ack(update, t("{name} is now a coordinator.").format(name=target.display_name))
    return await _coordinators(update, context, user, t)


@coordinator_step
async def demote(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    target_id = Demote.of(update).user_id
    target = await context.services.admin.set_coordinator(user, target_id, False)
    await ack(update, t("{name} is no longer a coordinator.").format(name=target.display_name))
    return await _coordinators(update, context, user, t)


# --- community name and audit log ----------------------------------------------------------


@coordinator_step
async def ask_community_name(
    update: Update, context: LinliContext, _user: User, t: Translate
) -> Next:
    await ack(update)
    await answer(update, t("Please type the community's new name."))
    return AdminDialogue.RENAME_COMMUNITY


@coordinator_step
async def typed_community_name(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    assert update.message is not None
    community = await context.services.admin.rename_community(
        user, update.message.text or "", context.working_community
    )
    await answer(update, t("The community is now called {name}.").format(name=esc(community.name)))
    return await menu(update, context)


@coordinator_step
async def audit_log(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    zone = context.services.settings.zone
    entries = await context.services.admin.audit_log(user)
    lines = [t("<b>Audit log</b> (latest first)")]
    lines += [audit_line(t, entry, user.language, zone) for entry in entries]
    if not entries:
        lines.append(t("Nothing recorded yet."))
    await answer(update, "\n".join(lines), [_back(t)], edit=True)
    return AdminDialogue.MENU


def _buttons() -> list[AnyHandler]:
    """Admin buttons work from any message (e.g. a notification), inside or outside /admin."""
    routes: list[tuple[Callback, type[Button]]] = [
        (menu, AdminMenu),
        (applications, ReviewApplications),
        (approve, ApproveApplication),
        (reject, RejectApplication),
        (invites, InviteCodes),
        (new_invite, NewInvite),
        (invite_days, InviteDays),
        (make_invite, MakeInvite),
        (revoke_invite, RevokeInvite),
        (buildings, Buildings),
        (buildings_page, BuildingsPage),
        (building_detail, BuildingDetail),
        (ask_new_building, AddBuilding),
        (ask_building_rename, RenameBuilding),
        (archive_building, ArchiveBuilding),
        (restore_building, RestoreBuilding),
        (coordinators, Coordinators),
        (ask_user, FindUser),
        (promote, Promote),
        (demote, Demote),
        (ask_community_name, CommunityName),
        (audit_log, AuditLog),
        (communities, Communities),
        (switch_community, SwitchCommunity),
        (ask_new_community, AddCommunity),
        (ask_new_street, AddStreet),
        (appoint, AppointTo),
    ]
    return [
        CallbackQueryHandler(callback, pattern=pressed.pattern()) for callback, pressed in routes
    ]


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    buttons = _buttons()
    conversation = dialogue(
        "admin",
        entry_points=[CommandHandler("admin", menu, filters=private), *buttons],
        states={
            AdminDialogue.MENU: buttons,
            AdminDialogue.BUILDINGS: [MessageHandler(text, searched_building), *buttons],
            AdminDialogue.ADD_BUILDING: [MessageHandler(text, typed_new_building), *buttons],
            AdminDialogue.RENAME_BUILDING: [MessageHandler(text, typed_building_rename), *buttons],
            AdminDialogue.REJECT_REASON: [MessageHandler(text, typed_reject_reason), *buttons],
            AdminDialogue.FIND_USER: [MessageHandler(text, typed_user_search), *buttons],
            AdminDialogue.RENAME_COMMUNITY: [MessageHandler(text, typed_community_name), *buttons],
            AdminDialogue.ADD_COMMUNITY: [MessageHandler(text, typed_new_community), *buttons],
            AdminDialogue.ADD_STREET: [MessageHandler(text, typed_new_street), *buttons],
        },
        drafts=[AdminDraft],
        reentry=[CommandHandler("admin", menu, filters=private)],
    )
    return [conversation]
