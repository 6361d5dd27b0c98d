"""Invites, applications and a coordinator's decision, through the real services and SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.models import ApplicationStatus, Role, Skill
from bot.services import Services
from bot.services.errors import Conflict, InvalidInput, NotAllowed
from bot.services.membership import InviteExpired, InviteUnusable, InviteUsedUp
from storage.schema import audit_log, outbox
from tests.conftest import COORDINATOR_ID, RegisterUser


async def test_configured_coordinator_is_coordinator_from_first_start(
    register: RegisterUser,
) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    resident = await register(1, "Wang")
    assert coordinator.is_coordinator
    assert not resident.is_coordinator and resident.roles == {Role.RESIDENT}


async def test_resident_cannot_create_invites(services: Services, register: RegisterUser) -> None:
    resident = await register(1, "Wang")
    with pytest.raises(NotAllowed):
        await services.membership.create_invite(resident, days=7, max_uses=1)


async def test_application_approved_makes_a_member_with_skills(
    services: Services, register: RegisterUser
) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    applicant = await register(2, "Zhang")
    invite = await services.membership.create_invite(coordinator, days=7, max_uses=2)
    application = await services.membership.apply(
        applicant, invite.code.lower(), skills={Skill.REPAIRS, Skill.LEGAL}, building_id=None
    )
    assert application.status is ApplicationStatus.PENDING
    decided = await services.membership.decide(coordinator, application.id, approve=True)
    assert decided.status is ApplicationStatus.APPROVED
    member = await services.users.require(2)
    assert member.is_member and member.skills == {Skill.REPAIRS, Skill.LEGAL}
    async with services.store.read() as conn:
        actions = (await conn.scalars(select(audit_log.c.action))).all()
        chats = (await conn.scalars(select(outbox.c.chat_id))).all()
    assert "application.approved" in actions and "invite.create" in actions
    assert COORDINATOR_ID in chats  # told about the application
    assert 2 in chats  # the applicant is told the outcome


async def test_rejection_needs_a_reason_and_is_final(
    services: Services, register: RegisterUser
) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    applicant = await register(2, "Zhang")
    invite = await services.membership.create_invite(coordinator, days=7, max_uses=1)
    application = await services.membership.apply(
        applicant, invite.code, skills={Skill.OTHER}, building_id=None
    )
    with pytest.raises(InvalidInput):
        await services.membership.decide(coordinator, application.id, approve=False, reason=" ")
    await services.membership.decide(coordinator, application.id, approve=False, reason="No")
    with pytest.raises(Conflict):
        await services.membership.decide(coordinator, application.id, approve=True)
    assert not (await services.users.require(2)).is_member


async def test_expired_used_up_and_unknown_codes_are_refused(
    services: Services, register: RegisterUser, clock: ManualClock
) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    first = await register(2, "Zhang")
    second = await register(3, "Zhao")
    one_use = await services.membership.create_invite(coordinator, days=1, max_uses=1)
    await services.membership.apply(first, one_use.code, skills={Skill.OTHER}, building_id=None)
    with pytest.raises(InviteUsedUp):
        await services.membership.check_invite(second, one_use.code)
    later = await services.membership.create_invite(coordinator, days=1, max_uses=5)
    clock.advance(days=2)
    with pytest.raises(InviteExpired):
        await services.membership.check_invite(second, later.code)
    with pytest.raises(InviteUnusable):
        await services.membership.check_invite(second, "NOSUCHCODE")


async def test_a_second_application_while_one_waits_is_refused(
    services: Services, register: RegisterUser
) -> None:
    coordinator = await register(COORDINATOR_ID, "Li")
    applicant = await register(2, "Zhang")
    invite = await services.membership.create_invite(coordinator, days=1, max_uses=5)
    await services.membership.apply(applicant, invite.code, skills={Skill.OTHER}, building_id=None)
    with pytest.raises(Conflict):
        await services.membership.apply(
            applicant, invite.code, skills={Skill.OTHER}, building_id=None
        )
