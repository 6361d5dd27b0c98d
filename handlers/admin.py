"""/admin for coordinators: applications, invites, buildings, coordinators, community, audit."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
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

from bot.i18n import Translate, esc, format_local
from bot.models import SKILL_LABELS, Role, User
from bot.services.errors import LinliError
from handlers.callbacks import data, pattern
from handlers.common import (
    ack,
    answer,
    as_user,
    leave_for_command,
    refuse,
    use_buttons,
)
from handlers.context import LinliContext
from handlers.help import cancel


class AdminDialogue(IntEnum):
    MENU = 1
    ADD_BUILDING = 2
    RENAME_BUILDING = 3
    REJECT_REASON = 4
    FIND_USER = 5
    RENAME_COMMUNITY = 6


INVITE_DAYS = (1, 7, 30)
INVITE_USES = (1, 10, 50)
BACK = ("adm", "menu")


def _back(t: Translate) -> list[tuple[str, str]]:
    return [(t("« Back"), data(*BACK))]


@as_user(Role.COORDINATOR)
async def menu(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    await ack(update)
    pending = len(await context.services.membership.pending(user))
    community = await context.services.admin.community()
    rows = [
        [(t("Applications ({count})").format(count=pending), data("adm", "apps"))],
        [(t("Invite codes"), data("adm", "inv")), (t("Buildings"), data("adm", "bld"))],
        [(t("Coordinators"), data("adm", "coord")), (t("Community name"), data("adm", "comm"))],
        [(t("Service teams"), data("tm", "list")), (t("Audit log"), data("adm", "audit"))],
    ]
    await answer(
        update,
        t("<b>Administration</b> — {community}").format(community=esc(community.name)),
        rows,
        edit=update.callback_query is not None,
    )
    return AdminDialogue.MENU


# --- applications --------------------------------------------------------------------------


@as_user(Role.COORDINATOR)
async def applications(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    await ack(update)
    pending = await context.services.membership.pending(user)
    if not pending:
        await answer(update, t("No applications are waiting."), [_back(t)], edit=True)
        return AdminDialogue.MENU
    zone = context.services.settings.zone
    applicants = {
        u.id: u for u in [await context.services.users.get(a.user_id) for a in pending] if u
    }
    lines = [t("<b>Applications waiting</b>")]
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
                (t("Approve #{id}").format(id=application.id), data("adm", "ok", application.id)),
                (t("Reject #{id}").format(id=application.id), data("adm", "no", application.id)),
            ]
        )
    rows.append(_back(t))
    await answer(update, "\n".join(lines), rows, edit=update.callback_query is not None)
    return AdminDialogue.MENU


@as_user(Role.COORDINATOR)
async def approve(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert context.matches
    application_id = int(context.matches[0].group(1))
    try:
        await context.services.membership.decide(user, application_id, approve=True)
    except LinliError as error:
        await refuse(update, t, error)
        return AdminDialogue.MENU
    await ack(update, t("Approved. The applicant is now a member."))
    return await applications(update, context)


@as_user(Role.COORDINATOR)
async def reject(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert context.matches and context.user_data is not None
    application_id = int(context.matches[0].group(1))
    try:
        await context.services.membership.get_application(user, application_id)
    except LinliError as error:
        await refuse(update, t, error)
        return AdminDialogue.MENU
    await ack(update)
    context.user_data["admin_reject"] = application_id
    await answer(update, t("Please type the reason; the applicant will read it."))
    return AdminDialogue.REJECT_REASON


@as_user(Role.COORDINATOR)
async def typed_reject_reason(
    update: Update, context: LinliContext, user: User, t: Translate
) -> int:
    assert update.message is not None and context.user_data is not None
    application_id = context.user_data.get("admin_reject")
    if application_id is None:
        return await menu(update, context)
    try:
        await context.services.membership.decide(
            user, application_id, approve=False, reason=update.message.text or ""
        )
    except LinliError as error:
        await refuse(update, t, error)
        return AdminDialogue.REJECT_REASON
    context.user_data.pop("admin_reject", None)
    await answer(update, t("Rejected. The applicant has been told the reason."))
    return await applications(update, context)


# --- invites -------------------------------------------------------------------------------


@as_user(Role.COORDINATOR)
async def invites(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    await ack(update)
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
        rows.append([(t("Revoke {code}").format(code=invite.code), data("adm", "rev", invite.id))])
    if not active:
        lines.append(t("No active invite codes."))
    rows.append([(t("New invite code"), data("adm", "newinv"))])
    rows.append(_back(t))
    await answer(update, "\n".join(lines), rows, edit=update.callback_query is not None)
    return AdminDialogue.MENU


@as_user(Role.COORDINATOR)
async def new_invite(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    await ack(update)
    rows = [
        [(t("{days} days").format(days=days), data("adm", "days", days)) for days in INVITE_DAYS],
        _back(t),
    ]
    await answer(update, t("How long should the code be valid?"), rows, edit=True)
    return AdminDialogue.MENU


@as_user(Role.COORDINATOR)
async def invite_days(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    assert context.matches
    days = int(context.matches[0].group(1))
    await ack(update)
    rows = [
        [
            (t("{uses} uses").format(uses=uses), data("adm", "mkinv", days, uses))
            for uses in INVITE_USES
        ],
        _back(t),
    ]
    await answer(update, t("How many people may use it?"), rows, edit=True)
    return AdminDialogue.MENU


@as_user(Role.COORDINATOR)
async def make_invite(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert context.matches
    days, uses = int(context.matches[0].group(1)), int(context.matches[0].group(2))
    try:
        invite = await context.services.membership.create_invite(user, days=days, max_uses=uses)
    except LinliError as error:
        await refuse(update, t, error)
        return AdminDialogue.MENU
    await ack(update)
    await answer(
        update,
        t(
            "New invite code: <code>{code}</code>\nValid for {days} days, {uses} uses. "
            "Share it with: /join {code}"
        ).format(code=invite.code, days=days, uses=uses),
        [[(t("Invite codes"), data("adm", "inv"))], _back(t)],
        edit=True,
    )
    return AdminDialogue.MENU


@as_user(Role.COORDINATOR)
async def revoke_invite(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert context.matches
    try:
        await context.services.membership.revoke_invite(user, int(context.matches[0].group(1)))
    except LinliError as error:
        await refuse(update, t, error)
        return AdminDialogue.MENU
    await ack(update, t("Revoked."))
    return await invites(update, context)


# --- buildings -----------------------------------------------------------------------------


@as_user(Role.COORDINATOR)
async def buildings(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    await ack(update)
    lines = [t("<b>Buildings</b>")]
    rows: list[list[tuple[str, str]]] = []
    # One button per building (a community may have dozens; Telegram allows about 100).
    for building in await context.services.admin.all_buildings(user):
        label = building.name + (t(" (archived)") if building.archived else "")
        lines.append(f"• {esc(label)}")
        rows.append([(label, data("adm", "b", building.id))])
    rows.append([(t("Add a building"), data("adm", "addbld"))])
    rows.append(_back(t))
    await answer(update, "\n".join(lines), rows, edit=update.callback_query is not None)
    return AdminDialogue.MENU


@as_user(Role.COORDINATOR)
async def building_detail(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert context.matches
    try:
        building = await context.services.admin.building(user, int(context.matches[0].group(1)))
    except LinliError as error:
        await refuse(update, t, error)
        return AdminDialogue.MENU
    await ack(update)
    toggle = (
        (t("Restore {name}").format(name=building.name), data("adm", "unarch", building.id))
        if building.archived
        else (t("Archive {name}").format(name=building.name), data("adm", "arch", building.id))
    )
    title = esc(building.name) + (t(" (archived)") if building.archived else "")
    rows = [
        [(t("Rename {name}").format(name=building.name), data("adm", "ren", building.id))],
        [toggle],
        [(t("Buildings"), data("adm", "bld"))],
    ]
    await answer(update, f"<b>{title}</b>", rows, edit=True)
    return AdminDialogue.MENU


@as_user(Role.COORDINATOR)
async def ask_building_name(
    update: Update, context: LinliContext, _user: User, t: Translate
) -> int:
    assert context.user_data is not None
    await ack(update)
    if context.matches and context.matches[0].groups():
        context.user_data["admin_building"] = int(context.matches[0].group(1))
        await answer(update, t("Please type the new name of the building."))
        return AdminDialogue.RENAME_BUILDING
    await answer(update, t("Please type the name of the new building, for example 5号楼."))
    return AdminDialogue.ADD_BUILDING


@as_user(Role.COORDINATOR)
async def typed_new_building(
    update: Update, context: LinliContext, user: User, t: Translate
) -> int:
    assert update.message is not None
    try:
        building = await context.services.admin.add_building(user, update.message.text or "")
    except LinliError as error:
        await refuse(update, t, error)
        return AdminDialogue.ADD_BUILDING
    await answer(update, t("Building {name} added.").format(name=esc(building.name)))
    return await buildings(update, context)


@as_user(Role.COORDINATOR)
async def typed_building_rename(
    update: Update, context: LinliContext, user: User, t: Translate
) -> int:
    assert update.message is not None and context.user_data is not None
    building_id = context.user_data.get("admin_building")
    if building_id is None:
        return await menu(update, context)
    try:
        building = await context.services.admin.rename_building(
            user, building_id, update.message.text or ""
        )
    except LinliError as error:
        await refuse(update, t, error)
        return AdminDialogue.RENAME_BUILDING
    context.user_data.pop("admin_building", None)
    await answer(update, t("Renamed to {name}.").format(name=esc(building.name)))
    return await buildings(update, context)


@as_user(Role.COORDINATOR)
async def archive_building(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert context.matches
    archived = context.matches[0].group(1) == "arch"
    try:
        await context.services.admin.set_building_archived(
            user, int(context.matches[0].group(2)), archived
        )
    except LinliError as error:
        await refuse(update, t, error)
        return AdminDialogue.MENU
    return await buildings(update, context)


# --- coordinators --------------------------------------------------------------------------


@as_user(Role.COORDINATOR)
async def coordinators(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    await ack(update)
    lines = [t("<b>Coordinators</b>")]
    rows: list[list[tuple[str, str]]] = []
    for coordinator in await context.services.admin.coordinators(user):
        lines.append(f"• {esc(coordinator.display_name)} (<code>{coordinator.id}</code>)")
        if coordinator.id != user.id:
            rows.append(
                [
                    (
                        t("Remove {name}").format(name=coordinator.display_name),
                        data("adm", "demote", coordinator.id),
                    )
                ]
            )
    rows.append([(t("Add a coordinator"), data("adm", "findu"))])
    rows.append(_back(t))
    await answer(update, "\n".join(lines), rows, edit=update.callback_query is not None)
    return AdminDialogue.MENU


@as_user(Role.COORDINATOR)
async def ask_user(update: Update, context: LinliContext, _user: User, t: Translate) -> int:
    await ack(update)
    await answer(update, t("Type the person's name (or part of it) or their Telegram id."))
    return AdminDialogue.FIND_USER


@as_user(Role.COORDINATOR)
async def typed_user_search(
    update: Update, context: LinliContext, user: User, t: Translate
) -> int:
    assert update.message is not None
    try:
        matches = await context.services.admin.find_users(user, update.message.text or "")
    except LinliError as error:
        await refuse(update, t, error)
        return AdminDialogue.FIND_USER
    candidates = [m for m in matches if not m.is_coordinator]
    if not candidates:
        await answer(update, t("Nobody found who is not a coordinator already. Try again."))
        return AdminDialogue.FIND_USER
    rows = [[(f"{m.display_name} ({m.id})", data("adm", "promote", m.id))] for m in candidates]
    rows.append(_back(t))
    await answer(update, t("Whom should I make a coordinator?"), rows)
    return AdminDialogue.MENU


@as_user(Role.COORDINATOR)
async def set_coordinator(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    assert context.matches
    promote = context.matches[0].group(1) == "promote"
    try:
        target = await context.services.admin.set_coordinator(
            user, int(context.matches[0].group(2)), promote
        )
    except LinliError as error:
        await refuse(update, t, error)
        return AdminDialogue.MENU
    await ack(
        update,
        (
            t("{name} is now a coordinator.")
            if promote
            else t("{name} is no longer a coordinator.")
        ).format(name=target.display_name),
    )
    return await coordinators(update, context)


# --- community name and audit log ----------------------------------------------------------


@as_user(Role.COORDINATOR)
async def ask_community_name(
    update: Update, context: LinliContext, _user: User, t: Translate
) -> int:
    await ack(update)
    await answer(update, t("Please type the community's new name."))
    return AdminDialogue.RENAME_COMMUNITY


@as_user(Role.COORDINATOR)
async def typed_community_name(
    update: Update, context: LinliContext, user: User, t: Translate
) -> int:
    assert update.message is not None
    try:
        community = await context.services.admin.rename_community(user, update.message.text or "")
    except LinliError as error:
        await refuse(update, t, error)
        return AdminDialogue.RENAME_COMMUNITY
    await answer(update, t("The community is now called {name}.").format(name=esc(community.name)))
    return await menu(update, context)


@as_user(Role.COORDINATOR)
async def audit_log(update: Update, context: LinliContext, user: User, t: Translate) -> int:
    await ack(update)
    zone = context.services.settings.zone
    entries = await context.services.admin.audit_log(user)
    lines = [t("<b>Audit log</b> (latest first)")]
    for entry in entries:
        lines.append(
            f"{format_local(entry.at, user.language, zone)} · <code>{entry.actor_id}</code> · "
            f"{esc(entry.action)} · {esc(entry.subject)}"
        )
    if not entries:
        lines.append(t("Nothing recorded yet."))
    await answer(update, "\n".join(lines), [_back(t)], edit=True)
    return AdminDialogue.MENU


def _buttons() -> list[BaseHandler[Update, LinliContext, object]]:
    """Admin buttons work from any message (e.g. a notification), inside or outside /admin."""
    routes: list[
        tuple[Callable[[Update, LinliContext], Coroutine[Any, Any, int]], str | re.Pattern[str]]
    ] = [
        (menu, pattern("adm", "menu")),
        (applications, pattern("adm", "apps")),
        (approve, pattern("adm", "ok", "(int)")),
        (reject, pattern("adm", "no", "(int)")),
        (invites, pattern("adm", "inv")),
        (new_invite, pattern("adm", "newinv")),
        (invite_days, pattern("adm", "days", "(int)")),
        (make_invite, pattern("adm", "mkinv", "(int)", "(int)")),
        (revoke_invite, pattern("adm", "rev", "(int)")),
        (buildings, pattern("adm", "bld")),
        (building_detail, pattern("adm", "b", "(int)")),
        (ask_building_name, pattern("adm", "addbld")),
        (ask_building_name, pattern("adm", "ren", "(int)")),
        (archive_building, r"^adm:(arch|unarch):(\d{1,15})$"),
        (coordinators, pattern("adm", "coord")),
        (ask_user, pattern("adm", "findu")),
        (set_coordinator, r"^adm:(promote|demote):(\d{1,15})$"),
        (ask_community_name, pattern("adm", "comm")),
        (audit_log, pattern("adm", "audit")),
    ]
    return [CallbackQueryHandler(callback, pattern=regex) for callback, regex in routes]


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    buttons = _buttons()
    conversation: ConversationHandler[LinliContext] = ConversationHandler(
        entry_points=[CommandHandler("admin", menu, filters=private), *buttons],
        states={
            AdminDialogue.MENU: buttons,
            AdminDialogue.ADD_BUILDING: [MessageHandler(text, typed_new_building), *buttons],
            AdminDialogue.RENAME_BUILDING: [MessageHandler(text, typed_building_rename), *buttons],
            AdminDialogue.REJECT_REASON: [MessageHandler(text, typed_reject_reason), *buttons],
            AdminDialogue.FIND_USER: [MessageHandler(text, typed_user_search), *buttons],
            AdminDialogue.RENAME_COMMUNITY: [MessageHandler(text, typed_community_name), *buttons],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            CommandHandler("admin", menu, filters=private),
            MessageHandler(filters.COMMAND & private, leave_for_command),
            MessageHandler(private & ~filters.COMMAND, use_buttons),
        ],
        name="admin",
        persistent=True,
        allow_reentry=True,
    )
    return [conversation]
