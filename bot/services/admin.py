"""Coordinator housekeeping: the tree below them (streets, communities, buildings), the
community's names, coordinators. All audited, each entry with the community it was about."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.models import N_, AuditEntry, Building, Community, Node, NodeKind, Role, Street, User
from bot.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.notify import Notifier
from bot.services.scope import require_coordinator, working_community
from storage import audit, org
from storage import live as live_repo
from storage import teams as teams_repo
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
    notifier: Notifier | None = field(default=None)

    # --- the tree ---------------------------------------------------------------------------

    async def community(self, actor: User, community_id: int | None = None) -> Community:
        """The community the coordinator's housekeeping is about (see `working_community`)."""
        found = working_community(actor, community_id)
        async with self.store.read() as conn:
            community = await org.get_community(conn, found)
        if community is None:
            raise NotFound()
        return community

    async def communities(self, actor: User) -> list[Community]:
        """The communities below the coordinator's node."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            return await org.list_communities(conn, reach.community_ids)

    async def streets(self, actor: User) -> list[Street]:
        """The streets a coordinator may add a community to: their own, or every street of
        their district."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            if reach.node.kind is NodeKind.STREET:
                street = await org.get_street(conn, reach.node.id)
                return [street] if street else []
            if reach.node.kind is NodeKind.DISTRICT:
                return await org.list_streets(conn, reach.node.id)
        raise NotAllowed()

    async def add_street(self, actor: User, name: str) -> Street:
        """A district's coordinator adds a street to it."""
        reach = require_coordinator(actor)
        if reach.node.kind is not NodeKind.DISTRICT:
            raise NotAllowed()
        name = clean_place_name(name)
        async with self.store.transaction() as conn:
            if await org.find_street_by_name(conn, reach.node.id, name):
                raise Conflict(N_("A street with that name exists already."))
            street_id = await org.add_street(conn, reach.node.id, name)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="street.add",
                subject=f"street:{street_id}",
                now=self.clock.now(),
                community_id=None,
                after={"name": name},
            )
            street = await org.get_street(conn, street_id)
        assert street is not None
        return street

    async def add_community(self, actor: User, street_id: int, name: str) -> Community:
        """A street's (or the district's) coordinator adds a community to a street below them."""
        if street_id not in {s.id for s in await self.streets(actor)}:
            raise NotFound()
        name = clean_place_name(name)
        async with self.store.transaction() as conn:
            if await org.find_community_by_name(conn, street_id, name):
                raise Conflict(N_("A community with that name exists already."))
            community_id = await org.add_community(conn, street_id, name)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="community.add",
                subject=f"community:{community_id}",
                now=self.clock.now(),
                community_id=community_id,
                after={"name": name, "street": street_id},
            )
            community = await org.get_community(conn, community_id)
        assert community is not None
        return community

    async def rename_community(
        self, actor: User, name: str, community_id: int | None = None
    ) -> Community:
        name = clean_place_name(name)
        before = await self.community(actor, community_id)
        async with self.store.transaction() as conn:
            await org.rename_community(conn, before.id, name=name)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="community.rename",
                subject=f"community:{before.id}",
                now=self.clock.now(),
                community_id=before.id,
                before={"name": before.name},
                after={"name": name},
            )
        return await self.community(actor, before.id)

    # --- buildings --------------------------------------------------------------------------

    async def all_buildings(self, actor: User, community_id: int | None = None) -> list[Building]:
        community = working_community(actor, community_id)
        async with self.store.read() as conn:
            return await org.list_buildings(conn, community, include_archived=True)

    async def add_building(
        self, actor: User, name: str, community_id: int | None = None
    ) -> Building:
        community = working_community(actor, community_id)
        name = clean_place_name(name)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            if await org.find_building_by_name(conn, community, name):
                raise Conflict(N_("A building with that name exists already."))
            building = await org.add_building(conn, community, name, now)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="building.add",
                subject=f"building:{building.id}",
                now=now,
                community_id=community,
                after={"name": name},
            )
        return building

    async def _building(self, actor: User, building_id: int) -> Building:
        async with self.store.read() as conn:
            building = await org.get_building(conn, building_id)
        if building is None:
            raise NotFound()
        working_community(actor, building.community_id)
        return building

    async def building(self, actor: User, building_id: int) -> Building:
        return await self._building(actor, building_id)

    async def rename_building(self, actor: User, building_id: int, name: str) -> Building:
        name = clean_place_name(name)
        building = await self._building(actor, building_id)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            same = await org.find_building_by_name(conn, building.community_id, name)
            if same and same.id != building_id:
                raise Conflict(N_("A building with that name exists already."))
            await org.update_building(conn, building_id, name=name)
            await audit.record(
                conn,
                actor_id=actor.id,
                action="building.rename",
                subject=f"building:{building_id}",
                now=now,
                community_id=building.community_id,
                before={"name": building.name},
                after={"name": name},
            )
        return await self._building(actor, building_id)

    async def set_building_archived(
        self, actor: User, building_id: int, archived: bool
    ) -> Building:
        building = await self._building(actor, building_id)
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
                community_id=building.community_id,
                before={"archived": building.archived},
                after={"archived": archived},
            )
        return await self._building(actor, building_id)

    # --- people and coordinators ------------------------------------------------------------

    async def find_users(self, actor: User, text: str) -> list[User]:
        """People below the coordinator's node, by name or id."""
        reach = require_coordinator(actor)
        text = text.strip()
        if not text or len(text) > 64:
            raise InvalidInput()
        async with self.store.read() as conn:
            return await users_repo.search_users(conn, text, reach=reach)

    async def coordinators(self, actor: User) -> list[User]:
        """The coordinators appointed at or below the coordinator's node, wherever they live."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            return await users_repo.coordinators_below(conn, reach, limit=30)

    async def nodes(self, actor: User) -> list[tuple[Node, str]]:
        """Where the coordinator may appoint someone: their own node and every community and
        street below it, with names."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            found = [(reach.node, await org.node_name(conn, reach.node))]
            if reach.node.kind is NodeKind.DISTRICT:
                for street in await org.list_streets(conn, reach.node.id):
                    found.append((Node(kind=NodeKind.STREET, id=street.id), street.name))
            if reach.whole_communities and reach.node.kind is not NodeKind.COMMUNITY:
                for community in await org.list_communities(conn, reach.community_ids):
                    found.append((Node(kind=NodeKind.COMMUNITY, id=community.id), community.name))
            if reach.node.kind is NodeKind.COMMUNITY:  # above, they appoint community ones
                for building in await org.list_buildings(conn, reach.node.id):
                    found.append((Node(kind=NodeKind.BUILDING, id=building.id), building.name))
        return found

    async def _below(self, actor: User, node: Node) -> bool:
        """Is `node` the actor's own node or one below it?"""
        reach = require_coordinator(actor)
        if node == reach.node:
            return True
        async with self.store.read() as conn:
            if node.kind is NodeKind.STREET:
                street = await org.get_street(conn, node.id)
                return (
                    street is not None
                    and reach.node.kind is NodeKind.DISTRICT
                    and street.district_id == reach.node.id
                )
            if node.kind is NodeKind.DISTRICT or not reach.whole_communities:
                return False
            other = await org.reach_of(conn, node)
        return other is not None and other.community_ids <= reach.community_ids

    async def appoint(self, actor: User, user_id: int, node: Node) -> User:
        """Make someone who lives below the actor's node a coordinator of a node at or below
        it, or move a coordinator appointed below it (wherever they live) there. Audited,
        under the community the node is in."""
        require_coordinator(actor)
        if not await self._below(actor, node):
            raise NotFound()
        about = await self._community_of(node)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            target = await self._manageable(conn, actor, user_id)
            before = target.reach.node if target.reach else None
            if await users_repo.appoint(conn, user_id, node, actor.id, now):
                if before is not None:  # moved: they may see less than before
                    await self._reshow(conn, user_id)
                await audit.record(
                    conn,
                    actor_id=actor.id,
                    action="coordinator.promote",
                    subject=f"user:{user_id}",
                    now=now,
                    community_id=about,
                    before={"node": before.model_dump(mode="json") if before else None},
                    after={"node": node.model_dump(mode="json")},
                )
            updated = await users_repo.get_user(conn, user_id)
        assert updated is not None
        if self.notifier is not None:
            self.notifier.wake()
        return updated

    async def _manageable(self, conn: AsyncConnection, actor: User, user_id: int) -> User:
        """Someone the actor may appoint, move or demote: a coordinator appointed at or below
        the actor's node (wherever they live), or anyone else who lives below it."""
        reach = require_coordinator(actor)
        target = await users_repo.get_user(conn, user_id)
        if target is None:
            raise NotFound(N_("No registered user with that id."))
        if target.is_coordinator and target.reach is not None:
            if not await self._below(actor, target.reach.node):
                if reach.covers(target.community_id, target.building_id):
                    raise NotAllowed(N_("That coordinator is appointed above you."))
                raise NotFound(N_("No registered user with that id."))
        elif not reach.covers(target.community_id, target.building_id):
            raise NotFound(N_("No registered user with that id."))
        return target

    async def _community_of(self, node: Node) -> int | None:
        """The one community a node is in or is (None: a street or district of several)."""
        async with self.store.read() as conn:
            below = await org.reach_of(conn, node)
        return below.only_community if below is not None else None

    async def _reshow(self, conn: AsyncConnection, user_id: int) -> None:
        """What they opened as a coordinator (contact details) is shown again as they may now
        see it."""
        if self.notifier is None:
            return
        for message in await live_repo.for_viewer(conn, user_id):
            await self.notifier.touch(conn, message.thing, key=message.key)

    async def set_coordinator(self, actor: User, user_id: int, coordinator: bool) -> User:
        """Promote (to the actor's own node) or demote someone below the actor; a coordinator
        cannot demote themself (someone must remain)."""
        reach = require_coordinator(actor)
        if coordinator:
            return await self.appoint(actor, user_id, reach.node)
        if user_id == actor.id:
            raise NotAllowed(N_("You cannot remove your own coordinator role."))
        now = self.clock.now()
        async with self.store.transaction() as conn:
            target = await self._manageable(conn, actor, user_id)
            about = target.reach.only_community if target.reach else None
            changed = await users_repo.revoke_role(conn, user_id, Role.COORDINATOR)
            if changed:
                await self._reshow(conn, user_id)
                await audit.record(
                    conn,
                    actor_id=actor.id,
                    action="coordinator.demote",
                    subject=f"user:{user_id}",
                    now=now,
                    community_id=about,
                    before={"coordinator": True},
                    after={"coordinator": False},
                )
            updated = await users_repo.get_user(conn, user_id)
        assert updated is not None
        if self.notifier is not None:
            self.notifier.wake()
        return updated

    async def audit_log(self, actor: User, *, limit: int = 20) -> list[AuditEntry]:
        """The newest entries, each with the names of who acted and of what it was about (a
        person, building, team or community), so a reader sees names, not ids."""
        reach = require_coordinator(actor)
        async with self.store.read() as conn:
            entries = await audit.recent(conn, reach, limit=limit)
            people = {entry.actor_id for entry in entries}
            people |= {ref for kind, ref in map(_subject, entries) if kind == "user"}
            names = {
                ("user", user.id): user.display_name
                for user in await users_repo.get_users(conn, people)
            }
            for kind, ref in {_subject(entry) for entry in entries}:
                place = await _place_name(conn, kind, ref)
                if place is not None:
                    names[kind, ref] = place
        return [
            entry.model_copy(
                update={
                    "actor_name": names.get(("user", entry.actor_id)),
                    "subject_name": names.get(_subject(entry)),
                }
            )
            for entry in entries
        ]


def _subject(entry: AuditEntry) -> tuple[str, int]:
    """An entry's subject "kind:id" as (kind, id); (kind, 0) when it has no number."""
    kind, _, ref = entry.subject.partition(":")
    return kind, int(ref) if ref.isdigit() else 0


async def _place_name(conn: AsyncConnection, kind: str, ref: int) -> str | None:
    """The name of a building, team, community or street an entry is about (None: no such)."""
    if kind == "building":
        building = await org.get_building(conn, ref)
        return building.name if building else None
    if kind == "team":
        team = await teams_repo.get_team(conn, ref)
        return team.name if team else None
    if kind == "community":
        community = await org.get_community(conn, ref)
        return community.name if community else None
    if kind == "street":
        street = await org.get_street(conn, ref)
        return street.name if street else None
    return None
