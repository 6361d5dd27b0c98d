"""How an audit entry reads in /admin: when, who (by name), what was done (in words) and what
it was about (by name or by kind and number). Action codes and Telegram ids stay in the table."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import Translate, esc, format_local
from bot.models import N_, AuditEntry

ACTION_LABELS: dict[str, str] = {
    "street.add": N_("Street added"),
    "community.add": N_("Community added"),
    "community.rename": N_("Community renamed"),
    "building.add": N_("Building added"),
    "building.rename": N_("Building renamed"),
    "building.archive": N_("Building archived"),
    "building.restore": N_("Building restored"),
    "coordinator.promote": N_("Coordinator appointed"),
    "coordinator.demote": N_("Coordinator removed"),
    "invite.create": N_("Invite code made"),
    "invite.revoke": N_("Invite code revoked"),
    "application.approved": N_("Member application approved"),
    "application.rejected": N_("Member application rejected"),
    "team.create": N_("Team created"),
    "team.rename": N_("Team renamed"),
    "team.leader": N_("Team leader changed"),
    "team.add_member": N_("Team member added"),
    "team.remove_member": N_("Team member removed"),
    "team.archive": N_("Team archived"),
    "team.restore": N_("Team restored"),
    "broadcast.send": N_("Announcement sent"),
    "digest.send": N_("“You said, we did” sent"),
    "broadcast.schedule": N_("Announcement scheduled"),
    "broadcast.stop": N_("Announcement stopped"),
    "broadcast.cancel": N_("Announcement cancelled"),
    "wish.posted": N_("Wish posted"),
    "wish.claimed": N_("Wish taken on"),
    "wish.released": N_("Wish given back"),
    "wish.done": N_("Wish reported done"),
    "wish.not_done": N_("Wish sent back as not done"),
    "wish.confirmed": N_("Wish confirmed"),
    "wish.cancelled": N_("Wish cancelled"),
    "wish.expired": N_("Wish expired"),
    "wish.reposted": N_("Wish posted again"),
    "wish.escalated": N_("Urgent request passed to coordinators"),
    "wish.rated": N_("Help rated"),
    "wish.thanked": N_("Thank-you written"),
    "wish.assigned": N_("Member put on a team's wish"),
    "wish.unassigned": N_("Member taken off a team's wish"),
    "points.rule": N_("Points for a kind of work changed"),
    "points.adjust": N_("Points adjusted"),
    "points.correct": N_("Passbook entry corrected"),
    "points.close_quarter": N_("Quarter closed and recognised"),
    "household.register": N_("Household registered for twinning"),
    "household.update": N_("Household's details changed"),
    "pair.make": N_("Member paired with a household"),
    "pair.end": N_("Pair ended"),
    "patrol_post.create": N_("Patrol post created"),
    "patrol_post.archive": N_("Patrol post archived"),
    "patrol_shift.define": N_("Patrol shifts defined"),
    "patrol_shift.cancel": N_("Patrol shift cancelled"),
    "patrol_shift.let_off": N_("Member let off a patrol shift"),
    "patrol_shift.drop": N_("Member dropped out of a patrol shift"),
    "patrol_shift.ask_off": N_("Member asked late to be let off a patrol shift"),
    "patrol_shift.swap_offer": N_("Patrol shift offered to other members"),
    "patrol_shift.swap_take": N_("Patrol shift taken over by another member"),
    "finding.handle": N_("Patrol finding marked handled"),
    "finding.wish": N_("Patrol finding turned into a wish"),
    "study.schedule": N_("Study session scheduled"),
    "study.cancel": N_("Study session cancelled"),
    "suggestion.reply": N_("Suggestion answered"),
    "suggestion.status": N_("Suggestion's status changed"),
    "suggestion.link": N_("Suggestion linked to what answered it"),
    "report.export": N_("Statistics exported as a file"),
}
OTHER_ACTION = N_("Other action")

# A subject without a name of its own (or whose row is gone): its kind and number.
SUBJECT_LABELS: dict[str, str] = {
    "wish": N_("Wish #{id}"),
    "broadcast": N_("Announcement #{id}"),
    "invite": N_("Invite code #{id}"),
    "application": N_("Application #{id}"),
    "building": N_("Building #{id}"),
    "team": N_("Team #{id}"),
    "community": N_("Community #{id}"),
    "street": N_("Street #{id}"),
    "district": N_("District #{id}"),
    "household": N_("Household #{id}"),
    "pair": N_("Pair #{id}"),
    "patrol_post": N_("Patrol post #{id}"),
    "slot": N_("Shift or session #{id}"),
    "finding": N_("Patrol finding #{id}"),
    "study": N_("Study session #{id}"),
    "suggestion": N_("Suggestion #{id}"),
}
SOMEONE = N_("someone who has left")


def action_label(t: Translate, action: str) -> str:
    return t(ACTION_LABELS.get(action, OTHER_ACTION))


def subject_label(t: Translate, entry: AuditEntry) -> str:
    """Not escaped."""
    if entry.subject_name:
        return entry.subject_name
    kind, _, ref = entry.subject.partition(":")
    if kind in SUBJECT_LABELS and ref.isdigit():
        return t(SUBJECT_LABELS[kind]).format(id=ref)
    if kind == "quarter":
        return ref  # "2026Q4": the same in every language
    return t(SOMEONE) if kind == "user" else ""


def audit_line(t: Translate, entry: AuditEntry, language: str, zone: ZoneInfo) -> str:
    """One line of the audit log (HTML)."""
    parts = [
        format_local(entry.at, language, zone),
        esc(entry.actor_name or t(SOMEONE)),
        action_label(t, entry.action),
    ]
    subject = subject_label(t, entry)
    if subject:
        parts.append(esc(subject))
    return " · ".join(parts)
