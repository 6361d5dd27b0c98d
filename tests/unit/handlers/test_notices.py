"""Every notice a service can record has a view, renders in both languages as HTML that
Telegram accepts, shows people's words escaped, and carries only buttons the bot handles."""

from __future__ import annotations

import typing
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import pytest

import bot.app
from bot.i18n import LANGUAGES, translator
from bot.models import (
    Cadence,
    LedgerEntry,
    LedgerKind,
    LiveMessage,
    Notice,
    OutboxStatus,
    Pair,
    Role,
    SignupStatus,
    StudySession,
    User,
    Wish,
    WishCategory,
    WishStatus,
)
from bot.services import Services
from bot.services.broadcast import DeliveryReport
from bot.services.notify import RefreshLive, RetireLive, ShowLive
from bot.services.passbook.quarter import Flag, FlagKind, Placed
from bot.services.patrol import PatrolNotice
from bot.services.study import SessionDraft, StudyNotice
from bot.services.twinning import HouseholdDraft
from handlers import notices
from handlers.broadcast.views import report_text
from handlers.buttons import REGISTRY
from storage import slots as slots_repo
from storage import users as users_repo
from tests.conftest import COORDINATOR_ID, DAYTIME, RegisterUser
from tests.support.fake_bot_api import parse_html

HOSTILE = "<b>王 & Co</b>"
# Rendered by live views (tested end to end in tests/e2e/test_live_messages.py).
SKIPPED = {ShowLive.KIND, RefreshLive.KIND, RetireLive.KIND}


def sample_wish(**changes: Any) -> Wish:
    values: dict[str, Any] = {
        "id": 7,
        "community_id": 1,
        "building_id": 1,
        "posted_by": 1,
        "category": WishCategory.REPAIRS,
        "text": HOSTILE + "\n第二行",
        "status": WishStatus.CLAIMED,
        "created_at": DAYTIME,
        "needed_by": DAYTIME,
        "claimed_by": 10,
        "claimer_name": HOSTILE,
        "poster_name": HOSTILE,
        "building_name": HOSTILE,
        "done_note": HOSTILE,
        "done_photo_file_id": "PHOTO",
    }
    values.update(changes)
    return Wish(**values)


def sample(kind: type[Notice], broadcast_id: int) -> Notice:
    """A notice of `kind` whose every text field is hostile HTML."""
    values: dict[str, Any] = {}
    hints = typing.get_type_hints(kind)
    for name in kind.model_fields:
        hint = hints[name]
        if hint is Wish:
            values[name] = sample_wish()
        elif hint is LedgerEntry:  # a passbook entry, its reason hostile
            values[name] = LedgerEntry(
                id=5,
                community_id=1,
                member_id=10,
                kind=LedgerKind.ADJUSTMENT,
                ref="adjust:x",
                points=-3,
                quarter="2026Q4",
                reason=HOSTILE,
                granted_by=COORDINATOR_ID,
                created_at=DAYTIME,
            )
        elif hint is DeliveryReport:
            values[name] = DeliveryReport(
                total=5, delivered=2, blocked=1, failed=1, pending=0, cancelled=1
            )
        elif name == "broadcast_id":
            values[name] = broadcast_id
        elif name == "text":  # a reminder's message id
            values[name] = "Your patrol shift at {post} starts soon."
        elif name == "values":
            values[name] = {"post": HOSTILE}
        elif name == "quarter":  # made by the bot ("2026Q4"), never typed by anyone
            values[name] = "2026Q4"
        elif hint == tuple[Placed, ...]:  # a closed quarter's top members
            values[name] = (Placed(place=1, member_id=3, name=HOSTILE, building=HOSTILE, total=9),)
        elif hint == tuple[Flag, ...]:  # and what to check, one of each kind
            values[name] = tuple(
                Flag(
                    kind=k, person_id=3, person=HOSTILE, count=3, others=(HOSTILE,), since=DAYTIME
                )
                for k in FlagKind
            )
        elif hint is int or hint == int | None:
            values[name] = 3
        elif hint == datetime | None or hint is datetime:
            values[name] = DAYTIME
        elif hint is bool:
            values[name] = False
        elif hint == list[str]:  # names of people
            values[name] = [HOSTILE, HOSTILE]
        elif isinstance(hint, type) and issubclass(hint, StrEnum):  # e.g. a reminder's stage
            values[name] = next(iter(hint))
        elif hint == date | None:  # a reminder's anchor day: set from a real pair
            values[name] = None
        elif hint is date:  # a digest's month
            values[name] = date(2026, 11, 1)
        else:
            values[name] = HOSTILE
    return kind(**values)


async def a_pair(services: Services, register: RegisterUser, coordinator: User) -> Pair:
    """A member twinned with a household, as the twinning notices name."""
    building = await services.admin.add_building(
        coordinator, "3号楼", services.default_community_id
    )
    await register(200, "王党员")
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, 200, Role.MEMBER, None, DAYTIME)
    household = await services.twinning.register_household(
        coordinator, HouseholdDraft(name="张奶奶家", building_id=building.id, consent=True)
    )
    return await services.twinning.pair(coordinator, 200, household.id, Cadence.WEEKLY)


async def on_a_shift(
    services: Services, register: RegisterUser, coordinator: User, notice: PatrolNotice
) -> PatrolNotice:
    """The notice about a real shift tomorrow: member 200 on it, offering it to others and
    asking to be let off, as the patrol notices name."""
    building = await services.admin.add_building(
        coordinator, "9号楼", services.default_community_id
    )
    await register(200, "王党员")
    async with services.store.transaction() as conn:
        await users_repo.grant_role(conn, 200, Role.MEMBER, None, DAYTIME)
    member = await services.users.require(200)
    patrol = services.patrol
    post = await patrol.create_post(
        coordinator, name="东门", area=None, building_ids=[building.id]
    )
    day = DAYTIME.astimezone(services.settings.zone).date() + timedelta(days=1)
    (shift,) = await patrol.define_shifts(
        coordinator, post.id, day=day, start=time(19), end=time(21), capacity=2
    )
    await patrol.take(member, shift.slot.id)
    swap, _ = await patrol.offer_swap(member, shift.slot.id)
    async with services.store.transaction() as conn:
        await slots_repo.set_signup_status(
            conn,
            shift.slot.id,
            200,
            from_=[SignupStatus.GOING],
            to=SignupStatus.LEAVING,
            reason=None,
            now=DAYTIME,
        )
    changes = {"slot_id": shift.slot.id, "user_id": 200, "member_id": 200, "swap_id": swap.id}
    fields = type(notice).model_fields
    return notice.model_copy(update={k: v for k, v in changes.items() if k in fields})


async def a_session(services: Services, coordinator: User) -> StudySession:
    """A study session with hostile words, as the study notices name."""
    start = services.clock.now() + timedelta(days=2)
    (session,) = await services.study.schedule(
        coordinator,
        SessionDraft(
            title=HOSTILE,
            topic=HOSTILE,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            place=HOSTILE,
            material_file_id="DOC",
            material_name=HOSTILE,
        ),
    )
    return session


def test_every_notice_kind_has_a_view() -> None:
    notices.require_views(bot.app.VIEWS)
    assert set(Notice.TYPES) - SKIPPED <= set(notices.NOTICE_VIEWS)
    assert len(notices.NOTICE_VIEWS) >= 15


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(set(Notice.TYPES) - SKIPPED))
async def test_each_notice_renders_as_valid_html_with_words_escaped(
    services: Services, register: RegisterUser, kind: str, language: str
) -> None:
    await register(COORDINATOR_ID, "Li")
    coordinator = await services.users.require(COORDINATOR_ID)
    draft = await services.broadcasts.create_draft(coordinator, text="停水 &lt;通知&gt;")
    notice = sample(Notice.TYPES[kind], draft.broadcast.id)
    if "pair_id" in type(notice).model_fields:  # a reminder of a pair gone is not shown
        pair = await a_pair(services, register, coordinator)
        changes: dict[str, object] = {"pair_id": pair.id}
        if "anchor" in type(notice).model_fields:
            changes["anchor"] = services.twinning.anchor(pair)
        notice = notice.model_copy(update=changes)
    if isinstance(notice, PatrolNotice):  # a notice of a shift moved on is not shown
        notice = await on_a_shift(services, register, coordinator, notice)
    elif isinstance(notice, StudyNotice):  # a notice of a session gone is not shown
        session = await a_session(services, coordinator)
        notice = notice.model_copy(update={"slot_id": session.slot.id})

    shown = await notices.render_notice(services, notice, language)

    assert shown is not None
    visible, _ = parse_html(shown.text)  # raises on HTML Telegram would refuse
    assert "{" not in visible, visible  # every placeholder was filled
    if "王 & Co" in visible:  # people's words are shown as they typed them, tags and all
        assert HOSTILE in visible
    for row in shown.buttons:
        for _label, data in row:
            assert any(b.pattern().match(data) for b in REGISTRY.values()), data


async def test_a_live_card_is_rendered_for_its_viewer_only(
    services: Services, register: RegisterUser
) -> None:
    resident: User = await register(1, "Wang", language="en", room="3-201", phone="13800000001")
    from bot.services.wishes import WishDraft

    wish = await services.wishes.post(resident, WishDraft(category=WishCategory.REPAIRS, text="x"))
    live = LiveMessage(
        id=1,
        key=f"wish:{wish.id}:card:1",
        thing=f"wish:{wish.id}",
        view="wish.card",
        chat_id=1,
        message_id=5,
        outbox_id=None,
        viewer_id=1,
        language="en",
    )
    shown = await notices.LIVE_VIEWS["wish.card"](live, notices.ViewEnv(services, "en"))
    assert shown is not None and "Cancel this wish" in str(shown.buttons)
    assert "13800000001" not in shown.text  # the poster's card has no contact block
    stranger = live.model_copy(update={"viewer_id": 999})
    stub = await notices.LIVE_VIEWS["wish.card"](stranger, notices.ViewEnv(services, "en"))
    assert stub is not None and "no longer kept up to date" in stub.text  # nothing of the wish


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh", "Telegram 未确认的（发出后连接中断，多半已送达）：3"),
        ("en", "not confirmed by Telegram"),
    ],
)
def test_the_delivery_report_says_how_many_were_not_confirmed(language: str, words: str) -> None:
    counts = {status: 0 for status in OutboxStatus}
    counts[OutboxStatus.SENT] = 10
    report = DeliveryReport.from_counts(counts, unconfirmed=3)
    text = report_text(translator(language), report)
    assert words in text
    assert "未确认" not in report_text(translator("zh"), DeliveryReport.from_counts(counts))


@pytest.mark.parametrize("language", LANGUAGES)
async def test_an_anonymous_suggestions_notice_to_coordinators_names_nobody(
    services: Services, language: str
) -> None:
    from bot.models import SuggestionTopic
    from bot.services.suggestions import SuggestionReceived

    notice = SuggestionReceived(
        suggestion_id=4,
        community_id=1,
        community_name="北气象巷社区",
        topic=SuggestionTopic.SAFETY,
        words=HOSTILE,
        photo=True,
    )
    shown = await notices.render_notice(services, notice, language)
    assert shown is not None
    visible, _ = parse_html(shown.text)
    assert HOSTILE in visible and ("匿名" in visible or "anonymous" in visible)
    assert [[data for _, data in row] for row in shown.buttons] == [["sg:open:4"]]
