"""Service teams: coordinators form them (name, kind, leader, members); teams claim wishes."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.models import N_, Team, TeamKind, User
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.scope import require_coordinator, working_community
from storage import audit
from storage import teams as teams_repo
from storage import users as users_repo
from storage.store import Store

TEAM_NAME_MAX = 40
TEAM_SIZE_MAX = 50  # a team's member list must fit on one screen of buttons


class NotAMember(InvalidInput):
    message = N_("{name} is not a member yet. Only members can be in a service team.")


def clean_team_name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > TEAM_NAME_MAX:
        raise InvalidInput(
            N_("A team name is 1 to {limit} characters. Please try again."), limit=TEAM_NAME_MAX
        )
    return name


@dataclass
class TeamsService:
    store: Store
    clock: Clock

    async def _team(self, team_id: int) -> Team:
        async with self.store.read() as conn:
            team = await teams_repo.get_team(conn, team_id)
        if team is None:
            raise NotFound()
        return team

    async def _managed(self, actor: User, team_id: int) -> Team:
        """A team of a community below the coordinator (else: not found)."""
        require_coordinator(actor)
        team = await self._team(team_id)
        working_community(actor, team.community_id)
        return team

    async def _member(self, user_id: int, community_id: int) -> User:
        """A member who serves in the team's community."""
        async with self.store.read() as conn:
            user = await users_repo.get_user(conn, user_id)
        if user is None or not user.belongs_to(community_id):
            raise NotFound(N_("No registered user with that id."))
        if not user.is_member:
            raise NotAMember(name=user.display_name)
        return user

    async def all(
        self, actor: User, *, include_inactive: bool = True, community_id: int | None = None
    ) -> list[Team]:
        community = working_community(actor, community_id)
        async with self.store.read() as conn:
            return await teams_repo.list_teams(conn, community, include_inactive=include_inactive)

    async def get(self, actor: User, team_id: int) -> Team:
        """A team, for the coordinators above it and the team's own members."""
        team = await self._team(team_id)
        if not actor.covers(team.community_id) and actor.id not in team.member_ids:
            raise NotFound()
        return team

    async def teams_of(self, user: User) -> list[Team]:
        """The active teams the user belongs to."""
        async with self.store.read() as conn:
            return await teams_repo.teams_of(conn, user.id)

    async def members(self, team: Team) -> list[User]:
        async with self.store.read() as conn:
            return await users_repo.get_users(conn, team.member_ids)

    async def find_members(self, actor: User, text: str) -> list[User]:
        """Members whose name contains `text` (or whose id it is), to pick a leader or member."""
        reach = require_coordinator(actor)
        text = text.strip()
        if not text or len(text) > 64:
            raise InvalidInput(N_("Please type part of a name, or a Telegram user id."))
        async with self.store.read() as conn:
            found = await users_repo.search_users(conn, text, reach=reach, limit=20)
        return [u for u in found if u.is_member][:10]

    async def create(
        self,
        actor: User,
        *,
        name: str,
        kind: TeamKind,
        leader_id: int,
        community_id: int | None = None,
    ) -> Team:
        community = working_community(actor, community_id)
        name = clean_team_name(name)
        leader = await self._member(leader_id, community)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            if await teams_repo.find_team_by_name(conn, community, name):
                raise Conflict(N_("A team with that name exists already."))
            team_id = await teams_repo.insert_team(
                conn,
                community_id=community,
                name=name,
                kind=kind,
                leader_id=leader.id,
                created_by=actor.id,
                now=now,
            )
            await audit.record(
                conn,
                actor_id=actor.id,
                action="team.create",
                subject=f"team:{team_id}",
                now=now,
                community_id=community,
                after={"name": name, "kind": kind.value, "leader_id": leader.id},
            )
        return await self._team(team_id)

    async def rename(self, actor: User, team_id: int, name: str) -> Team:
        name = clean_team_name(name)
        team = await self._managed(actor, team_id)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            same = await teams_repo.find_team_by_name(conn, team.community_id, name)
            if same and same.id != team_id:
                raise Conflict(N_("A team with that name exists already."))
            await teams_repo.update_team(conn, team_id, name=name)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="team.rename",
                subject=f"team:{team_id}",
                now=now,
                community_id=team.community_id,
                before={"name": team.name},
                after={"name": name},
            )
        return await self._team(team_id)

    async def set_leader(self, actor: User, team_id: int, user_id: int) -> Team:
        """A new leader (who joins the team if not in it yet)."""
        team = await self._managed(actor, team_id)
        leader = await self._member(user_id, team.community_id)
        if team.leader_id == leader.id:
            return team
        now = self.clock.now()
        async with self.store.transaction() as conn:
            await teams_repo.add_member(conn, team_id, leader.id, now)
            await teams_repo.update_team(conn, team_id, leader_id=leader.id)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="team.leader",
                subject=f"team:{team_id}",
                now=now,
                community_id=team.community_id,
                before={"leader_id": team.leader_id},
                after={"leader_id": leader.id},
            )
        return await self._team(team_id)

    async def add_member(self, actor: User, team_id: int, user_id: int) -> Team:
        team = await self._managed(actor, team_id)
        member = await self._member(user_id, team.community_id)
        if member.id in team.member_ids:
            raise Conflict(N_("{name} is in this team already."), name=member.display_name)
        if len(team.member_ids) >= TEAM_SIZE_MAX:
            raise Conflict(N_("A team has at most {limit} members."), limit=TEAM_SIZE_MAX)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            await teams_repo.add_member(conn, team_id, member.id, now)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="team.add_member",
                subject=f"team:{team_id}",
                now=now,
                community_id=team.community_id,
                after={"user_id": member.id},
            )
        return await self._team(team_id)

    async def remove_member(self, actor: User, team_id: int, user_id: int) -> Team:
        team = await self._managed(actor, team_id)
        if user_id == team.leader_id:
            raise NotAllowed(N_("The leader cannot leave the team. Choose a new leader first."))
        now = self.clock.now()
        async with self.store.transaction() as conn:
            if not await teams_repo.remove_member(conn, team_id, user_id):
                raise Conflict()
            await audit.record(
                conn,
                actor_id=actor.id,
                action="team.remove_member",
                subject=f"team:{team_id}",
                now=now,
                community_id=team.community_id,
                before={"user_id": user_id},
            )
        return await self._team(team_id)

    async def set_active(self, actor: User, team_id: int, active: bool) -> Team:
        """Archive a team (it can no longer claim) or bring it back."""
        team = await self._managed(actor, team_id)
        if team.active == active:
            return team
        now = self.clock.now()
        async with self.store.transaction() as conn:
            await teams_repo.update_team(conn, team_id, active=active)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="team.restore" if active else "team.archive",
                subject=f"team:{team_id}",
                now=now,
                community_id=team.community_id,
                before={"active": team.active},
                after={"active": active},
            )
        return await self._team(team_id)
