"""Registration and profiles: who someone is, where they live, which roles they hold."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.models import LANGUAGES, N_, Building, Community, Node, NodeKind, Skill, User
from bot.services.errors import InvalidInput, NotAllowed, NotFound, NotRegistered
from storage import org
from storage import users as users_repo
from storage.store import Store

NAME_MAX = 32
ROOM_MAX = 16
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")


def clean_name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise InvalidInput(N_("The name is empty. Please type a name."))
    if len(name) > NAME_MAX:
        raise InvalidInput(
            N_("That name is too long (at most {limit} characters)."), limit=NAME_MAX
        )
    return name


def clean_room(text: str) -> str:
    room = " ".join(text.split())
    if not room or len(room) > ROOM_MAX:
        raise InvalidInput(
            N_("A room number is 1 to {limit} characters, for example 3-201."), limit=ROOM_MAX
        )
    return room


def clean_phone(text: str) -> str:
    phone = text.strip()
    if not PHONE_PATTERN.match(phone):
        raise InvalidInput(N_("That does not look like a phone number."))
    return phone


@dataclass
class UsersService:
    store: Store
    settings: Settings
    clock: Clock
    default_community_id: int

    async def get(self, user_id: int) -> User | None:
        async with self.store.read() as conn:
            return await users_repo.get_user(conn, user_id)

    async def require(self, user_id: int) -> User:
        user = await self.get(user_id)
        if user is None:
            raise NotRegistered()
        return user

    async def communities(self) -> list[Community]:
        """Every community, for a newcomer to say where they live."""
        async with self.store.read() as conn:
            return await org.list_communities(conn)

    async def community(self, community_id: int) -> Community | None:
        async with self.store.read() as conn:
            return await org.get_community(conn, community_id)

    async def buildings(self, community_id: int) -> list[Building]:
        async with self.store.read() as conn:
            return await org.list_buildings(conn, community_id)

    async def building(self, building_id: int) -> Building | None:
        async with self.store.read() as conn:
            return await org.get_building(conn, building_id)

    async def _open_building(self, building_id: int | None, community_id: int) -> int | None:
        if building_id is None:
            return None
        async with self.store.read() as conn:
            building = await org.get_building(conn, building_id)
        if building is None or building.archived or building.community_id != community_id:
            raise InvalidInput(N_("Please choose a building from the list."))
        return building.id

    async def _home(self, user_id: int, community_id: int | None, building_id: int | None) -> int:
        """The community someone lives in: the one they chose; else their building's; else
        the one they live in already; else the only one there is."""
        async with self.store.read() as conn:
            if community_id is not None:
                if await org.get_community(conn, community_id) is None:
                    raise InvalidInput(N_("Please choose a community from the list."))
                return community_id
            building = await org.get_building(conn, building_id) if building_id else None
            if building is not None:
                return building.community_id
            known_user = await users_repo.get_user(conn, user_id)
            if known_user is not None and known_user.community_id is not None:
                return known_user.community_id
            known = await org.list_communities(conn)
        if len(known) != 1:
            raise InvalidInput(N_("Please choose a community from the list."))
        return known[0].id

    async def appoint_configured_coordinators(self) -> None:
        """The coordinators named in the settings (COORDINATOR_IDS) are the root of trust: each
        one registered is a coordinator of the district of the community the settings name."""
        async with self.store.transaction() as conn:
            community = await org.get_community(conn, self.default_community_id)
            assert community is not None
            district = Node(kind=NodeKind.DISTRICT, id=community.district_id)
            for user_id in sorted(self.settings.coordinator_ids):
                if await users_repo.get_user(conn, user_id) is not None:
                    await users_repo.appoint(conn, user_id, district, None, self.clock.now())

    async def register(
        self,
        user_id: int,
        *,
        display_name: str,
        language: str,
        building_id: int | None,
        room: str | None = None,
        phone: str | None = None,
        community_id: int | None = None,
    ) -> User:
        """Create the user (idempotent: an existing user is updated instead) in the community
        they chose (which may be left out while there is only one)."""
        name = clean_name(display_name)
        if language not in LANGUAGES:
            raise InvalidInput()
        home = await self._home(user_id, community_id, building_id)
        building = await self._open_building(building_id, home)
        room = clean_room(room) if room else None
        phone = clean_phone(phone) if phone else None
        now = self.clock.now()
        async with self.store.transaction() as conn:
            if await users_repo.get_user(conn, user_id) is None:
                await users_repo.insert_user(
                    conn,
                    user_id=user_id,
                    display_name=name,
                    language=language,
                    building_id=building,
                    room=room,
                    phone=phone,
                    community_id=home,
                    now=now,
                )
            else:
                await users_repo.update_user(
                    conn,
                    user_id,
                    display_name=name,
                    language=language,
                    building_id=building,
                    room=room,
                    phone=phone,
                    community_id=home,
                )
            user = await users_repo.get_user(conn, user_id)
        if user_id in self.settings.coordinator_ids:
            await self.appoint_configured_coordinators()
            user = await self.get(user_id)
        assert user is not None
        return user

    async def update_profile(
        self,
        user_id: int,
        *,
        display_name: str | None = None,
        language: str | None = None,
        building_id: int | None = None,
        room: str | None = None,
        phone: str | None = None,
        clear_room: bool = False,
        clear_phone: bool = False,
        announcements: bool | None = None,
        quiet_hours: tuple[int, int] | None = None,
        share_phone: bool | None = None,
    ) -> User:
        """Change some fields of a profile; the rest stays. Showing one's phone to the
        residents one helps is a member's choice (residents are never shown as helpers)."""
        values: dict[str, object] = {}
        if display_name is not None:
            values["display_name"] = clean_name(display_name)
        if language is not None:
            if language not in LANGUAGES:
                raise InvalidInput()
            values["language"] = language
        if building_id is not None:
            current = await self.require(user_id)
            assert current.community_id is not None
            values["building_id"] = await self._open_building(building_id, current.community_id)
        if room is not None:
            values["room"] = clean_room(room)
        if clear_room:
            values["room"] = None
        if phone is not None:
            values["phone"] = clean_phone(phone)
        if clear_phone:
            values["phone"] = None
        if announcements is not None:
            values["announcements"] = announcements
        if quiet_hours is not None:
            start, end = quiet_hours
            if not (0 <= start < 1440 and 0 <= end < 1440):
                raise InvalidInput()
            values["quiet_start"], values["quiet_end"] = start, end
        if share_phone is not None:
            values["share_phone"] = share_phone
        async with self.store.transaction() as conn:
            before = await users_repo.get_user(conn, user_id)
            if before is None:
                raise NotRegistered()
            if share_phone and not before.is_member:
                raise NotAllowed()
            await users_repo.update_user(conn, user_id, **values)
            user = await users_repo.get_user(conn, user_id)
        assert user is not None
        return user

    async def set_reachable(self, user_id: int, reachable: bool) -> None:
        """Telegram told us the user blocked the bot, or unblocked it (or they wrote /start):
        offers and alerts skip an unreachable user until they are reachable again."""
        async with self.store.transaction() as conn:
            await users_repo.update_user(conn, user_id, unreachable=not reachable)

    async def set_skills(self, user_id: int, skills: set[Skill]) -> User:
        async with self.store.transaction() as conn:
            if await users_repo.get_user(conn, user_id) is None:
                raise NotFound()
            await users_repo.set_skills(conn, user_id, skills)
            user = await users_repo.get_user(conn, user_id)
        assert user is not None
        return user
