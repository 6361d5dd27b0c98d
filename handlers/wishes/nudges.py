"""How the nudges on stuck wishes and the coordinators' actions on them read when the outbox
sends them, in the recipient's language."""

from __future__ import annotations

from bot.i18n import esc, format_local
from bot.services.wishes import taken_by
from bot.services.wishes.notices import (
    ConfirmNudge,
    UnconfirmedToCoordinators,
    WishCancelledForHelper,
    WishCancelledForOwner,
    WishHandedToYou,
    WishOverdue,
    WishReopenedForOwner,
    WishTakenFromYou,
)
from handlers.notices import Shown, ViewEnv, notice_view
from handlers.wishes.buttons import GiveBack, ReportDone
from handlers.wishes.views import card_button, confirm_rows, who_for, wish_title


@notice_view(WishOverdue)
async def overdue(notice: WishOverdue, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    needed_by = wish.needed_by or wish.created_at  # set: only dated claims are reminded
    when = format_local(needed_by, env.language, env.services.settings.zone)
    return Shown(
        t(
            "⏰ Wish #{id} ({title}) was needed by {when} and is not reported done yet. "
            "If it is done, please press “Report done”; if you cannot do it, please give it "
            "back so someone else can help."
        ).format(id=wish.id, title=esc(wish_title(wish, t)), when=when),
        (
            ((t("Report done"), ReportDone(wish_id=wish.id).pack()),),
            ((t("Give it back"), GiveBack(wish_id=wish.id).pack()),),
            (card_button(t, wish.id),),
        ),
    )


@notice_view(ConfirmNudge)
async def confirm_nudge(notice: ConfirmNudge, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    return Shown(
        t(
            "{name} said your wish #{id} ({title}) was done. Is it? Please tell us with a "
            "button below (or later in “📋 My wishes”)."
        ).format(name=esc(taken_by(wish)), id=wish.id, title=esc(wish_title(wish, t))),
        confirm_rows(t, wish.id),
    )


@notice_view(UnconfirmedToCoordinators)
async def unconfirmed(notice: UnconfirmedToCoordinators, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    return Shown(
        t(
            "Wish #{id} in {place} ({title}) was reported done by {helper} {days} days ago, "
            "and {name} has not confirmed it although we asked twice. Please check with them."
        ).format(
            id=wish.id,
            place=esc(wish.building_name or t("our community")),
            title=esc(wish_title(wish, t)),
            helper=esc(taken_by(wish)),
            days=notice.days,
            name=esc(who_for(wish)),
        ),
        ((card_button(t, wish.id),),),
    )


@notice_view(WishCancelledForOwner)
async def cancelled_for_owner(notice: WishCancelledForOwner, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    text = t("Your wish #{id} ({title}) was cancelled by the community staff.").format(
        id=wish.id, title=esc(wish_title(wish, t))
    )
    if notice.reason:
        text += "\n" + t("The reason: {reason}").format(reason=esc(notice.reason))
    return Shown(text)


@notice_view(WishCancelledForHelper)
async def cancelled_for_helper(notice: WishCancelledForHelper, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    text = t(
        "Wish #{id} ({title}), which you had taken on, was cancelled by the community staff. "
        "There is nothing more to do for it."
    ).format(id=wish.id, title=esc(wish_title(wish, t)))
    if notice.reason:
        text += "\n" + t("The reason: {reason}").format(reason=esc(notice.reason))
    return Shown(text)


@notice_view(WishHandedToYou)
async def handed_to_you(notice: WishHandedToYou, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    return Shown(
        t(
            "{coordinator} has given you wish #{id} ({title}). Please open it for the "
            "details and get in touch soon; it is in “🧰 My tasks”."
        ).format(coordinator=esc(notice.coordinator), id=wish.id, title=esc(wish_title(wish, t))),
        ((card_button(t, wish.id),),),
    )


@notice_view(WishTakenFromYou)
async def taken_from_you(notice: WishTakenFromYou, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    values = {
        "coordinator": esc(notice.coordinator),
        "id": wish.id,
        "title": esc(wish_title(wish, t)),
        "name": esc(notice.to),
    }
    if notice.to:
        text = t(
            "{coordinator} has handed wish #{id} ({title}) to {name}. You need do nothing "
            "more for it. Thank you!"
        )
    else:
        text = t(
            "{coordinator} has put wish #{id} ({title}) back among the open wishes. You need "
            "do nothing more for it. Thank you!"
        )
    return Shown(text.format(**values))


@notice_view(WishReopenedForOwner)
async def reopened_for_owner(notice: WishReopenedForOwner, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    return Shown(
        t(
            "The community staff have opened your wish #{id} ({title}) again, and we are "
            "looking for another helper."
        ).format(id=wish.id, title=esc(wish_title(wish, t)))
    )
