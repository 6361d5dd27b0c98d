"""Slots: a time people sign up for, are reminded of and check in to — patrol shifts and study
sessions alike. Each feature keeps its own details in its own table keyed by the slot.

What must hold whatever races, and how: a slot never has more places held than its capacity
(`slots.taken` moves only by a guarded UPDATE in the transaction that moves the sign-up), a
person has one sign-up row per slot (a unique key), a check-in or check-out happens once (a
guarded UPDATE on the NULL column), and a swap offer is taken once (OPEN → TAKEN, guarded)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import (
    HOLDING,
    Signup,
    SignupStatus,
    Slot,
    SlotKind,
    SlotStatus,
    Swap,
    SwapStatus,
)
from storage.common import insert_ignoring_conflicts
from storage.schema import slot_signups, slot_swaps, slots, users


def slot_from_row(row: Mapping[Any, Any]) -> Slot:
    """A slot from a row carrying the `slots` columns (other tables' joined columns too)."""
    return Slot(
        id=row["id"],
        kind=SlotKind(row["kind"]),
        community_id=row["community_id"],
        building_id=row["building_id"],
        series_id=row["series_id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        capacity=row["capacity"],
        taken=row["taken"],
        status=SlotStatus(row["status"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        cancelled_at=row["cancelled_at"],
    )


def _signup(row: RowMapping) -> Signup:
    return Signup(
        id=row["id"],
        slot_id=row["slot_id"],
        user_id=row["user_id"],
        status=SignupStatus(row["status"]),
        reason=row["reason"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        checked_in_at=row["checked_in_at"],
        checked_out_at=row["checked_out_at"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        user_name=row.get("user_name"),
    )


def _swap(row: RowMapping) -> Swap:
    return Swap(
        id=row["id"],
        slot_id=row["slot_id"],
        from_user_id=row["from_user_id"],
        taken_by=row["taken_by"],
        status=SwapStatus(row["status"]),
        created_at=row["created_at"],
        decided_at=row["decided_at"],
    )


def _holding(statuses: Collection[SignupStatus]) -> list[str]:
    return sorted(s.value for s in statuses)


# --- slots ------------------------------------------------------------------------------------


async def insert_slots(
    conn: AsyncConnection,
    *,
    kind: SlotKind,
    community_id: int,
    building_id: int | None,
    times: Sequence[tuple[datetime, datetime]],
    capacity: int | None,
    created_by: int,
    now: datetime,
) -> list[Slot]:
    """One slot per (start, end); made in one step, they share a series (the first's id)."""
    made: list[Slot] = []
    series_id: int | None = None
    for starts_at, ends_at in times:
        row = (
            (
                await conn.execute(
                    slots.insert()
                    .values(
                        kind=kind.value,
                        community_id=community_id,
                        building_id=building_id,
                        series_id=series_id,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        capacity=capacity,
                        taken=0,
                        status=SlotStatus.OPEN.value,
                        created_by=created_by,
                        created_at=now,
                    )
                    .returning(slots)
                )
            )
            .mappings()
            .one()
        )
        made.append(slot_from_row(row))
        if series_id is None and len(times) > 1:
            series_id = made[0].id
            await conn.execute(
                update(slots).where(slots.c.id == series_id).values(series_id=series_id)
            )
            made[0] = made[0].model_copy(update={"series_id": series_id})
    return made


async def get_slot(conn: AsyncConnection, slot_id: int) -> Slot | None:
    row = (await conn.execute(select(slots).where(slots.c.id == slot_id))).mappings().first()
    return slot_from_row(row) if row else None


async def get_slots(conn: AsyncConnection, slot_ids: Collection[int]) -> dict[int, Slot]:
    if not slot_ids:
        return {}
    query = select(slots).where(slots.c.id.in_(sorted(slot_ids)))
    return {row["id"]: slot_from_row(row) for row in (await conn.execute(query)).mappings()}


async def slots_between(
    conn: AsyncConnection,
    *,
    kind: SlotKind,
    start: datetime,
    end: datetime,
    community_id: int | None = None,
    community_ids: Collection[int] | None = None,
    building_ids: Collection[int] | None = None,
    include_cancelled: bool = False,
    limit: int = 500,
) -> list[Slot]:
    """Slots of a kind starting in [start, end), by start, in a community (or several)."""
    where: list[ColumnElement[bool]] = [
        slots.c.kind == kind.value,
        slots.c.starts_at >= start,
        slots.c.starts_at < end,
    ]
    if community_id is not None:
        where.append(slots.c.community_id == community_id)
    if community_ids is not None:
        where.append(slots.c.community_id.in_(sorted(community_ids)))
    if building_ids is not None:
        where.append(slots.c.building_id.in_(sorted(building_ids)))
    if not include_cancelled:
        where.append(slots.c.status == SlotStatus.OPEN.value)
    query = select(slots).where(*where).order_by(slots.c.starts_at, slots.c.id).limit(limit)
    return [slot_from_row(row) for row in (await conn.execute(query)).mappings()]


async def series_slots(conn: AsyncConnection, series_id: int, *, after: datetime) -> list[Slot]:
    """The open slots of a series starting after `after`, by start."""
    query = (
        select(slots)
        .where(
            slots.c.series_id == series_id,
            slots.c.status == SlotStatus.OPEN.value,
            slots.c.starts_at > after,
        )
        .order_by(slots.c.starts_at, slots.c.id)
    )
    return [slot_from_row(row) for row in (await conn.execute(query)).mappings()]


async def cancel_slot(conn: AsyncConnection, slot_id: int, now: datetime) -> bool:
    """OPEN → CANCELLED; False when it was not open (cancelled once, whatever races)."""
    result = await conn.execute(
        update(slots)
        .where(slots.c.id == slot_id, slots.c.status == SlotStatus.OPEN.value)
        .values(status=SlotStatus.CANCELLED.value, cancelled_at=now)
    )
    return result.rowcount == 1


# --- sign-ups ---------------------------------------------------------------------------------


def _signups_query() -> Select[Any]:
    return select(slot_signups, users.c.display_name.label("user_name")).join(
        users, users.c.id == slot_signups.c.user_id
    )


async def get_signup(conn: AsyncConnection, slot_id: int, user_id: int) -> Signup | None:
    query = _signups_query().where(
        slot_signups.c.slot_id == slot_id, slot_signups.c.user_id == user_id
    )
    row = (await conn.execute(query)).mappings().first()
    return _signup(row) if row else None


async def signups_of(
    conn: AsyncConnection, slot_id: int, statuses: Collection[SignupStatus] | None = None
) -> list[Signup]:
    """A slot's sign-ups (with names), in the order they came."""
    return await signups_of_slots(conn, [slot_id], statuses)


async def signups_of_slots(
    conn: AsyncConnection,
    slot_ids: Collection[int],
    statuses: Collection[SignupStatus] | None = None,
) -> list[Signup]:
    if not slot_ids:
        return []
    query = _signups_query().where(slot_signups.c.slot_id.in_(sorted(slot_ids)))
    if statuses is not None:
        query = query.where(slot_signups.c.status.in_(_holding(statuses)))
    query = query.order_by(slot_signups.c.slot_id, slot_signups.c.id)
    return [_signup(row) for row in (await conn.execute(query)).mappings()]


async def user_signups(
    conn: AsyncConnection,
    user_id: int,
    *,
    kind: SlotKind,
    after: datetime,
    before: datetime | None = None,
    statuses: Collection[SignupStatus] = HOLDING,
    limit: int = 50,
) -> list[tuple[Signup, Slot]]:
    """A person's sign-ups of a kind on slots ending after `after` (and starting before
    `before`), by start: on the index by (user, start)."""
    where: list[ColumnElement[bool]] = [
        slot_signups.c.user_id == user_id,
        slot_signups.c.ends_at > after,
        slot_signups.c.status.in_(_holding(statuses)),
        slots.c.kind == kind.value,
    ]
    if before is not None:
        where.append(slot_signups.c.starts_at < before)
    columns = [c.label(f"s__{c.name}") for c in slots.c]
    query = (
        select(slot_signups, users.c.display_name.label("user_name"), *columns)
        .join(slots, slots.c.id == slot_signups.c.slot_id)
        .join(users, users.c.id == slot_signups.c.user_id)
        .where(*where)
        .order_by(slot_signups.c.starts_at, slot_signups.c.id)
        .limit(limit)
    )
    found: list[tuple[Signup, Slot]] = []
    for row in (await conn.execute(query)).mappings():
        slot_row = {c.name: row[f"s__{c.name}"] for c in slots.c}
        found.append((_signup(row), slot_from_row(slot_row)))
    return found


async def overlapping(
    conn: AsyncConnection,
    user_id: int,
    starts_at: datetime,
    ends_at: datetime,
    *,
    statuses: Collection[SignupStatus] = HOLDING,
    exclude_slot: int | None = None,
) -> Signup | None:
    """A place the person holds on an open slot whose time overlaps [starts_at, ends_at)."""
    query = (
        select(slot_signups)
        .join(slots, slots.c.id == slot_signups.c.slot_id)
        .where(
            slot_signups.c.user_id == user_id,
            slot_signups.c.status.in_(_holding(statuses)),
            slot_signups.c.starts_at < ends_at,
            slot_signups.c.ends_at > starts_at,
            slots.c.status == SlotStatus.OPEN.value,
        )
        .order_by(slot_signups.c.starts_at)
        .limit(1)
    )
    if exclude_slot is not None:
        query = query.where(slot_signups.c.slot_id != exclude_slot)
    row = (await conn.execute(query)).mappings().first()
    return _signup(row) if row else None


async def _upsert_signup(
    conn: AsyncConnection,
    slot: Slot,
    user_id: int,
    status: SignupStatus,
    reason: str | None,
    now: datetime,
) -> None:
    inserted = await conn.scalar(
        insert_ignoring_conflicts(
            conn,
            slot_signups,
            slot_id=slot.id,
            user_id=user_id,
            status=status.value,
            reason=reason,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            created_at=now,
            updated_at=now,
        ).returning(slot_signups.c.id)
    )
    if inserted is None:
        await conn.execute(
            update(slot_signups)
            .where(slot_signups.c.slot_id == slot.id, slot_signups.c.user_id == user_id)
            .values(status=status.value, reason=reason, updated_at=now)
        )


async def lock_slot(conn: AsyncConnection, slot_id: int) -> Slot | None:
    """The slot, its row locked until the transaction ends (PostgreSQL: SELECT … FOR UPDATE;
    SQLite's BEGIN IMMEDIATE holds the whole database already). Changes to a slot's places
    take it first, so two of them for the same slot run one after the other, and each sees
    the sign-ups the one before committed."""
    query = select(slots).where(slots.c.id == slot_id).with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return slot_from_row(row) if row else None


async def take_place(conn: AsyncConnection, slot_id: int, user_id: int, now: datetime) -> bool:
    """Hold a place: with the slot locked, the count moves (guarded: open, not full), then the
    row. False, with nothing changed, when the slot is full or not open, or the person holds
    a place already (a second tap racing the first)."""
    if await lock_slot(conn, slot_id) is None:
        return False
    held = await conn.scalar(
        select(slot_signups.c.id).where(
            slot_signups.c.slot_id == slot_id,
            slot_signups.c.user_id == user_id,
            slot_signups.c.status.in_(_holding(HOLDING)),
        )
    )
    if held is not None:
        return False
    result = await conn.execute(
        update(slots)
        .where(
            slots.c.id == slot_id,
            slots.c.status == SlotStatus.OPEN.value,
            or_(slots.c.capacity.is_(None), slots.c.taken < slots.c.capacity),
        )
        .values(taken=slots.c.taken + 1)
        .returning(slots)
    )
    row = result.mappings().first()
    if row is None:
        return False
    await _upsert_signup(conn, slot_from_row(row), user_id, SignupStatus.GOING, None, now)
    return True


async def _give_back(conn: AsyncConnection, slot_id: int) -> None:
    await conn.execute(
        update(slots)
        .where(slots.c.id == slot_id, slots.c.taken > 0)
        .values(taken=slots.c.taken - 1)
    )


async def release_place(
    conn: AsyncConnection,
    slot_id: int,
    user_id: int,
    *,
    to: SignupStatus,
    reason: str | None,
    now: datetime,
) -> bool:
    """A held place (GOING or LEAVING) → `to`, and the slot's count back by one; False when
    the person held none."""
    assert to not in HOLDING
    if not await set_signup_status(
        conn, slot_id, user_id, from_=HOLDING, to=to, reason=reason, now=now
    ):
        return False
    await _give_back(conn, slot_id)
    return True


async def set_signup_status(
    conn: AsyncConnection,
    slot_id: int,
    user_id: int,
    *,
    from_: Collection[SignupStatus],
    to: SignupStatus,
    reason: str | None,
    now: datetime,
) -> bool:
    """`from_` → `to` without touching the count (e.g. GOING → LEAVING); guarded."""
    result = await conn.execute(
        update(slot_signups)
        .where(
            slot_signups.c.slot_id == slot_id,
            slot_signups.c.user_id == user_id,
            slot_signups.c.status.in_(_holding(from_)),
        )
        .values(status=to.value, reason=reason, updated_at=now)
    )
    return result.rowcount == 1


async def answer(
    conn: AsyncConnection,
    slot_id: int,
    user_id: int,
    status: SignupStatus,
    reason: str | None,
    now: datetime,
) -> Signup:
    """Record a person's answer (an RSVP: GOING or EXCUSED) on a slot; the count follows
    whether the answer holds a place. The last answer stands."""
    slot = await lock_slot(conn, slot_id)
    assert slot is not None
    before = await get_signup(conn, slot_id, user_id)
    was_holding = before is not None and before.holding
    await _upsert_signup(conn, slot, user_id, status, reason, now)
    if status in HOLDING and not was_holding:
        await conn.execute(
            update(slots).where(slots.c.id == slot_id).values(taken=slots.c.taken + 1)
        )
    elif status not in HOLDING and was_holding:
        await _give_back(conn, slot_id)
    signup = await get_signup(conn, slot_id, user_id)
    assert signup is not None
    return signup


async def check_in(
    conn: AsyncConnection,
    slot_id: int,
    user_id: int,
    *,
    at: datetime,
    latitude: float | None = None,
    longitude: float | None = None,
) -> bool:
    """Mark the person's held place checked in at `at`, once; False when it was already, or
    the place is no longer held (given up or swapped away meanwhile)."""
    result = await conn.execute(
        update(slot_signups)
        .where(
            slot_signups.c.slot_id == slot_id,
            slot_signups.c.user_id == user_id,
            slot_signups.c.status.in_(_holding(HOLDING)),
            slot_signups.c.checked_in_at.is_(None),
        )
        .values(checked_in_at=at, latitude=latitude, longitude=longitude, updated_at=at)
    )
    return result.rowcount == 1


async def set_location(
    conn: AsyncConnection, slot_id: int, user_id: int, latitude: float, longitude: float
) -> bool:
    """Where a checked-in person is, shared after the check-in."""
    result = await conn.execute(
        update(slot_signups)
        .where(
            slot_signups.c.slot_id == slot_id,
            slot_signups.c.user_id == user_id,
            slot_signups.c.checked_in_at.is_not(None),
        )
        .values(latitude=latitude, longitude=longitude)
    )
    return result.rowcount == 1


async def check_out(conn: AsyncConnection, slot_id: int, user_id: int, *, at: datetime) -> bool:
    """Mark a checked-in sign-up checked out at `at`, once."""
    result = await conn.execute(
        update(slot_signups)
        .where(
            slot_signups.c.slot_id == slot_id,
            slot_signups.c.user_id == user_id,
            slot_signups.c.checked_in_at.is_not(None),
            slot_signups.c.checked_out_at.is_(None),
        )
        .values(checked_out_at=at, updated_at=at)
    )
    return result.rowcount == 1


async def hand_over(
    conn: AsyncConnection, slot_id: int, from_user: int, to_user: int, now: datetime
) -> bool:
    """The from-user's held place goes to the to-user (a swap); the count does not move.
    False, nothing changed, when the from-user holds none or the to-user holds one."""
    slot = await lock_slot(conn, slot_id)
    if slot is None:
        return False
    current = await get_signup(conn, slot_id, to_user)
    if current is not None and current.holding:
        return False
    moved = await set_signup_status(
        conn,
        slot_id,
        from_user,
        from_=HOLDING,
        to=SignupStatus.DROPPED,
        reason="swap",
        now=now,
    )
    if not moved:
        return False
    await _upsert_signup(conn, slot, to_user, SignupStatus.GOING, None, now)
    return True


async def attendance(
    conn: AsyncConnection, slot_ids: Collection[int]
) -> dict[int, tuple[int, int]]:
    """Per slot: (checked in, excused without checking in)."""
    if not slot_ids:
        return {}
    checked = func.count(slot_signups.c.checked_in_at)
    excused = func.sum(
        case(
            (
                and_(
                    slot_signups.c.status == SignupStatus.EXCUSED.value,
                    slot_signups.c.checked_in_at.is_(None),
                ),
                1,
            ),
            else_=0,
        )
    )
    query = (
        select(slot_signups.c.slot_id, checked.label("attended"), excused.label("excused"))
        .where(slot_signups.c.slot_id.in_(sorted(slot_ids)))
        .group_by(slot_signups.c.slot_id)
    )
    found = {slot_id: (0, 0) for slot_id in slot_ids}
    for row in (await conn.execute(query)).mappings():
        found[row["slot_id"]] = (int(row["attended"] or 0), int(row["excused"] or 0))
    return found


# --- swaps ------------------------------------------------------------------------------------


async def insert_swap(
    conn: AsyncConnection, slot_id: int, from_user_id: int, now: datetime
) -> Swap | None:
    """Offer a held place to others; None when the person has an open offer for it already."""
    inserted = await conn.scalar(
        insert_ignoring_conflicts(
            conn,
            slot_swaps,
            slot_id=slot_id,
            from_user_id=from_user_id,
            status=SwapStatus.OPEN.value,
            created_at=now,
        ).returning(slot_swaps.c.id)
    )
    return await get_swap(conn, int(inserted)) if inserted is not None else None


async def get_swap(conn: AsyncConnection, swap_id: int) -> Swap | None:
    query = select(slot_swaps).where(slot_swaps.c.id == swap_id)
    row = (await conn.execute(query)).mappings().first()
    return _swap(row) if row else None


async def open_swap_of(conn: AsyncConnection, slot_id: int, from_user_id: int) -> Swap | None:
    query = select(slot_swaps).where(
        slot_swaps.c.slot_id == slot_id,
        slot_swaps.c.from_user_id == from_user_id,
        slot_swaps.c.status == SwapStatus.OPEN.value,
    )
    row = (await conn.execute(query)).mappings().first()
    return _swap(row) if row else None


async def take_swap(conn: AsyncConnection, swap_id: int, user_id: int, now: datetime) -> bool:
    """OPEN → TAKEN by `user_id`, once whatever races."""
    result = await conn.execute(
        update(slot_swaps)
        .where(slot_swaps.c.id == swap_id, slot_swaps.c.status == SwapStatus.OPEN.value)
        .values(status=SwapStatus.TAKEN.value, taken_by=user_id, decided_at=now)
    )
    return result.rowcount == 1


async def close_swaps(
    conn: AsyncConnection, slot_id: int, *, from_user_id: int | None = None, now: datetime
) -> int:
    """Withdraw the open offers of a slot (or of one person on it); how many."""
    where = [slot_swaps.c.slot_id == slot_id, slot_swaps.c.status == SwapStatus.OPEN.value]
    if from_user_id is not None:
        where.append(slot_swaps.c.from_user_id == from_user_id)
    result = await conn.execute(
        update(slot_swaps).where(*where).values(status=SwapStatus.WITHDRAWN.value, decided_at=now)
    )
    return int(result.rowcount)
