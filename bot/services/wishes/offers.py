"""Matching and offers: who hears of an open wish — members whose skills fit, the same
building first, after their quiet hours; for an urgent request the building's members at once,
then the whole community — the wish wall post, and the reminders an open wish sets."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Wish
from bot.services.notify import quiet_until
from bot.services.wishes.core import WishCore
from bot.services.wishes.notices import WALL_VIEW, WishOffered
from bot.services.wishes.rules import (
    CATEGORY_SKILLS,
    EXPIRY_GRACE,
    KIND_ESCALATE,
    KIND_EXPIRE,
    KIND_WIDEN,
    OFFER_LIMIT,
    REOFFER_LIFETIME,
    UNDATED_LIFETIME,
    URGENT_LIMIT,
    subject_of,
)
from storage import wishes as repo


def wall_key(wish_id: int) -> str:
    return f"{subject_of(wish_id)}:wall"


class WishOffers(WishCore):
    async def _announce_open(
        self,
        conn: AsyncConnection,
        wish: Wish,
        round_id: int,
        *,
        exclude: set[int],
        again: bool = False,
    ) -> None:
        """Offers (or urgent alerts) and the reminders of an open wish, for one round. A wish
        open `again` (given back, or put back by a coordinator) is offered for at least
        REOFFER_LIFETIME even when its own time has passed: it is usually late already, and
        expiring it a minute after asking members again would make the asking pointless."""
        now = self.clock.now()
        subject = subject_of(wish.id)
        exclude = exclude | {wish.posted_by}
        if wish.urgent:
            await self._alert(conn, wish, round_id, building_only=wish.building_id is not None)
            minutes = self.settings.urgent_escalate_minutes
            if wish.building_id is not None:
                await self.reminders.schedule(
                    conn,
                    subject=subject,
                    kind=KIND_WIDEN,
                    due_at=now + timedelta(minutes=max(1, minutes // 3)),
                    payload={"wish_id": wish.id, "round": round_id},
                    dedupe_key=f"{subject}:widen:{round_id}",
                )
            await self.reminders.schedule(
                conn,
                subject=subject,
                kind=KIND_ESCALATE,
                due_at=now + timedelta(minutes=minutes),
                payload={"wish_id": wish.id, "round": round_id},
                dedupe_key=f"{subject}:escalate:{round_id}",
            )
        else:
            await self._offer(conn, wish, round_id, exclude=exclude)
        expires = (
            wish.needed_by + EXPIRY_GRACE if wish.needed_by else wish.created_at + UNDATED_LIFETIME
        )
        soonest = now + (REOFFER_LIFETIME if again else timedelta(minutes=1))
        await self.reminders.schedule(
            conn,
            subject=subject,
            kind=KIND_EXPIRE,
            due_at=max(expires, soonest),
            recipient_id=wish.posted_by,
            payload={"wish_id": wish.id, "round": round_id},
            dedupe_key=f"{subject}:expire:{round_id}",
        )

    async def _offer(
        self, conn: AsyncConnection, wish: Wish, round_id: int, *, exclude: set[int]
    ) -> int:
        """Offer to members whose skills fit, same building first, after their quiet hours."""
        candidates = await repo.member_candidates(
            conn,
            wish.community_id,
            building_id=wish.building_id,
            skills=CATEGORY_SKILLS[wish.category],
            exclude=exclude | {wish.posted_by},
            limit=OFFER_LIMIT,
        )
        now, zone = self.clock.now(), self.settings.zone
        return await self.notifier.tell_all(  # one statement for all of them
            conn,
            candidates,
            WishOffered(wish=wish),
            dedupe_prefix=f"{subject_of(wish.id)}:offer:{round_id}",
            not_before=lambda member: quiet_until(member, now, zone),
        )

    async def _alert(
        self, conn: AsyncConnection, wish: Wish, round_id: int, *, building_only: bool
    ) -> int:
        """Urgent: members of the building (or the whole community) at once, quiet hours or not."""
        candidates = await repo.member_candidates(
            conn,
            wish.community_id,
            building_id=wish.building_id,
            skills=None,
            exclude={wish.posted_by},
            limit=URGENT_LIMIT,
        )
        if building_only:
            candidates = [m for m in candidates if m.building_id == wish.building_id]
        # The same keys for both waves: nobody is alerted twice in one round.
        return await self.notifier.tell_all(
            conn,
            candidates,
            WishOffered(wish=wish),
            dedupe_prefix=f"{subject_of(wish.id)}:urgent:{round_id}",
        )

    async def _post_to_wall(self, conn: AsyncConnection, wish: Wish) -> None:
        """The wish on the members' group wall, kept current until it is closed."""
        group = self.settings.members_group_id
        if group is None or wish.community_id != self.wall_community_id:
            return
        await self.notifier.show_live(
            conn,
            key=wall_key(wish.id),
            thing=subject_of(wish.id),
            view=WALL_VIEW,
            chat_id=group,
            language=self.settings.default_language,
        )
