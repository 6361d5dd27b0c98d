"""Use cases and business rules, one module per feature. They know nothing of Telegram."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.services.admin import AdminService
from bot.services.broadcast import BroadcastService
from bot.services.digest import DigestService
from bot.services.membership import MembershipService
from bot.services.notify import LiveMessages, Notifier
from bot.services.passbook import PassbookService
from bot.services.passbook.quarter import QuarterService
from bot.services.patrol import PatrolService
from bot.services.patrol.findings import FindingsService
from bot.services.reminders import ReminderService
from bot.services.slots import SlotEngine
from bot.services.stats import StatsService
from bot.services.stats.reports import ReportsService
from bot.services.study import StudyService
from bot.services.suggestions import SuggestionsService
from bot.services.teams import TeamsService
from bot.services.twinning import TwinningService
from bot.services.users import UsersService
from bot.services.wishes import WishesService
from storage import org
from storage.store import Store


@dataclass
class Services:
    """Everything a handler may call, built once in `bot.app`."""

    settings: Settings
    store: Store
    clock: Clock
    # The community the settings name (COMMUNITY_NAME); its members' group is MEMBERS_GROUP_ID.
    default_community_id: int
    notifier: Notifier
    live: LiveMessages
    users: UsersService
    membership: MembershipService
    admin: AdminService
    reminders: ReminderService
    broadcasts: BroadcastService
    teams: TeamsService
    wishes: WishesService
    passbook: PassbookService
    quarters: QuarterService
    twinning: TwinningService
    patrol: PatrolService
    findings: FindingsService
    study: StudyService
    reports: ReportsService
    stats: StatsService
    suggestions: SuggestionsService
    digest: DigestService

    @classmethod
    async def build(cls, settings: Settings, store: Store, clock: Clock) -> Services:
        async with store.transaction() as conn:
            community_id = await org.ensure_default_community(
                conn, settings.district_name, settings.street_name, settings.community_name
            )
            await org.adopt_orphans(conn, community_id)
        users = UsersService(store, settings, clock, community_id)
        await users.appoint_configured_coordinators()
        notifier = Notifier(clock=clock)
        reminders = ReminderService(store, clock, notifier, settings)
        wishes = WishesService(store, settings, clock, community_id, notifier, reminders)
        wishes.register_reminders(reminders)
        findings = FindingsService(store, settings, clock, notifier, wishes)
        passbook = PassbookService(store, settings, clock, notifier)
        wishes.on_confirmed(passbook.credit_confirmed_wish)
        wishes.on_rated(passbook.credit_rated_wish)
        twinning = TwinningService(store, settings, clock, notifier, reminders, passbook)
        twinning.register_reminders(reminders)
        engine = SlotEngine(store, settings, clock)
        patrol = PatrolService(
            store,
            settings,
            clock,
            notifier,
            reminders,
            passbook,
            engine,
            group_community_id=community_id,
        )
        patrol.register_reminders(reminders)
        study = StudyService(store, settings, clock, notifier, reminders, passbook, engine)
        study.register_reminders(reminders)
        broadcasts = BroadcastService(store, clock, notifier, settings)
        stats = StatsService(store, settings, clock)
        # Its counts are the statistics'; it is sent as an announcement.
        digest = DigestService(store, settings, clock, notifier, broadcasts, stats)
        digest.register_reminders(reminders)
        return cls(
            settings=settings,
            store=store,
            clock=clock,
            default_community_id=community_id,
            notifier=notifier,
            live=LiveMessages(store, clock, notifier),
            users=users,
            membership=MembershipService(store, clock, notifier),
            admin=AdminService(store, clock, notifier),
            reminders=reminders,
            broadcasts=broadcasts,
            teams=TeamsService(store, clock),
            wishes=wishes,
            passbook=passbook,
            quarters=QuarterService(store, settings, clock, notifier),
            twinning=twinning,
            patrol=patrol,
            findings=findings,
            study=study,
            reports=ReportsService(store, settings, clock),
            stats=stats,
            suggestions=SuggestionsService(store, settings, clock, notifier),
            digest=digest,
        )
