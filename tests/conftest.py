"""Fixtures every layer's tests share: settings, a real SQLite store in a temp dir, services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.models import Role, Skill, User
from bot.services import Services
from storage import users as users_repo
from storage.store import Store
from tests.support.postgres import TEST_DATABASE, TestPostgres

COORDINATOR_ID = 9001

# The database of the test that runs now, when the pass runs on PostgreSQL (see
# tests/support/postgres.py); None: each test's SQLite file in its temp folder.
_database_url: str | None = None


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for tests: never read the developer's .env."""
    values: dict[str, Any] = {
        "telegram_bot_token": "123456:TEST-TOKEN",
        "database_url": _database_url or f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}",
        "coordinator_ids": str(COORDINATOR_ID),
        "default_language": "zh",
        "sweep_interval_seconds": 0.2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each pass leaves out the tests about the other database alone (deselected, and
    counted in pytest's summary): SQLite's pragmas on PostgreSQL, PostgreSQL's several
    processes on SQLite."""
    other = "only_sqlite" if TEST_DATABASE == "postgresql" else "only_postgresql"
    kept = [item for item in items if item.get_closest_marker(other) is None]
    left_out = [item for item in items if item.get_closest_marker(other) is not None]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture(scope="session")
def postgres() -> Iterator[TestPostgres]:
    server = TestPostgres()
    try:
        server.prepare_template()
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """On the PostgreSQL pass, a fresh database for this test (every `make_settings` names
    it); on SQLite, nothing to do."""
    global _database_url
    if TEST_DATABASE != "postgresql":
        yield None
        return
    server: TestPostgres = request.getfixturevalue("postgres")
    name = server.create()
    _database_url = server.url(name)
    try:
        yield _database_url
    finally:
        _database_url = None
        server.drop(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


# 10:00 in Asia/Shanghai: outside everyone's default quiet hours (22:00–07:00), whatever the
# hour the suite happens to run at.
DAYTIME = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(DAYTIME)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    store = await Store.open(settings.database_url)
    yield store
    await store.close()


@pytest.fixture
async def services(settings: Settings, store: Store, clock: ManualClock) -> Services:
    return await Services.build(settings, store, clock)


RegisterUser = Callable[..., Any]


@pytest.fixture
def register(services: Services) -> RegisterUser:
    """Register a user straight through the service: `await register(42, "Wang")`."""

    async def _register(
        user_id: int,
        name: str = "Tester",
        *,
        language: str = "zh",
        building_id: int | None = None,
        room: str | None = None,
        phone: str | None = None,
    ) -> Any:
        return await services.users.register(
            user_id,
            display_name=name,
            language=language,
            building_id=building_id,
            room=room,
            phone=phone,
        )

    return _register


async def make_member(
    services: Services,
    register: RegisterUser,
    user_id: int,
    name: str,
    *,
    building_id: int | None = None,
    skills: frozenset[Skill] = frozenset(),
) -> User:
    """A registered, verified member (党员志愿者), made now by the services' clock:
    `await make_member(services, register, 200, "王党员")`."""
    await register(user_id, name, building_id=building_id)
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, user_id, Role.MEMBER, None, services.clock.now())
        if skills:
            await users_repo.set_skills(conn, user_id, skills)
    return await services.users.require(user_id)
