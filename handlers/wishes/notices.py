"""How each wish notice reads when the outbox sends it, in the recipient's language."""

from __future__ import annotations

from bot.i18n import esc
from bot.models import AtDoor, Visitor, Wish
from bot.services.errors import LinliError
from bot.services.wishes import taken_by
from bot.services.wishes.notices import (
    HandshakeLocked,
    HelperAddedForYou,
    PutOnWish,
    TeamWishTaken,
    UrgentAlertUndelivered,
    UrgentEscalated,
    UrgentEscalatedToOwner,
    WishConfirmed,
    WishConfirmedByCode,
    WishExpired,
    WishGivenBack,
    WishNotDone,
    WishOffered,
    WishRated,
    WishReportedDone,
    WishTakenForYou,
    WishThanked,
)
from handlers.notices import Shown, ViewEnv, notice_view
from handlers.wishes.buttons import (
    ClaimWish,
    KeepClosed,
    MyTasks,
    ReportDone,
    RepostWish,
    WriteThanks,
)
from handlers.wishes.views import (
    card_button,
    code_line,
    confirm_rows,
    door_lines,
    offer_text,
    preview_rows,
    stars_row,
    who_for,
    wish_title,
)


@notice_view(WishOffered)
async def offered(notice: WishOffered, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    buttons = (
        [(t("I will help"), ClaimWish(wish_id=wish.id).pack()), card_button(t, wish.id)],
        *preview_rows(t, wish),
    )
    return Shown(offer_text(env, wish), buttons)


async def _door_now(env: ViewEnv, wish: Wish) -> AtDoor | None:
    """Who is coming, read as the notice leaves (a helper who turned sharing off since is not
    shown with a phone), for the one the notice goes to: whoever posted the wish."""
    poster = await env.services.users.get(wish.posted_by)
    if poster is None:
        return None
    try:
        return await env.services.wishes.at_door(poster, wish.id)
    except LinliError:
        return None


@notice_view(WishTakenForYou)
async def taken(notice: WishTakenForYou, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    lines = [
        t(
            "Good news: {name} will help with your wish #{id} ({title}). "
            "They will get in touch with you."
        ).format(name=esc(taken_by(wish)), id=wish.id, title=esc(wish_title(wish, t)))
    ]
    door = await _door_now(env, wish)
    if door is None or not door.visitors or door.visitors[0].user_id != wish.claimed_by:
        # Given back (or taken by someone else) before this left: who was coming then, and
        # no phone (the one shown would not be theirs to show any more).
        door = AtDoor(
            wish_id=wish.id,
            visitors=(Visitor(user_id=wish.claimed_by or 0, name=wish.claimer_name or "?"),),
            team_name=wish.team_name,
            leader_name=notice.leader,
        )
    lines += ["", *door_lines(t, wish, door)]
    code = await _code_now(env, wish)
    if code is not None:
        lines.append(code_line(t, code))
    return Shown("\n".join(lines))


async def _code_now(env: ViewEnv, wish: Wish) -> str | None:
    """The handshake code as the notice leaves, for the resident it goes to (this notice goes
    to whoever posted the wish alone; a proxy wish has none): only while the wish is still in
    the hands the notice names, so a notice late after a hand-over shows no stale code."""
    poster = await env.services.users.get(wish.posted_by)
    if poster is None:
        return None
    try:
        return await env.services.wishes.handshake_code(
            poster, wish.id, claimed_by=wish.claimed_by
        )
    except LinliError:
        return None


@notice_view(WishConfirmedByCode)
async def confirmed_by_code(notice: WishConfirmedByCode, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    text = t(
        "🎉 Your wish #{id} ({title}) is done: {name} gave us the confirmation code you told "
        "them. How would you rate the help?"
    ).format(id=wish.id, title=esc(wish_title(wish, t)), name=esc(taken_by(wish)))
    rows = [stars_row(wish.id), [(t("Write a thank-you"), WriteThanks(wish_id=wish.id).pack())]]
    return Shown(text, rows)


@notice_view(HandshakeLocked)
async def handshake_locked(notice: HandshakeLocked, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    return Shown(
        t(
            "⚠️ Wish #{id} in {place} ({title}): {member} typed a wrong confirmation code "
            "{tries} times, so the code no longer works. {name} can still confirm it "
            "themself. Please check with them."
        ).format(
            id=wish.id,
            place=esc(wish.building_name or t("our community")),
            title=esc(wish_title(wish, t)),
            member=esc(notice.member),
            tries=notice.tries,
            name=esc(who_for(wish)),
        ),
        ((card_button(t, wish.id),),),
    )


@notice_view(HelperAddedForYou)
async def helper_added(notice: HelperAddedForYou, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    now = await _door_now(env, wish)
    found = [v for v in now.visitors if v.user_id == notice.helper_id] if now else []
    door = AtDoor(
        wish_id=wish.id,
        visitors=tuple(found) or (Visitor(user_id=notice.helper_id, name=notice.helper),),
        team_name=notice.team,
        leader_name=now.leader_name if now is not None else None,
    )
    head = t("{name} of the service team {team} will also help with your wish #{id}.").format(
        name=esc(notice.helper), team=esc(notice.team), id=wish.id
    )
    return Shown("\n".join([head, "", *door_lines(t, wish, door)]))


@notice_view(TeamWishTaken)
async def team_taken(notice: TeamWishTaken, env: ViewEnv) -> Shown:
    t = env.t
    return Shown(
        t(
            "{name} took on wish #{id} for {team}. Please choose who takes part in /mytasks."
        ).format(name=esc(notice.member), id=notice.wish.id, team=esc(notice.team)),
        (((t("My tasks"), MyTasks().pack()),),),
    )


@notice_view(PutOnWish)
async def put_on(notice: PutOnWish, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    return Shown(
        t(
            "{leader} put you on wish #{id} ({title}) with {team}. "
            "{claimer} has the contact details and will tell you more."
        ).format(
            leader=esc(notice.leader),
            id=wish.id,
            title=esc(wish_title(wish, t)),
            team=esc(notice.team),
            claimer=esc(wish.claimer_name or ""),
        )
    )


@notice_view(WishGivenBack)
async def given_back(notice: WishGivenBack, env: ViewEnv) -> Shown:
    t = env.t
    name, wish_id = esc(notice.helper), notice.wish.id
    if notice.voice_file_id is None:
        return Shown(
            t(
                "{name} cannot help with your wish #{id} after all ({reason}). It is open "
                "again and we are looking for another helper."
            ).format(name=name, id=wish_id, reason=esc(notice.reason))
        )
    lines = [
        t(
            "🎤 {name} cannot help with your wish #{id} after all, and says why in this voice "
            "note. It is open again and we are looking for another helper."
        ).format(name=name, id=wish_id)
    ]
    if notice.reason:
        lines.append(f"«{esc(notice.reason)}»")
    return Shown("\n".join(lines), voice_file_id=notice.voice_file_id)


@notice_view(WishReportedDone)
async def reported_done(notice: WishReportedDone, env: ViewEnv) -> Shown | None:
    t, wish = env.t, notice.wish
    if not await env.services.wishes.awaits_confirmation(wish):
        return None  # confirmed meanwhile (by the handshake code, say): nothing to ask
    lines = [
        t("{name} says your wish #{id} ({title}) is done.").format(
            name=esc(taken_by(wish)), id=wish.id, title=esc(wish_title(wish, t))
        )
    ]
    if wish.done_note:
        lines.append(t("Their note: {note}").format(note=esc(wish.done_note)))
    if wish.done_voice_file_id:
        lines.append(t("🎤 This voice note is their report."))
    lines.append(t("Is it done? Please tell us."))
    return Shown(
        "\n".join(lines),
        confirm_rows(t, wish.id),
        photo_file_id=wish.done_photo_file_id,
        voice_file_id=wish.done_voice_file_id,
    )


@notice_view(WishConfirmed)
async def confirmed(notice: WishConfirmed, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    return Shown(
        t("🎉 {name} confirmed that wish #{id} ({title}) is done. Thank you!").format(
            name=esc(who_for(wish)), id=wish.id, title=esc(wish_title(wish, t))
        )
    )


@notice_view(WishNotDone)
async def not_done(notice: WishNotDone, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    buttons = (((t("Report done"), ReportDone(wish_id=wish.id).pack()),),)
    name, title = esc(who_for(wish)), esc(wish_title(wish, t))
    if notice.voice_file_id is None:
        return Shown(
            t(
                "{name} says wish #{id} ({title}) is not done yet:\n«{words}»\n"
                "Please have another look, then report it done again."
            ).format(name=name, id=wish.id, title=title, words=esc(notice.words)),
            buttons,
        )
    lines = [
        t("🎤 {name} says wish #{id} ({title}) is not done yet, in this voice note.").format(
            name=name, id=wish.id, title=title
        )
    ]
    if notice.words:
        lines.append(f"«{esc(notice.words)}»")
    lines.append(t("Please have another look, then report it done again."))
    return Shown("\n".join(lines), buttons, voice_file_id=notice.voice_file_id)


@notice_view(WishRated)
async def rated(notice: WishRated, env: ViewEnv) -> Shown:
    stars = notice.stars
    return Shown(
        env.t("{name} gave your help with wish #{id} {stars}").format(
            name=esc(who_for(notice.wish)),
            id=notice.wish.id,
            stars="★" * stars + "☆" * (5 - stars),
        )
    )


@notice_view(WishThanked)
async def thanked(notice: WishThanked, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    name = esc(who_for(wish))
    if wish.thanks_voice_file_id is None:
        return Shown(
            t("💌 A thank-you from {name} for wish #{id}:\n«{words}»").format(
                name=name, id=wish.id, words=esc(notice.words)
            )
        )
    lines = [
        t("💌 A thank-you from {name} for wish #{id}, in this voice note.").format(
            name=name, id=wish.id
        )
    ]
    if notice.words:
        lines.append(f"«{esc(notice.words)}»")
    return Shown("\n".join(lines), voice_file_id=wish.thanks_voice_file_id)


@notice_view(UrgentAlertUndelivered)
async def alert_undelivered(notice: UrgentAlertUndelivered, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    return Shown(
        t(
            "⚠️ The alert for urgent request #{id} in {place} could not reach every member in "
            "time (Telegram or the network failed). Please make sure someone is helping: {title}"
        ).format(
            id=wish.id,
            place=esc(wish.building_name or t("our community")),
            title=esc(wish_title(wish, t)),
        ),
        ((card_button(t, wish.id),),),
    )


@notice_view(UrgentEscalated)
async def escalated(notice: UrgentEscalated, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    return Shown(
        t(
            "🆘 Urgent request #{id} in {place} has waited {minutes} minutes and nobody has "
            "taken it yet: {title}"
        ).format(
            id=wish.id,
            place=esc(wish.building_name or t("our community")),
            minutes=notice.minutes,
            title=esc(wish_title(wish, t)),
        ),
        ((card_button(t, wish.id),),),
    )


@notice_view(UrgentEscalatedToOwner)
async def escalated_to_owner(notice: UrgentEscalatedToOwner, env: ViewEnv) -> Shown:
    return Shown(
        env.t(
            "Nobody has taken your urgent request #{id} yet, so we have asked the "
            "coordinators to help."
        ).format(id=notice.wish.id)
    )


@notice_view(WishExpired)
async def expired(notice: WishExpired, env: ViewEnv) -> Shown:
    t, wish = env.t, notice.wish
    return Shown(
        t(
            "Nobody could take your wish #{id} ({title}) in time, so it has been closed. "
            "Would you like to post it again?"
        ).format(id=wish.id, title=esc(wish_title(wish, t))),
        (
            ((t("Post it again"), RepostWish(wish_id=wish.id).pack()),),
            ((t("No, thank you"), KeepClosed(wish_id=wish.id).pack()),),
        ),
    )
