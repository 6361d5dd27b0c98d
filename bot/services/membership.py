"""Becoming a member: invite codes, applications, a coordinator's decision."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

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
from bot.services.scope import require_coordinator, require_covers, working_community
from storage import audit, membership, org
from storage import users as users_repo
from storage.store import Store

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand
REASON_MAX = 300


class InviteUnusable(InvalidInput):
    message = N_("That invite code is not valid. Please check it with your coordinator.")


class InviteExpired(InvalidInput):
    message = N_("That invite code has expired. Please ask your coordinator for a new one.")


class InviteElsewhere(InvalidInput):
    message = N_(
        "This invitation is from another community. A member serves the community they live "
        "in: please ask a coordinator of your own community for one."
    )


class InviteUsedUp(InvalidInput):
    message = N_("That invite code has been used up. Please ask your coordinator for a new one.")


class NewApplication(Notice):
    """To coordinators: someone applied to become a member."""

    KIND = "membership.applied"
    name: str
    community_id: int | None = None
    building_id: int | None = None

    def place(self) -> tuple[int | None, int | None]:
        return self.community_id, self.building_id


class ApplicationApproved(Notice):
    KIND = "membership.approved"


class ApplicationRejected(Notice):
    KIND = "membership.rejected"
    reason: str


@dataclass
class MembershipService:
    store: Store
    clock: Clock
    notifier: Notifier

    async def create_invite(
        self, actor: User, *, days: int, max_uses: int, community_id: int | None = None
    ) -> Invite:
        """An invitation to serve in a community below the coordinator."""
        community = working_community(actor, community_id)
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
                community_id=community,
            )
            await audit.record(
                conn,
                actor_id=actor.id,
                action="invite.create",
                subject=f"invite:{invite.id}",
                now=now,
                community_id=community,
                after={"code": code, "days": days, "max_uses": max_uses},
            )
        return invite

    async def revoke_invite(self, actor: User, invite_id: int) -> None:
        require_coordinator(actor)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            invite = await membership.get_invite(conn, invite_id)
            if invite is None:
                raise NotFound()
            require_covers(actor, invite.community_id)
            if not await membership.revoke_invite(conn, invite_id):
                raise Conflict()
            await audit.record(
                conn,
                actor_id=actor.id,
                action="invite.revoke",
                subject=f"invite:{invite_id}",
                now=now,
                community_id=invite.community_id,
                before={"revoked": False},
                after={"revoked": True},
            )

    async def active_invites(self, actor: User) -> list[Invite]:
        """The usable invitations of the communities below the coordinator."""
        reach = require_coordinator(actor)
        if not reach.whole_communities:
            return []
        async with self.store.read() as conn:
            return await membership.active_invites(conn, self.clock.now(), reach.community_ids)

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
        if invite.community_id != user.community_id:
            # A member serves (and reports to) the community of their home.
            raise InviteElsewhere()
        return invite

    async def apply(
        self, user: User, code: str, *, skills: set[Skill], building_id: int | None
    ) -> MemberApplication:
        """Use the invite and file the application; coordinators are told."""
        invite = await self.check_invite(user, code)
        if not skills:
            raise InvalidInput(N_("Please choose at least one skill."))
        if building_id is not None:
            async with self.store.read() as conn:
                building = await org.get_building(conn, building_id)
            if building is None or building.archived or not user.belongs_to(building.community_id):
                raise InvalidInput(N_("Please choose a building from the list."))
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
                NewApplication(
                    name=user.display_name,
                    community_id=user.community_id,
                    building_id=user.building_id,  # where the coordinators who decide look
                ),
                dedupe_prefix=f"application:{application.id}",
            )
        self.notifier.wake()
        return application

    async def pending(self, actor: User) -> tuple[list[MemberApplication], int]:
        """The oldest page of waiting applications below the coordinator, and how many wait
        there in all."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            page = await membership.pending_applications(conn, reach)
            return page, await membership.count_pending_applications(conn, reach)

    async def pending_count(self, actor: User) -> int:
        """How many applications below the coordinator wait for a decision."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            return await membership.count_pending_applications(conn, reach)

    async def _application(
        self, conn: AsyncConnection, actor: User, application_id: int
    ) -> MemberApplication:
        """An application by someone below the coordinator (else: not found)."""
        require_coordinator(actor)
        application = await membership.get_application(conn, application_id)
        if application is None:
            raise NotFound()
        applicant = await users_repo.get_user(conn, application.user_id)
        if applicant is None or not actor.covers(applicant.community_id, applicant.building_id):
            raise NotFound()
        return application

    async def get_application(self, actor: User, application_id: int) -> MemberApplication:
        async with self.store.read() as conn:
            return await self._application(conn, actor, application_id)

    async def decide(
        self, actor: User, application_id: int, *, approve: bool, reason: str | None = None
    ) -> MemberApplication:
        """Approve (the applicant becomes a member of the whole community: not a building's
        coordinator's to decide) or reject with a reason; audited."""
        if not require_coordinator(actor).whole_communities:
            raise NotAllowed()
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
            application = await self._application(conn, actor, application_id)
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
                community_id=applicant.community_id,
                before={"status": ApplicationStatus.PENDING.value},
                after={"status": status.value, "reason": reason},
            )
            decided = await membership.get_application(conn, application_id)
        self.notifier.wake()
        assert decided is not None
        return decided
