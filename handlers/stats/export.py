"""`/export`'s file: a period of a node as an Excel workbook (a summary sheet with the
`/stats` figures, then one sheet per area) or as a .zip of CSV files, written to a temporary
file the caller sends and deletes.

The service checks who asks and for what (`services.reports.plan`) on the event loop; the
rows are then read and written in a process of its own (`python -m handlers.stats.export`,
the job as JSON on its input), on a connection of its own, one export at a time per bot
process; cancelled, the process is killed.

Why a process, measured (`python -m bench --only export`, bench/export.py: a year of a
community, 242,220 of the seeded million wishes, while other people send 20 requests a
second to the running bot; a 2-core machine shared with other work): writing is openpyxl,
pure Python per cell that holds the GIL. With the writer in a thread of the bot's process
the others' answers took p99 128-893 ms on SQLite and 908-1,016 ms on PostgreSQL (baseline
p99 9-24 ms); in a process of its own (niced), p99 18 ms and 77 ms (target < 100 ms). The
process costs a fresh interpreter's start (about a second) and about 120 MB at its peak,
the same for a year as for a million rows (write-only sheets stream to disk).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

import handlers
from bot.i18n import translator
from bot.models import N_, Figures, Node, Period, ReportArea, ReportPlan, User
from bot.services import Services
from bot.services.errors import InvalidInput
from bot.services.stats.reports import ReportsService
from handlers.stats.workbook import (
    AREA_TITLES,
    SUMMARY_COLUMNS,
    SUMMARY_TITLE,
    CsvWriter,
    Writer,
    XlsxWriter,
    cells_of,
    columns,
    file_name,
    summary_rows,
    write_rows,
)


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"  # a .zip of one CSV per sheet


@dataclass(frozen=True)
class ExportFile:
    path: Path  # a temporary file: the caller deletes it
    filename: str  # 统计_南关社区_2026-11.xlsx
    rows: int  # detail rows written, the summary's not counted


# Where the writing runs: "process" (the bot's choice, see above); "thread" (the benchmark's
# comparison) and "loop" (the tests: the service's own connection, on the caller's loop).
Runner = Literal["process", "thread", "loop"]

_one_at_a_time: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)
# The longest a writer may take (a year of a district at a million wishes takes well under a
# minute): a writer stuck on its database connection would otherwise hold every later export
# behind it, and its coordinator waiting, until the bot restarts.
WRITE_TIMEOUT = 600.0

# Whose export is under way: one at a time each (a second press is refused, not queued
# behind the first and ahead of everyone else's).
_writing_for: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, set[int]] = (
    weakref.WeakKeyDictionary()
)


class ExportUnderWay(InvalidInput):
    message = N_("Your last file is still being made; it comes in a moment.")


async def export_file(
    services: Services,
    user: User,
    node: Node | None,
    period: Period,
    fmt: ExportFormat,
    *,
    runner: Runner = "process",
) -> ExportFile:
    """The file of `period` at `node` (None: the coordinator's own) for `user`: `begin_export`
    then `finish_export`."""
    begun = await begin_export(services, user, node, period, fmt)
    return await finish_export(services, begun, runner=runner)


@dataclass(frozen=True)
class BegunExport:
    """An export checked and recorded, its file not yet made."""

    user: User
    plan: ReportPlan
    period: Period
    fmt: ExportFormat


async def begin_export(
    services: Services, user: User, node: Node | None, period: Period, fmt: ExportFormat
) -> BegunExport:
    """Check and record an export (quick: the caller answers the coordinator at once).
    Refused (NotAllowed, NotFound) as `services.reports.plan` refuses, and while this user's
    last export is still being made (ExportUnderWay). Every BegunExport must be finished
    (`finish_export`), which lets the user export again."""
    writing = _writing_for.setdefault(asyncio.get_running_loop(), set())
    if user.id in writing:
        raise ExportUnderWay()
    writing.add(user.id)
    try:
        plan = await services.reports.plan(user, node, period, fmt=fmt.value)
    except BaseException:
        writing.discard(user.id)
        raise
    return BegunExport(user=user, plan=plan, period=period, fmt=fmt)


async def finish_export(
    services: Services, begun: BegunExport, *, runner: Runner = "process"
) -> ExportFile:
    """Make the file of a begun export (seconds to minutes: a year of a district)."""
    try:
        return await _export_file(
            services, begun.user, begun.plan, begun.period, begun.fmt, runner
        )
    finally:
        _writing_for.setdefault(asyncio.get_running_loop(), set()).discard(begun.user.id)


async def _export_file(
    services: Services,
    user: User,
    plan: ReportPlan,
    period: Period,
    fmt: ExportFormat,
    runner: Runner,
) -> ExportFile:
    figures = await services.stats.figures(user, plan.node, plan.period)
    _sweep()
    language = user.language
    t = translator(language)
    extension = "xlsx" if fmt is ExportFormat.XLSX else "zip"
    handle, name = tempfile.mkstemp(prefix="linli-export-", suffix="." + extension)
    os.close(handle)
    path = Path(name)
    job = Job(
        database_url=services.settings.database_url,
        plan=plan,
        figures=figures,
        fmt=fmt,
        language=language,
        path=str(path),
    )
    try:
        lock = _one_at_a_time.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with lock:
            if runner == "loop":
                rows = await write(services.reports, plan, figures, fmt, language, path)
            elif runner == "thread":
                rows = await asyncio.to_thread(write_apart, job)
            else:
                rows = await _in_process(job)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ExportFile(
        path=path, filename=file_name(t, plan.node_name, period, extension), rows=rows
    )


def _sweep() -> None:
    """Remove what exports left in the temporary folder longer ago than any export takes: a
    bot stopped hard mid-export (its file, its writer's folder: residents' phones in both)."""
    folder = Path(tempfile.gettempdir())
    oldest = time.time() - WRITE_TIMEOUT - 60
    for left in folder.glob("linli-export-*"):
        try:
            if left.lstat().st_mtime >= oldest:
                continue
            if left.is_dir() and not left.is_symlink():
                shutil.rmtree(left, ignore_errors=True)
            else:
                left.unlink(missing_ok=True)
        except OSError:  # another's, or gone meanwhile
            continue


class Job(BaseModel):
    """What the writer needs, as data (sent to the writer process as JSON)."""

    database_url: str
    plan: ReportPlan
    figures: Figures | None
    fmt: ExportFormat
    language: str
    path: str


class ExportFailed(RuntimeError):
    """The writer process failed (its last line of error output says how)."""


async def _in_process(job: Job) -> int:
    """Run `write_apart(job)` in a fresh interpreter (`python -m handlers.stats.export`);
    cancelled, the process is killed: nothing of it outlives the export."""
    root = str(Path(handlers.__file__).resolve().parent.parent)
    paths = [root, *filter(None, [os.environ.get("PYTHONPATH")])]
    # The writer's temporary files (openpyxl keeps each sheet in one, phones and all, until
    # it saves) in a folder of its own, removed here: a killed writer cannot remove them.
    work = tempfile.mkdtemp(prefix="linli-export-")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "TMPDIR": work}
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "handlers.stats.export",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            async with asyncio.timeout(WRITE_TIMEOUT):
                out, err = await process.communicate(job.model_dump_json().encode())
        except TimeoutError as error:
            process.kill()
            await process.wait()
            raise ExportFailed(f"the writer took more than {WRITE_TIMEOUT:.0f} s") from error
        except BaseException:
            if process.returncode is None:
                process.kill()
                await process.wait()
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if process.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise ExportFailed(lines[-1] if lines else f"exit status {process.returncode}")
    return int(out.decode().strip().splitlines()[-1])


def write_apart(job: Job) -> int:
    """`write` on a connection of its own, on an event loop of its own (this thread's, or
    the writer process's)."""

    async def run() -> int:
        reports = await ReportsService.open(job.database_url)
        try:
            return await write(
                reports, job.plan, job.figures, job.fmt, job.language, Path(job.path)
            )
        finally:
            await reports.close()

    return asyncio.run(run())


async def write(
    reports: ReportsService,
    plan: ReportPlan,
    figures: Figures | None,
    fmt: ExportFormat,
    language: str,
    path: Path,
) -> int:
    """Write the plan's file at `path`, the rows streamed from one snapshot; the number of
    detail rows."""
    t = translator(language)
    zone = ZoneInfo(plan.zone)
    writer: Writer = XlsxWriter(path) if fmt is ExportFormat.XLSX else CsvWriter(path)
    summary = writer.sheet(t(SUMMARY_TITLE), SUMMARY_COLUMNS, t)
    for values in summary_rows(
        t, place=plan.node_name, period=plan.period, zone=zone, made_at=plan.now, figures=figures
    ):
        summary.append(values)
    total = 0
    async with reports.reading(plan) as reader:
        for area in ReportArea:
            sheet = writer.sheet(t(AREA_TITLES[area]), columns(area, plan.contacts), t)
            cells = cells_of(area, t, zone, plan.contacts)
            async for batch in reader.rows(area):
                total += write_rows(sheet, batch, cells)
    writer.close()
    return total


def main() -> None:
    """The writer process: a `Job` as JSON on standard input, the rows written on output."""
    # A report can wait a moment; people using the bot cannot: on a busy machine the
    # scheduler gives the bot's process the CPU first.
    os.nice(10)
    print(write_apart(Job.model_validate_json(sys.stdin.buffer.read())))


if __name__ == "__main__":
    main()
