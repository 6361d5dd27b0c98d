"""`linli migrate-data`: a community's data copied from its SQLite file to another database
(PostgreSQL on the PostgreSQL pass of the suite), checked by counts and checksums."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bot.__main__ import main
from bot.clock import ManualClock
from bot.models import Role, WishCategory
from bot.services import Services
from bot.services.wishes import WishDraft
from storage import users as users_repo
from storage.copy import CannotCopy, checksums_of, copy_data
from storage.store import Store
from tests.conftest import make_settings


async def a_lived_in_community(tmp_path: Path, clock: ManualClock) -> str:
    """A SQLite database with residents, a member, wishes claimed and open, notices queued."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'source.db'}"
    store = await Store.open(url)
    services = await Services.build(make_settings(tmp_path, database_url=url), store, clock)
    resident = await services.users.register(
        1,
        display_name="王奶奶",
        language="zh",
        building_id=None,
        room="3-201",
        phone="13800000001",
    )
    member = await services.users.register(
        10, display_name="Zhao", language="en", building_id=None
    )
    async with store.transaction() as conn:
        await users_repo.grant_role(conn, member.id, Role.MEMBER, None, clock.now())
    first = await services.wishes.post(
        resident, WishDraft(category=WishCategory.REPAIRS, text='灯泡坏了 {"json": true}')
    )
    await services.wishes.post(resident, WishDraft(category=WishCategory.OTHER, text="买菜"))
    await services.wishes.claim(await services.users.require(member.id), first.id)
    await store.close()
    return url


async def test_a_copy_holds_every_row_and_the_copied_database_goes_on_working(
    tmp_path: Path, clock: ManualClock
) -> None:
    source = await a_lived_in_community(tmp_path, clock)
    target = make_settings(tmp_path).database_url  # PostgreSQL on the PostgreSQL pass

    report = await copy_data(source, target)

    before, after = await Store.open(source), await Store.open(target)
    try:
        assert await checksums_of(after) == await checksums_of(before)
        assert {t.name: t.rows for t in report.tables}["wishes"] == 2 and report.rows > 10
        services = await Services.build(make_settings(tmp_path), after, clock)
        newcomer = await services.users.register(
            2, display_name="Li", language="zh", building_id=None
        )
        wish = await services.wishes.post(
            newcomer, WishDraft(category=WishCategory.OTHER, text="new after the move")
        )
        assert wish.id == 3  # ids go on after the copied ones
    finally:
        await before.close()
        await after.close()


async def test_copying_into_a_database_that_holds_data_is_refused(
    tmp_path: Path, clock: ManualClock
) -> None:
    source = await a_lived_in_community(tmp_path, clock)
    target = make_settings(tmp_path).database_url
    await copy_data(source, target)
    with pytest.raises(CannotCopy, match="already holds data"):
        await copy_data(source, target)


async def test_a_missing_source_is_refused_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    with pytest.raises(CannotCopy, match="does not exist"):
        await copy_data(f"sqlite+aiosqlite:///{missing}", make_settings(tmp_path).database_url)
    assert not missing.exists()


@pytest.mark.only_postgresql  # SQLite takes any length; the refusal is PostgreSQL's
async def test_a_failed_copy_leaves_the_target_as_it_was(
    tmp_path: Path, clock: ManualClock
) -> None:
    source = await a_lived_in_community(tmp_path, clock)
    store = await Store.open(source)
    async with store.transaction() as conn:  # a value the target may refuse, written by hand
        await conn.execute(
            text("UPDATE users SET language = 'far too long a language code' WHERE id = 10")
        )
    await store.close()
    target = make_settings(tmp_path).database_url
    with pytest.raises(CannotCopy, match="nothing was kept"):
        await copy_data(source, target)
    after = await Store.open(target)
    assert all(rows == 0 for rows, _ in (await checksums_of(after)).values())
    await after.close()


def test_the_command_line_copies_and_says_so(
    tmp_path: Path, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    source = asyncio.run(a_lived_in_community(tmp_path, clock))
    target = make_settings(tmp_path).database_url
    main(["migrate-data", "--from", source, "--to", target])
    printed = capsys.readouterr().out
    assert "wishes" in printed and "checksum match" in printed
    with pytest.raises(SystemExit) as refused:
        main(["migrate-data", "--from", source, "--to", target])
    assert refused.value.code == 2
    assert "already holds data" in capsys.readouterr().err
