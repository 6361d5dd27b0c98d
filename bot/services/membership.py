"""Becoming a member: invite codes, applications, a coordinator's decision."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.models import (
    N_,
    ApplicationStatus,
    Invite,
    MemberApplication,
    Notice,
    Role,
    Skill,
    User,
)
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.notify import Notifier
from storage import audit, membership
from storage import users as users_repo
from storage.store import Store

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand
REASON_MAX = 300


class InviteUnusable(InvalidInput):
    message = N_("That invite code is not valid. Please check it with your coordinator.")


class InviteExpired(InvalidInput):
    message = N_("That invite code has expired. Please ask your coordinator for a new one.")


class InviteUsedUp(InvalidInput):
    message = N_("That invite code has been used up. Please ask your coordinator for a new one.")


class NewApplication(Notice):
    """To coordinators: someone applied to become a member."""

    KIND = "membership.applied"
    name: str


class ApplicationApproved(Notice):
    KIND = "membership.approved"


class ApplicationRejected(Notice):
    KIND = "membership.rejected"
    reason: str


def require_coordinator(user: User) -> None:
    if not user.is_coordinator:
        raise NotAllowed()


@dataclass
class MembershipService:
    store: Store
    clock: Clock
    notifier: Notifier

    async def create_invite(self, actor: User, *, days: int, max_uses: int) -> Invite:
        require_coordinator(actor)
        if not (1 <= days <= 365 and 1 <= max_uses <= 1000):
            raise InvalidInput(N_("Validity is 1–365 days and uses 1–1000."))
        now = self.clock.now()
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        async with self.store.transaction() as conn:
            invite = await membership.insert_invite(
                conn,
                code=code,
                created_by=actor.id,
                now=now,
                expires_at=now + timedelta(days=days),
                max_uses=max_uses,
            )
            await audit.record(
                conn,
                actor_id=actor.id,
                action="invite.create",
                subject=f"invite:{invite.id}",
                now=now,
                after={"code": code, "days": days, "max_uses": max_uses},
            )
        return invite

    async def revoke_invite(self, actor: User, invite_id: int) -> None:
        require_coordinator(actor)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            if not await membership.revoke_invite(conn, invite_id):
                raise Conflict()
            await audit.record(
                conn,
                actor_id=actor.id,
                action="invite.revoke",
                subject=f"invite:{invite_id}",
                now=now,
                before={"revoked": False},
                after={"revoked": True},
            )

    async def active_invites(self, actor: User) -> list[Invite]:
        require_coordinator(actor)
        async with self.store.read() as conn:
            return await membership.active_invites(conn, self.clock.now())

    async def check_invite(self, user: User, code: str) -> Invite:
        """Is `code` usable by `user`? Raises with the reason; changes nothing."""
        if user.is_member:
            raise Conflict(N_("You are a member already."))
        normalised = code.strip().upper()
        async with self.store.read() as conn:
            if await membership.pending_application_of(conn, user.id):
                raise Conflict(N_("Your application is waiting for a coordinator already."))
            invite = await membership.get_invite_by_code(conn, normalised)
        if invite is None or invite.revoked:
            raise InviteUnusable()
        if invite.expires_at <= self.clock.now():
            raise InviteExpired()
        if invite.uses >= invite.max_uses:
            raise InviteUsedUp()
        return invite

    async def apply(
        self, user: User, code: str, *, skills: set[Skill], building_id: int | None
    ) -> MemberApplication:
        """Use the invite and file the application; coordinators are told."""
        invite = await self.check_invite(user, code)
        if not skills:
            raise InvalidInput(N_("Please choose at least one skill."))
        now = self.clock.now()
        async with self.store.transaction() as conn:
            if not await membership.use_invite(conn, invite.id, now):
                raise InviteUsedUp()
            application = await membership.insert_application(
                conn,
                user_id=user.id,
                invite_id=invite.id,
                building_id=building_id,
                skills=skills,
                now=now,
            )
            await self.notifier.tell_coordinators(
                conn,
                NewApplication(name=user.display_name),
                dedupe_prefix=f"application:{application.id}",
            )
        self.notifier.wake()
        return application

    async def pending(self, actor: User) -> tuple[list[MemberApplication], int]:
        """The oldest page of waiting applications and how many wait in all."""
        require_coordinator(actor)
        async with self.store.read() as conn:
            page = await membership.pending_applications(conn)
            return page, await membership.count_pending_applications(conn)

    async def pending_count(self, actor: User) -> int:
        """How many applications wait for a decision."""
        require_coordinator(actor)
        async with self.store.read() as conn:
            return await membership.count_pending_applications(conn)

    async def get_application(self, actor: User, application_id: int) -> MemberApplication:
        require_coordinator(actor)
        async with self.store.read() as conn:
            application = await membership.get_application(conn, application_id)
        if application is None:
            raise NotFound()
        return application

    async def decide(
        self, actor: User, application_id: int, *, approve: bool, reason: str | None = None
    ) -> MemberApplication:
        """Approve (the applicant becomes a member) or reject with a reason; audited."""
        require_coordinator(actor)
        if not approve:
            reason = (reason or "").strip()
            if not reason:
                raise InvalidInput(N_("Please give a reason for the rejection."))
            if len(reason) > REASON_MAX:
                raise InvalidInput(
                    N_("That text is too long (at most {limit} characters)."), limit=REASON_MAX
                )
        now = self.clock.now()
        status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
        async with self.store.transaction() as conn:
            application = await membership.get_application(conn, application_id)
            if application is None:
                raise NotFound()
            if not await membership.decide_application(
                conn, application_id, status=status, decided_by=actor.id, reason=reason, now=now
            ):
                raise Conflict(N_("This application was decided already."))
            applicant = await users_repo.get_user(conn, application.user_id)
            assert applicant is not None
            if approve:
                await users_repo.grant_role(conn, applicant.id, Role.MEMBER, actor.id, now)
                await users_repo.set_skills(conn, applicant.id, application.skills)
                if application.building_id is not None:
                    await users_repo.update_user(
                        conn, applicant.id, building_id=application.building_id
                    )
                await self.notifier.tell(
                    conn,
                    applicant,
                    ApplicationApproved(),
                    dedupe_key=f"application:{application_id}:decided",
                )
            else:
                await self.notifier.tell(
                    conn,
                    applicant,
                    ApplicationRejected(reason=reason or ""),
                    dedupe_key=f"application:{application_id}:decided",
                )
            await audit.record(
                conn,
                actor_id=actor.id,
                action=f"application.{status.value}",
                subject=f"application:{application_id}",
                now=now,
                before={"status": ApplicationStatus.PENDING.value},
                after={"status": status.value, "reason": reason},
            )
            decided = await membership.get_application(conn, application_id)
        self.notifier.wake()
        assert decided is not None
        return decided
