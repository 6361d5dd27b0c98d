"""The ledger's invariants over random sequences of credits, adjustments, corrections, rule
changes and time passing (across quarter ends), played through the real passbook service on
the real database (SQLite, or PostgreSQL on that pass), a fresh database per sequence:

- every member's all-time total equals the sum of their entries and a model kept here, and
  each quarter's total the sum of that quarter's entries; the quarter's ranking and each
  member's place agree with the model;
- no (member, kind, ref) twice, a correction at most once per entry, for minus its points,
  and never of a correction or of an entry of no points;
- an entry, once written, never changes; each operation adds exactly the entries the model
  expects.

And the same credit from 20 concurrent transactions makes one entry and moves the totals once.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.clock import ManualClock
from bot.models import LedgerKind, Role, User
from bot.services import Services
from bot.services.passbook import AlreadyCorrected, NotCorrectable
from storage import ledger as repo
from storage import users as users_repo
from storage.store import Store
from tests.conftest import COORDINATOR_ID, make_settings
from tests.support import postgres as test_postgres
from tests.support.postgres import TEST_DATABASE

MEMBERS = (101, 102, 103, 104)
KINDS = (
    LedgerKind.WISH,
    LedgerKind.URGENT,
    LedgerKind.RATING,
    LedgerKind.PATROL,
    LedgerKind.STUDY,
    LedgerKind.VISIT,
)
REFS = ("wish:1", "wish:2", "wish:3")  # few, so the same thing is credited again often
TOKENS = ("t1", "t2", "t3")  # few, so an adjustment is sent again often
DEFAULTS = {
    LedgerKind.WISH: 10,
    LedgerKind.URGENT: 15,
    LedgerKind.RATING: 1,
    LedgerKind.PATROL: 5,
    LedgerKind.STUDY: 3,
    LedgerKind.VISIT: 5,
}
SHANGHAI = ZoneInfo("Asia/Shanghai")
# 23:30 on 31 March in Shanghai: half an hour before the second quarter begins there (and
# eight and a half before it does in UTC: a quarter taken in the wrong zone shows).
START = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)
EXAMPLES = 25 if TEST_DATABASE == "postgresql" else 50


def quarter_at(moment: datetime) -> str:
    """The model's own quarter (not the service's): by the month in Shanghai."""
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}Q{(local.month + 2) // 3}"


# --- operations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Credit:
    members: frozenset[int]
    kind: LedgerKind
    ref: str
    units: int


@dataclass(frozen=True)
class Adjust:
    member: int
    points: int
    token: str


@dataclass(frozen=True)
class Correct:
    pick: int  # which entry made so far (modulo their number)


@dataclass(frozen=True)
class Rule:
    kind: LedgerKind
    points: int


@dataclass(frozen=True)
class Later:
    hours: int


Operation = Credit | Adjust | Correct | Rule | Later

operations = st.lists(
    st.one_of(
        st.builds(
            Credit,
            members=st.frozensets(st.sampled_from(MEMBERS), min_size=1, max_size=3),
            kind=st.sampled_from(KINDS),
            ref=st.sampled_from(REFS),
            units=st.integers(1, 4),
        ),
        st.builds(
            Adjust,
            member=st.sampled_from(MEMBERS),
            points=st.integers(-1000, 1000).filter(bool),
            token=st.sampled_from(TOKENS),
        ),
        st.builds(Correct, pick=st.integers(0, 1000)),
        st.builds(Rule, kind=st.sampled_from(KINDS), points=st.integers(0, 100)),
        # An hour (the first quarter ends half an hour in), a day, or a whole quarter.
        st.builds(Later, hours=st.sampled_from((1, 5, 24, 24 * 91))),
    ),
    min_size=1,
    max_size=30,
)


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Expected:
    member: int
    kind: str
    ref: str
    points: int
    quarter: str
    corrects_id: int | None = None


@dataclass
class Model:
    rules: dict[LedgerKind, int] = field(default_factory=lambda: dict(DEFAULTS))
    # (member, kind, ref) → the entry's id and what it holds
    entries: dict[tuple[int, str, str], tuple[int, Expected]] = field(default_factory=dict)

    def made(self, key: tuple[int, str, str]) -> bool:
        return key in self.entries

    def total(self, member: int, quarter: str | None = None) -> int:
        return sum(
            e.points
            for _, e in self.entries.values()
            if e.member == member and (quarter is None or e.quarter == quarter)
        )


Row = tuple[Any, ...]


async def _rows(store: Store) -> dict[int, Row]:
    async with store.read() as conn:
        result = await conn.execute(
            text(
                "SELECT id, community_id, member_id, kind, ref, points, quarter, reason, "
                "corrects_id, granted_by, created_at FROM ledger_entries"
            )
        )
        return {int(row[0]): tuple(row) for row in result}


async def _step(
    services: Services, clock: ManualClock, coordinator: User, model: Model, op: Operation
) -> list[Expected]:
    """Play one operation through the service; the entries the model expects it to add."""
    passbook, community = services.passbook, services.default_community_id
    quarter = quarter_at(clock.now())
    if isinstance(op, Later):
        clock.advance(hours=op.hours)
        return []
    if isinstance(op, Rule):
        await passbook.set_rule(coordinator, op.kind, op.points)
        model.rules[op.kind] = op.points
        return []
    if isinstance(op, Credit):
        async with services.store.transaction() as conn:
            await passbook.credit(
                conn,
                community_id=community,
                member_ids=set(op.members),
                kind=op.kind,
                ref=op.ref,
                units=op.units,
            )
        points = model.rules[op.kind] * op.units
        return [
            Expected(m, op.kind.value, op.ref, points, quarter)
            for m in sorted(op.members)
            if not model.made((m, op.kind.value, op.ref))
        ]
    if isinstance(op, Adjust):
        key = (op.member, LedgerKind.ADJUSTMENT.value, f"adjust:{op.token}")
        entry = await passbook.adjust(coordinator, op.member, op.points, "补记", token=op.token)
        if model.made(key):  # sent again: the first one stands, whatever this one said
            entry_id, first = model.entries[key]
            assert (entry.id, entry.points) == (entry_id, first.points)
            return []
        assert entry.points == op.points
        return [Expected(*key, op.points, quarter)]
    assert isinstance(op, Correct)
    if not model.entries:
        return []
    entry_id, target = sorted(model.entries.values(), key=lambda e: e[0])[
        op.pick % len(model.entries)
    ]
    key = (target.member, LedgerKind.CORRECTION.value, f"entry:{entry_id}")
    if target.kind == LedgerKind.CORRECTION.value or target.points == 0:
        with pytest.raises(NotCorrectable):
            await passbook.correct(coordinator, entry_id, "改一次更正")
        return []
    if model.made(key):
        with pytest.raises(AlreadyCorrected):
            await passbook.correct(coordinator, entry_id, "再改一次")
        return []
    fixed = await passbook.correct(coordinator, entry_id, "记错了")
    assert (fixed.points, fixed.corrects_id) == (-target.points, entry_id)
    return [Expected(*key, -target.points, quarter, corrects_id=entry_id)]


async def _check(store: Store, community: int, model: Model, quarters: set[str]) -> None:
    """The invariants, read back from the database."""
    async with store.read() as conn:
        for quarter in sorted(quarters):
            # The ranking and each place read from the totals, against the model's sums.
            points = {m: model.total(m, quarter) for m in MEMBERS}
            for member, mine in points.items():
                ahead = sum(p > mine for p in points.values())
                place = await repo.place_of(conn, community, quarter, member)
                assert place == ((ahead + 1, mine) if mine > 0 else None)
            top = await repo.ranking(conn, community, quarter)
            ranked = sorted((-p, m) for m, p in points.items() if p > 0)
            assert [(r.member_id, r.points) for r in top] == [(m, -p) for p, m in ranked]
        for member in MEMBERS:
            for quarter in sorted(quarters):
                balance = await repo.balance(conn, member, quarter)
                summed = await repo.summed(conn, member)
                assert balance.all_time == summed == model.total(member), member
                of_quarter = await conn.scalar(
                    text(
                        "SELECT COALESCE(SUM(points), 0) FROM ledger_entries "
                        "WHERE member_id = :m AND quarter = :q"
                    ),
                    {"m": member, "q": quarter},
                )
                assert balance.this_quarter == of_quarter == model.total(member, quarter)
        # Every totals row against its entries, the all-time rows included.
        kept = {
            (m, c, p): int(points)
            for m, c, p, points in await conn.execute(
                text("SELECT member_id, community_id, period, points FROM ledger_totals")
            )
        }
        grouped = await conn.execute(
            text(
                "SELECT member_id, community_id, quarter, SUM(points) FROM ledger_entries "
                "GROUP BY member_id, community_id, quarter "
                "UNION ALL SELECT member_id, community_id, 'all', SUM(points) "
                "FROM ledger_entries GROUP BY member_id, community_id"
            )
        )
        added = {(m, c, p): int(points) for m, c, p, points in grouped}
        for key in kept.keys() | added.keys():
            assert kept.get(key, 0) == added.get(key, 0), key
        twice = await conn.execute(
            text(
                "SELECT member_id, kind, ref FROM ledger_entries "
                "GROUP BY member_id, kind, ref HAVING COUNT(*) > 1"
            )
        )
        assert list(twice) == []
        corrected_twice = await conn.execute(
            text(
                "SELECT corrects_id FROM ledger_entries WHERE corrects_id IS NOT NULL "
                "GROUP BY corrects_id HAVING COUNT(*) > 1"
            )
        )
        assert list(corrected_twice) == []
        wrong_amount = await conn.execute(
            text(
                "SELECT c.id FROM ledger_entries c JOIN ledger_entries e ON e.id = c.corrects_id "
                "WHERE c.points <> -e.points OR c.member_id <> e.member_id"
            )
        )
        assert list(wrong_amount) == []


async def _play(database_url: str, folder: Path, ops: list[Operation]) -> None:
    settings_ = make_settings(folder, database_url=database_url)
    store = await Store.open(database_url)
    clock = ManualClock(START)
    try:
        services = await Services.build(settings_, store, clock)
        for member in MEMBERS:
            await services.users.register(
                member, display_name=f"志愿者{member}", language="zh", building_id=None
            )
            async with store.transaction() as conn:  # points are for serving members
                await users_repo.grant_role(conn, member, Role.MEMBER, None, START)
        await services.users.register(
            COORDINATOR_ID, display_name="李书记", language="zh", building_id=None
        )
        coordinator = await services.users.require(COORDINATOR_ID)
        model = Model()
        seen: dict[int, Row] = {}
        quarters = {quarter_at(START)}
        for op in ops:
            expected = await _step(services, clock, coordinator, model, op)
            quarters.add(quarter_at(clock.now()))
            rows = await _rows(store)
            # What was written stays as it was written.
            assert {i: rows.get(i) for i in seen} == seen
            new = {i: r for i, r in rows.items() if i not in seen}
            made = sorted(
                (Expected(r[2], r[3], r[4], r[5], r[6], r[8]), i) for i, r in new.items()
            )
            assert [e for e, _ in made] == sorted(expected)
            for e, entry_id in made:
                model.entries[(e.member, e.kind, e.ref)] = (entry_id, e)
            seen = rows
        await _check(store, services.default_community_id, model, quarters)
    finally:
        await store.close()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    # No example database: it would be written into the repository's folder.
    database=None,
    # The function-scoped fixtures are the per-test database's; each example makes its own.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_ledger_invariants_hold_over_any_sequence_of_operations(
    request: pytest.FixtureRequest, ops: list[Operation]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        if TEST_DATABASE != "postgresql":
            asyncio.run(_play(f"sqlite+aiosqlite:///{folder}/ledger.db", Path(folder), ops))
            return
        server: test_postgres.TestPostgres = request.getfixturevalue("postgres")
        name = server.create()
        try:
            asyncio.run(_play(server.url(name), Path(folder), ops))
        finally:
            server.drop(name)


async def test_the_same_credit_from_twenty_transactions_at_once_is_made_once(
    services: Services, clock: ManualClock
) -> None:
    passbook, store = services.passbook, services.store
    await services.users.register(101, display_name="小赵", language="zh", building_id=None)
    postgres = store.engine.dialect.name == "postgresql"
    # On PostgreSQL ten at a time hold their transactions open together before crediting
    # (the pool's 15 connections would not hold all 20 waiting); on SQLite write
    # transactions take turns by design, so there the race is only in the conflict handling.
    together = asyncio.Barrier(10)
    made: list[list[int]] = []

    async def one() -> None:
        async with store.transaction() as conn:
            if postgres:
                await together.wait()
            made.append(
                await passbook.credit(
                    conn,
                    community_id=services.default_community_id,
                    member_ids={101},
                    kind=LedgerKind.WISH,
                    ref="wish:7",
                )
            )

    await asyncio.gather(*(one() for _ in range(20)))
    assert sorted(len(m) for m in made) == [0] * 19 + [1]
    quarter = passbook.quarter()
    async with store.read() as conn:
        balance = await repo.balance(conn, 101, quarter)
        count = await conn.scalar(text("SELECT COUNT(*) FROM ledger_entries"))
    assert count == 1
    assert (balance.this_quarter, balance.all_time) == (10, 10)
