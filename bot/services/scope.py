"""Who may act where: a coordinator acts on the communities below the node they are appointed
to (a building's coordinator only on that building's people and wishes); everyone else on
their own community. Every service checks here, whatever the buttons showed."""

from __future__ import annotations

from bot.models import N_, Reach, User
from bot.services.errors import InvalidInput, NotAllowed, NotFound


def require_coordinator(user: User) -> Reach:
    """The coordinator's reach; refused for anyone else."""
    if not user.is_coordinator or user.reach is None:
        raise NotAllowed()
    return user.reach


def require_covers(user: User, community_id: int | None, building_id: int | None = None) -> None:
    """Refused as "not found" outside the coordinator's reach: what lies elsewhere is not
    theirs even to know of."""
    require_coordinator(user)
    if not user.covers(community_id, building_id):
        raise NotFound()


def working_community(user: User, community_id: int | None = None) -> int:
    """The community a coordinator's housekeeping is about: the one they named (checked), else
    their own when it lies below their node, else the only one below it."""
    reach = require_coordinator(user)
    if community_id is not None:
        require_covers(user, community_id)
        return community_id
    if not reach.whole_communities:
        raise NotAllowed()
    if user.community_id is not None and user.community_id in reach.community_ids:
        return user.community_id
    if reach.only_community is not None:
        return reach.only_community
    raise InvalidInput(N_("Please choose a community first (/admin → Communities)."))
