"""Time-driven work on PTB's JobQueue: one repeating sweep over rows in the database.

Jobs are not persisted by PTB, so nothing lives only in the JobQueue: reminders and scheduled
broadcasts are rows; the sweep runs the due ones (and so survives restarts). The sweep gets a
generous misfire grace time and coalesces missed runs (APScheduler's 1 s default silently drops
a run that starts late). The outbox sender is started and stopped here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import Bot
from telegram.ext import Application

from bot.config import Settings
from bot.models import Notice
from bot.runtime.http import sender_request
from bot.runtime.outbox import OutboxSender
from bot.runtime.pacing import default_in_flight
from bot.services.notify import Notifier
from handlers.context import LinliApplication, LinliContext
from handlers.dialogue import forget_stale_drafts
from handlers.notices import render
from storage.lease import Lease, holds

log = logging.getLogger(__name__)

SWEEP_JOB = "linli-due-work"
SENDER_KEY = "linli.outbox_sender"
LEASE_KEY = "linli.lease"
SWEEP_KEY = "linli.sweep"
EXPAND_EVERY = timedelta(minutes=10)  # between expansions of recurring schedules


class Sweep:
    """One pass over due work: recurring schedules (every ten minutes), reminders, scheduled
    broadcasts, and the progress of running broadcasts (their live messages are edited through
    the outbox, so the edits are paced like every other message)."""

    def __init__(self) -> None:
        self.last_expand: datetime | None = None
        self.last_forget: datetime | None = None
        self.runs = 0

    async def __call__(self, context: LinliContext) -> None:
        lease = lease_of(context.application)
        if lease is not None and not lease.held:
            return  # another process of the deployment does the scheduled work
        services = context.services
        steps: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("reminders", services.reminders.run_due),
            ("scheduled broadcasts", services.broadcasts.start_due),
            ("progress", services.broadcasts.progress),
            ("abandoned drafts", lambda: self._forget_drafts(context)),
            ("WAL checkpoint", services.store.checkpoint),
        ]
        now = services.clock.now()  # the service clock: tests move it
        if self.last_expand is None or now - self.last_expand >= EXPAND_EVERY:
            self.last_expand = now
            steps.insert(0, ("recurring schedules", services.reminders.expand_recurring))
        for name, step in steps:
            try:
                await step()
            except Exception:  # one failing step must not stop the others
                log.exception("sweep step %r failed", name)
        self.runs += 1

    async def _forget_drafts(self, context: LinliContext) -> None:
        """Drafts of dialogues abandoned a day ago are emptied and saved so (every ten
        minutes: it looks at every user's data)."""
        now = context.services.clock.now()
        if self.last_forget is not None and now - self.last_forget < EXPAND_EVERY:
            return
        self.last_forget = now
        application = context.application
        emptied = forget_stale_drafts(application.user_data, now)
        if emptied:
            application.mark_data_for_update_persistence(user_ids=emptied)


def sender_bot(settings: Settings) -> Bot:
    """The sender's own Bot, its connection pool sized to its requests in flight."""
    return Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_api_file_url,
        request=sender_request(default_in_flight(settings.send_rate)),
    )


async def start_delivery(app: LinliApplication) -> None:
    """Start the outbox sender and the due-work sweep (a STARTUP hook)."""
    services = app.services
    settings = services.settings
    bot = sender_bot(settings)
    await bot.initialize()
    sender = OutboxSender(
        services.store,
        bot,
        services.clock,
        send_rate=settings.send_rate,
        render=partial(render, services),
        followed=services.live.followed,
        stale=partial(tell_stale, services.notifier),
    )
    services.notifier.wake = sender.wake
    app.bot_data[SENDER_KEY] = sender
    every = settings.failover_seconds / 3
    work = WorkLease(Lease(services.store.engine, patience=every), sender, every)
    app.bot_data[LEASE_KEY] = work
    await work.start()
    job_queue = app.job_queue
    if job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    job_queue.scheduler.configure(
        **{**job_queue.scheduler_configuration, "timezone": settings.zone}
    )
    sweep = Sweep()
    app.bot_data[SWEEP_KEY] = sweep
    job_queue.run_repeating(
        sweep,
        interval=settings.sweep_interval_seconds,
        first=0.0,
        name=SWEEP_JOB,
        job_kwargs={
            "misfire_grace_time": int(max(60, settings.sweep_interval_seconds * 10)),
            "coalesce": True,
            "max_instances": 1,
        },
    )


class WorkLease:
    """The sender and the sweep run in the process that holds the lease (storage/lease.py);
    the others try to take it every `every` seconds. The holder checks its lease as often and
    stops sending the moment it is lost; its claims are guarded by the lease meanwhile. One
    that takes over waits `every` seconds more before it settles what the old holder left in
    flight, so that one has noticed and stopped. Failover: within two `every` of the holder's
    death (FAILOVER_SECONDS is three)."""

    def __init__(self, lease: Lease, sender: OutboxSender, every: float) -> None:
        self.lease = lease
        self.sender = sender
        self.every = every
        # Receiving updates follows the lease too (set by bot.app.running).
        self.on_gain: Callable[[], Awaitable[None]] | None = None
        self.on_loss: Callable[[], Awaitable[None]] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def held(self) -> bool:
        return self.lease.held

    async def start(self) -> None:
        if await self._take():
            await self._start_sending()
        else:
            log.warning("another process sends and sweeps for this database; standing by")
        self._task = asyncio.create_task(self._keep(), name="linli-lease")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.sender.running:
            await self.sender.stop()
        await self.lease.release()

    async def _take(self) -> bool:
        try:
            return await self.lease.try_acquire()
        except Exception as error:  # the database is unreachable: try again later
            log.warning("could not ask for the lease: %r", error)
            return False

    async def _start_sending(self) -> None:
        pid = self.lease.pid
        self.sender.guard = None if pid is None else partial(holds, pid=pid)
        try:
            await self.sender.start()
        except Exception:
            log.exception("the sender could not start; giving the lease back to try again")
            await self.lease.release()

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self._check()
            except Exception:  # one bad check must not end the watch
                log.exception("checking the lease failed")

    async def _check(self) -> None:
        if self.lease.held:
            if not await self.lease.still_held():
                log.error("lost the lease on sending and scheduled work; stopping the sender")
                if self.sender.running:
                    await self.sender.stop()
                if self.on_loss is not None:
                    await self.on_loss()
            elif not self.sender.running:
                await self._start_sending()
        elif await self._take():
            log.warning("took over sending and scheduled work for this database")
            await asyncio.sleep(self.every)  # the old holder notices and stops meanwhile
            await self._start_sending()
            if self.lease.held and self.on_gain is not None:
                await self.on_gain()


async def tell_stale(
    notifier: Notifier, conn: AsyncConnection, notice: Notice, dedupe_key: str
) -> None:
    """A message went stale unsent and its kind wants coordinators told (once per key)."""
    await notifier.tell_coordinators(conn, notice, dedupe_prefix=dedupe_key)


async def stop_delivery(app: LinliApplication) -> None:
    """Stop sweeping, then stop the sender gracefully: rows in flight finish (SHUTDOWN hook)."""
    job_queue = app.job_queue
    if job_queue is not None:
        for job in job_queue.get_jobs_by_name(SWEEP_JOB):
            job.schedule_removal()
    sender = sender_of(app)
    work = lease_of(app)
    if sender is not None:
        app.services.notifier.wake = lambda: None
        if work is not None:
            await work.stop()
        elif sender.running:
            await sender.stop()
        await sender.bot.shutdown()


def lease_of(app: Application[Any, Any, Any, Any, Any, Any]) -> WorkLease | None:
    """The lease on sending and scheduled work (None before start_delivery ran)."""
    work = app.bot_data.get(LEASE_KEY)
    return work if isinstance(work, WorkLease) else None


def sender_of(app: LinliApplication) -> OutboxSender | None:
    """The running sender (tests and benchmarks read its stats)."""
    sender = app.bot_data.get(SENDER_KEY)
    return sender if isinstance(sender, OutboxSender) else None
