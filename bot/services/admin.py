"""Coordinator housekeeping: buildings, the community's names, coordinators. All audited."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.clock import Clock
from bot.models import N_, AuditEntry, Building, Community, Role, User
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.membership import require_coordinator
from bot.services.notify import Notifier
from storage import audit, org
from storage import live as live_repo
from storage import users as users_repo
from storage.store import Store

PLACE_NAME_MAX = 40


def clean_place_name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > PLACE_NAME_MAX:
        raise InvalidInput(
            N_("A name is 1 to {limit} characters. Please try again."), limit=PLACE_NAME_MAX
        )
    return name


@dataclass
class AdminService:
    store: Store
    clock: Clock
    community_id: int
    notifier: Notifier | None = field(default=None)

    async def community(self) -> Community:
        async with self.store.read() as conn:
            community = await org.get_community(conn, self.community_id)
        assert community is not None
        return community

    async def rename_community(self, actor: User, name: str) -> Community:
        require_coordinator(actor)
        name = clean_place_name(name)
        before = await self.community()
        async with self.store.transaction() as conn:
            await org.rename_community(conn, self.community_id, name=name)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="community.rename",
                subject=f"community:{self.community_id}",
                now=self.clock.now(),
                before={"name": before.name},
                after={"name": name},
            )
        return await self.community()

    async def all_buildings(self, actor: User) -> list[Building]:
        require_coordinator(actor)
        async with self.store.read() as conn:
            return await org.list_buildings(conn, self.community_id, include_archived=True)

    async def add_building(self, actor: User, name: str) -> Building:
        require_coordinator(actor)
        name = clean_place_name(name)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            if await org.find_building_by_name(conn, self.community_id, name):
                raise Conflict(N_("A building with that name exists already."))
            building = await org.add_building(conn, self.community_id, name, now)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="building.add",
                subject=f"building:{building.id}",
                now=now,
                after={"name": name},
            )
        return building

    async def _building(self, building_id: int) -> Building:
        async with self.store.read() as conn:
            building = await org.get_building(conn, building_id)
        if building is None or building.community_id != self.community_id:
            raise NotFound()
        return building

    async def building(self, actor: User, building_id: int) -> Building:
        require_coordinator(actor)
        return await self._building(building_id)

    async def rename_building(self, actor: User, building_id: int, name: str) -> Building:
        require_coordinator(actor)
        name = clean_place_name(name)
        building = await self._building(building_id)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            same = await org.find_building_by_name(conn, self.community_id, name)
            if same and same.id != building_id:
                raise Conflict(N_("A building with that name exists already."))
            await org.update_building(conn, building_id, name=name)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="building.rename",
                subject=f"building:{building_id}",
                now=now,
                before={"name": building.name},
                after={"name": name},
            )
        return await self._building(building_id)

    async def set_building_archived(
        self, actor: User, building_id: int, archived: bool
    ) -> Building:
        require_coordinator(actor)
        building = await self._building(building_id)
        if building.archived == archived:
            return building
        now = self.clock.now()
        async with self.store.transaction() as conn:
            await org.update_building(conn, building_id, archived=archived)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="building.archive" if archived else "building.restore",
                subject=f"building:{building_id}",
                now=now,
                before={"archived": building.archived},
                after={"archived": archived},
            )
        return await self._building(building_id)

    async def find_users(self, actor: User, text: str) -> list[User]:
        require_coordinator(actor)
        text = text.strip()
        if not text or len(text) > 64:
            raise InvalidInput()
        async with self.store.read() as conn:
            return await users_repo.search_users(conn, text)

    async def coordinators(self, actor: User) -> list[User]:
        require_coordinator(actor)
        async with self.store.read() as conn:
            return await users_repo.list_users_with_role(conn, Role.COORDINATOR, limit=30)

    async def set_coordinator(self, actor: User, user_id: int, coordinator: bool) -> User:
        """Promote or demote; a coordinator cannot demote themself (someone must remain)."""
        require_coordinator(actor)
        if not coordinator and user_id == actor.id:
            raise NotAllowed(N_("You cannot remove your own coordinator role."))
        now = self.clock.now()
        async with self.store.transaction() as conn:
            target = await users_repo.get_user(conn, user_id)
            if target is None:
                raise NotFound(N_("No registered user with that id."))
            if coordinator:
                changed = await users_repo.grant_role(
                    conn, user_id, Role.COORDINATOR, actor.id, now
                )
            else:
                changed = await users_repo.revoke_role(conn, user_id, Role.COORDINATOR)
                if changed and self.notifier is not None:
                    # What they opened as a coordinator (contact details) is shown again as
                    # they may now see it.
                    for message in await live_repo.for_viewer(conn, user_id):
                        await self.notifier.touch(conn, message.thing, key=message.key)
            if changed:
                await audit.record(
                    conn,
                    actor_id=actor.id,
                    action="coordinator.promote" if coordinator else "coordinator.demote",
                    subject=f"user:{user_id}",
                    now=now,
                    before={"coordinator": not coordinator},
                    after={"coordinator": coordinator},
                )
            updated = await users_repo.get_user(conn, user_id)
        assert updated is not None
        if self.notifier is not None and not coordinator:
            self.notifier.wake()
        return updated

    async def audit_log(self, actor: User, *, limit: int = 20) -> list[AuditEntry]:
        require_coordinator(actor)
        async with self.store.read() as conn:
            return await audit.recent(conn, limit=limit)
