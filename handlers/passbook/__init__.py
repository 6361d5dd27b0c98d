"""/passbook (爱心储蓄存折) and /ranking for members, and the points section of /admin for
coordinators: the rules per kind of work, a member's passbook in their reach, adjusting points
with a written reason (points → reason → confirm) and correcting an entry (reason → confirm).

The confirm card carries the draft's token, and the service makes one adjustment per token:
a second press, or a press on an older card, changes nothing."""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import ClassVar

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc
from bot.models import N_, LedgerKind, Role, User
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.passbook import (
    ADJUST_MAX,
    RULE_MAX,
    RULED,
    BadPoints,
    ReasonRequired,
    check_adjustment,
    check_rule,
    clean_reason,
)
from handlers.buttons import StaleButton
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Next, dialogue, step
from handlers.passbook.buttons import (
    Adjust,
    ConfirmChange,
    Correct,
    DropChange,
    EditRule,
    FindMember,
    LookUp,
    OpenPassbook,
    PassbookPageButton,
    PointsMenu,
    ShowRanking,
)
from handlers.passbook.views import (
    RULE_LABELS,
    passbook_view,
    points_menu_view,
    points_text,
    ranking_text,
    rule_question,
)

Handlers = list[BaseHandler[Update, LinliContext, object]]
coordinator_step = step(Role.COORDINATOR)


class PointsDialogue(StrEnum):
    RULE = "rule"  # a rule's new points are typed
    FIND = "find"  # a member's name or id is typed
    POINTS = "points"  # an adjustment's points are typed
    REASON = "reason"  # the reason of an adjustment or correction is typed
    CONFIRM = "confirm"  # the confirm card is shown


class PointsDraft(DialogueDraft):
    KEY: ClassVar[str] = "points"
    kind: LedgerKind | None = None  # the rule being changed
    member_id: int | None = None
    member_name: str = ""
    points: int | None = None
    entry_id: int | None = None  # the entry being corrected (else: an adjustment)
    reason: str = ""
    token: str = ""  # names this one change: the service makes it once


def _number(text: str | None, low: int, high: int) -> int:
    """A typed whole number ("+5", "-3", "５"), refused as BadPoints otherwise."""
    try:
        return int((text or "").strip())
    except ValueError:
        raise BadPoints(low=low, high=high) from None


# --- members: the passbook and the ranking ---------------------------------------------------


async def _page(
    update: Update,
    context: LinliContext,
    user: User,
    t: Translate,
    member_id: int,
    before: int | None,
    *,
    edit: bool,
) -> None:
    """A page of a passbook: one's own, or a member's in a coordinator's reach (the service
    refuses anyone else's); `edit`: in place of the pressed message."""
    page = await context.services.passbook.passbook(user, member_id, before=before)
    await ack(update)
    zone = context.services.settings.zone
    text, rows = passbook_view(t, user, page, zone, first=before is None)
    await answer(update, text, rows, edit=edit)


@step()
async def my_passbook(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """/passbook (or the button under a notice): the newest page of one's own passbook."""
    await _page(update, context, user, t, user.id, None, edit=False)
    return None


@step()
async def turn_page(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = PassbookPageButton.of(update)
    await _page(update, context, user, t, pressed.member_id, pressed.before or None, edit=True)
    return None


@step()
async def show_ranking(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    if not (user.is_member or user.is_coordinator):
        raise NotAllowed()
    ranking = await context.services.passbook.ranking(user)
    await ack(update)
    await answer(update, ranking_text(t, ranking, viewer_ranked=user.is_member))
    return None


# --- coordinators: the points section --------------------------------------------------------


async def _points_menu(update: Update, context: LinliContext, user: User, t: Translate) -> None:
    passbook = context.services.passbook
    rules = await passbook.rules(user, context.working_community)
    ranking = await passbook.ranking(user, context.working_community)
    await ack(update)
    text, rows = points_menu_view(t, rules, ranking)
    await answer(update, text, rows, edit=update.callback_query is not None)


@coordinator_step
async def points_menu(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await _points_menu(update, context, user, t)
    return END


@coordinator_step
async def look_up(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await _page(update, context, user, t, LookUp.of(update).member_id, None, edit=True)
    return END


@coordinator_step
async def edit_rule(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    kind = EditRule.of(update).kind
    if kind not in RULED:
        raise StaleButton()
    rules = await context.services.passbook.rules(user, context.working_community)
    await ack(update)
    PointsDraft(kind=kind).save(context)
    await answer(update, rule_question(t, kind, rules[kind]))
    return PointsDialogue.RULE


@coordinator_step
async def typed_rule(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    kind = PointsDraft.load(context).kind
    if kind is None:
        raise StaleButton()
    points = check_rule(_number(update.message.text, 0, RULE_MAX))
    await context.services.passbook.set_rule(user, kind, points, context.working_community)
    await answer(
        update,
        t("Saved: {label}, {points} points from now on.").format(
            label=t(RULE_LABELS[kind]), points=points
        ),
    )
    await _points_menu(update, context, user, t)
    return END


@coordinator_step
async def find_member(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("Type the member's name (or part of it) or their Telegram id."))
    return PointsDialogue.FIND


@coordinator_step
async def typed_find(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    found = await context.services.passbook.find_members(user, update.message.text or "")
    if not found:
        await answer(update, t("No member matches that. Please try another part of the name."))
        return PointsDialogue.FIND
    rows = [[(f"{m.display_name} ({m.id})", LookUp(member_id=m.id).pack())] for m in found]
    rows.append([(t("« Points"), PointsMenu().pack())])
    await answer(update, t("Whose passbook?"), rows)
    return END


# --- adjusting and correcting ----------------------------------------------------------------


@coordinator_step
async def adjust(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    member_id = Adjust.of(update).member_id
    page = await context.services.passbook.passbook(user, member_id)  # in reach
    if page.member.id == user.id:
        raise NotAllowed()  # nobody adjusts their own passbook
    await ack(update)
    name = page.member.display_name
    PointsDraft(member_id=member_id, member_name=name, token=secrets.token_hex(8)).save(context)
    await answer(
        update,
        t(
            "How many points for {name}? Type a number: 5 adds points, -5 takes them away "
            "(at most {high} either way)."
        ).format(name=esc(name), high=ADJUST_MAX),
    )
    return PointsDialogue.POINTS


@coordinator_step
async def typed_points(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    assert update.message is not None
    draft = PointsDraft.load(context)
    if draft.member_id is None:
        raise StaleButton()
    points = check_adjustment(_number(update.message.text, -ADJUST_MAX, ADJUST_MAX))
    PointsDraft.change(context, points=points)
    await answer(
        update,
        t("Why? Please write the reason; {name} will read it.").format(
            name=esc(draft.member_name)
        ),
    )
    return PointsDialogue.REASON


@coordinator_step
async def correct(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    entry = await context.services.passbook.entry(user, Correct.of(update).entry_id)
    if entry.member_id == user.id:
        raise NotAllowed()
    member = await context.services.users.get(entry.member_id)
    await ack(update)
    name = member.display_name if member is not None else str(entry.member_id)
    PointsDraft(
        member_id=entry.member_id,
        member_name=name,
        entry_id=entry.id,
        points=-entry.points,
        token=secrets.token_hex(8),
    ).save(context)
    await answer(
        update,
        t(
            "Why should entry {entry} ({points} points) be undone? Please write the reason; "
            "{name} will read it."
        ).format(entry=entry.id, points=points_text(entry.points), name=esc(name)),
    )
    return PointsDialogue.REASON


@coordinator_step
async def typed_reason(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    message = update.message
    draft = PointsDraft.load(context)
    if draft.member_id is None or draft.points is None:
        raise StaleButton()
    reason = clean_reason(message.text if message is not None else None)
    PointsDraft.change(context, reason=reason)
    name, points = esc(draft.member_name), points_text(draft.points)
    lines = [t("<b>Please check</b>")]
    if draft.entry_id is not None:
        lines.append(
            t("Undo entry {entry} of {name}: {points} points").format(
                entry=draft.entry_id, name=name, points=points
            )
        )
    else:
        lines.append(t("{name}: {points} points").format(name=name, points=points))
    lines.append(t("Reason: {reason}").format(reason=esc(reason)))
    rows = [
        [
            (t("✅ Confirm"), ConfirmChange(token=draft.token).pack()),
            (t("✖️ Cancel"), DropChange().pack()),
        ]
    ]
    await answer(update, "\n".join(lines), rows)
    return PointsDialogue.CONFIRM


@coordinator_step
async def no_number(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """A voice note, photo or sticker where a number is asked."""
    if PointsDraft.load(context).kind is not None:
        raise BadPoints(low=0, high=RULE_MAX)
    raise BadPoints(low=-ADJUST_MAX, high=ADJUST_MAX)


@coordinator_step
async def no_name(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    raise InvalidInput(N_("Please type part of a name, or a Telegram user id."))


@coordinator_step
async def no_reason(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """A voice note, photo or sticker where the reason is asked: it must be written."""
    raise ReasonRequired()


@coordinator_step
async def confirm_change(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    draft = PointsDraft.load(context)
    if (
        not draft.token
        or ConfirmChange.of(update).token != draft.token
        or draft.member_id is None
        or draft.points is None
    ):
        raise StaleButton()  # a card of an earlier change
    passbook = context.services.passbook
    if draft.entry_id is not None:
        await passbook.correct(user, draft.entry_id, draft.reason)
    else:
        await passbook.adjust(user, draft.member_id, draft.points, draft.reason, token=draft.token)
    await ack(update, t("Saved."))
    await answer(
        update,
        t("Saved. {name} has been told, with the reason.").format(name=esc(draft.member_name)),
        edit=True,
    )
    # The passbook as it is now, in a message of its own below the saved card.
    page = await passbook.passbook(user, draft.member_id)
    text, rows = passbook_view(t, user, page, context.services.settings.zone, first=True)
    await answer(update, text, rows)
    return END


@coordinator_step
async def drop_change(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    await ack(update)
    await answer(update, t("Cancelled. Nothing was changed."), edit=True)
    return END


def handlers() -> Handlers:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    not_text = ~filters.TEXT & ~filters.COMMAND & private
    drop = CallbackQueryHandler(drop_change, pattern=DropChange.pattern())
    conversation = dialogue(
        "points",
        entry_points=[
            CallbackQueryHandler(edit_rule, pattern=EditRule.pattern()),
            CallbackQueryHandler(find_member, pattern=FindMember.pattern()),
            CallbackQueryHandler(adjust, pattern=Adjust.pattern()),
            CallbackQueryHandler(correct, pattern=Correct.pattern()),
        ],
        states={
            PointsDialogue.RULE: [
                MessageHandler(text, typed_rule),
                MessageHandler(not_text, no_number),
            ],
            PointsDialogue.FIND: [
                MessageHandler(text, typed_find),
                MessageHandler(not_text, no_name),
            ],
            PointsDialogue.POINTS: [
                MessageHandler(text, typed_points),
                MessageHandler(not_text, no_number),
                drop,
            ],
            PointsDialogue.REASON: [
                MessageHandler(text, typed_reason),
                MessageHandler(not_text, no_reason),
                drop,
            ],
            PointsDialogue.CONFIRM: [
                CallbackQueryHandler(confirm_change, pattern=ConfirmChange.pattern()),
                drop,
            ],
        },
        drafts=[PointsDraft],
    )
    return [
        conversation,
        CommandHandler("passbook", my_passbook, filters=private),
        CommandHandler("ranking", show_ranking, filters=private),
        CallbackQueryHandler(turn_page, pattern=PassbookPageButton.pattern()),
        CallbackQueryHandler(my_passbook, pattern=OpenPassbook.pattern()),
        CallbackQueryHandler(show_ranking, pattern=ShowRanking.pattern()),
        CallbackQueryHandler(points_menu, pattern=PointsMenu.pattern()),
        CallbackQueryHandler(look_up, pattern=LookUp.pattern()),
    ]
