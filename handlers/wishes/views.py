"""What the wish features show: the wish card and list rows, the offer and the wall post, and
the live views that keep the wall post and the cards people opened current.
One thing, one renderer: a wish card looks the same wherever it appears, and a change to the
wish edits the messages that show it (the wall post, the cards people opened)."""

from __future__ import annotations

import logging
import unicodedata
from enum import StrEnum

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.i18n import Translate, esc, format_local
from bot.models import (
    N_,
    WISH_CATEGORY_LABELS,
    WISH_STATUS_LABELS,
    AtDoor,
    LiveMessage,
    Team,
    User,
    Wish,
    WishCategory,
    WishContact,
    WishStatus,
)
from bot.services.errors import LinliError
from bot.services.wishes import WishAccess, WishCard, WishDraft, subject_of, taken_by
from bot.services.wishes.notices import (
    CARD_VIEW,
    WALL_VIEW,
)
from handlers.common import Buttons, answer, keyboard
from handlers.context import LinliContext
from handlers.notices import Shown, ViewEnv, live_view, retired_view
from handlers.wishes.buttons import (
    ALL_OPEN,
    CancelWish,
    ChooseParticipants,
    ClaimForTeam,
    ClaimWish,
    ConfirmDone,
    GiveBack,
    MediaKind,
    NotDoneYet,
    PlayMedia,
    RateWish,
    ReportDone,
    RepostWish,
    ShowMedia,
    ShowWish,
    WriteThanks,
)

log = logging.getLogger(__name__)

TITLE_MAX = 40  # the one-line title shown in lists and offers
HELPER_WAITS = N_("Waiting for the resident")  # a done wish, in its helper's task list


class WishDialogue(StrEnum):
    """Every typed step of the wish features, in one conversation (handlers/wishes/__init__.py).
    Stored by name: adding a step never remaps a dialogue open during a deploy."""

    FOR_NAME = "for_name"
    FOR_BUILDING = "for_building"
    FOR_ROOM = "for_room"
    FOR_PHONE = "for_phone"
    CATEGORY = "category"
    CONTENT = "content"
    WHEN = "when"
    CONFIRM = "confirm"
    NOT_DONE = "not_done"
    THANKS = "thanks"
    DONE_NOTE = "done_note"
    DONE_CODE = "done_code"
    RELEASE_REASON = "release_reason"
    STUCK_REASON = "stuck_reason"


# --- words ---------------------------------------------------------------------------------


def category_label(t: Translate, category: WishCategory) -> str:
    return t(WISH_CATEGORY_LABELS[category])


def status_label(t: Translate, status: WishStatus) -> str:
    return t(WISH_STATUS_LABELS[status])


def wish_title(wish: Wish, t: Translate, limit: int = TITLE_MAX) -> str:
    """One line for lists and offers (not escaped). A wish told only by a voice note or a
    photo is named by what it is, its kind and its building (it has no words to quote)."""
    if wish.text:
        line = wish.text.strip().splitlines()[0]
    else:
        what = t("🎤 Voice wish") if wish.voice_file_id else t("🖼 Photo wish")
        parts = [what, category_label(t, wish.category)]
        if wish.building_name:
            parts.append(wish.building_name)
        line = " · ".join(parts)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def who_for(wish: Wish) -> str:
    """The resident's name (for a proxy wish, the person it is for); not escaped."""
    return wish.for_name or wish.poster_name or ""


LABEL_WIDTH = 24  # a list button's title: ~12 Chinese or ~22 Latin characters fit a phone


def short_title(title: str, width: int = LABEL_WIDTH) -> str:
    """`title` cut to `width` columns with "…", a wide (Chinese) character counting two."""

    def columns(char: str) -> int:
        return 2 if unicodedata.east_asian_width(char) in "WF" else 1

    if sum(columns(char) for char in title) <= width:
        return title
    kept, used = [], 1  # the "…" takes a column
    for char in title:
        used += columns(char)
        if used > width:
            break
        kept.append(char)
    return "".join(kept).rstrip() + "…"


def list_label(
    t: Translate, wish: Wish, *, with_status: bool = False, helper: bool = False
) -> str:
    """One button's text: number, urgency, kind or status, short title (plain text).
    `helper`: the status as the member who took it on sees it (theirs to wait for, not to do)."""
    mark = "🆘 " if wish.urgent else ""
    if helper and wish.status == WishStatus.DONE:
        middle = t(HELPER_WAITS)
    elif with_status or helper:
        middle = status_label(t, wish.status)
    elif not wish.text:  # the title of a voice or photo wish names its kind and building
        return f"#{wish.id} {mark}{short_title(wish_title(wish, t), LABEL_WIDTH + 10)}"
    else:
        middle = category_label(t, wish.category)
    return f"#{wish.id} {mark}{middle} · {short_title(wish_title(wish, t))}"


def preview_rows(t: Translate, wish: Wish) -> list[list[tuple[str, str]]]:
    """ "Listen" / "See photo" for a wish's voice note or photo: to hear or see it before
    taking it on (no contact details travel with it)."""
    row = []
    if wish.voice_file_id:
        row.append((t("▶ Listen"), PlayMedia(kind=MediaKind.VOICE, wish_id=wish.id).pack()))
    if wish.photo_file_id:
        row.append((t("🖼 See photo"), PlayMedia(kind=MediaKind.PHOTO, wish_id=wish.id).pack()))
    return [row] if row else []


def media_lines(t: Translate, wish: Wish | WishDraft) -> list[str]:
    lines = []
    if wish.photo_file_id:
        lines.append(t("📷 There is a photo."))
    if wish.voice_file_id:
        lines.append(t("🎤 There is a voice note."))
    return lines


# Names in one line: "小赵、小钱" / "Zhao, Qian".
NAMES_SEPARATOR = N_(", ")


def door_lines(t: Translate, wish: Wish, door: AtDoor) -> list[str]:
    """Who is coming and what to check at the door, for the resident (or whoever posted the
    wish for them); each helper's phone only where they agreed to show it."""
    names = esc(t(NAMES_SEPARATOR).join(v.name for v in door.visitors))
    if door.team_name:
        lines = [
            t("🚪 Who will come: {names}, of the service team {team} (leader: {leader}).").format(
                names=names, team=esc(door.team_name), leader=esc(door.leader_name or "—")
            )
        ]
    else:
        lines = [t("🚪 Who will come: {names}.").format(names=names)]
    lines += [
        t("📞 {name}'s phone: {phone}").format(name=esc(v.name), phone=esc(v.phone))
        for v in door.visitors
        if v.phone
    ]
    if door.team_name:
        check = t(
            "When someone comes to your door, please check: they should say they are "
            "“{names}”, Party member volunteers of the service team {team}."
        ).format(names=names, team=esc(door.team_name))
    else:
        check = t(
            "When someone comes to your door, please check: they should say they are "
            "“{names}”, a Party member volunteer of our community."
        ).format(names=names)
    lines.append(
        check
        + " "
        + t(
            "If you do not know them or feel unsure, call the community first. Do not open "
            "the door to strangers, and never transfer money."
        )
    )
    if wish.is_proxy:
        lines.append(t("Please pass this on to {name}.").format(name=esc(wish.for_name)))
    return lines


def code_line(t: Translate, code: str) -> str:
    """The handshake code, for the resident alone (their card, the "someone will help"
    notice)."""
    return t(
        "🔑 When you see the Party member volunteer has finished, tell them the confirmation "
        "code <b>{code}</b>. Please do not tell anyone before that."
    ).format(code=esc(code))


def card_text(
    env: ViewEnv,
    wish: Wish,
    *,
    contact: WishContact | None = None,
    yours: bool = False,
    door: AtDoor | None = None,
    code: str | None = None,
) -> str:
    """The wish card. Contact details only when the caller passes them (claimer, coordinator);
    `yours` for the one who has taken it on: the card is their answer to the claim too; the
    handshake `code` only on the resident's own card."""
    t, language, zone = env.t, env.language, env.services.settings.zone
    head = (
        t("🆘 <b>Urgent request #{id}</b>").format(id=wish.id)
        if wish.urgent
        else t("<b>Wish #{id}</b> — {category}").format(
            id=wish.id, category=category_label(t, wish.category)
        )
    )
    lines = [head]
    if wish.text:
        lines.append(esc(wish.text))
    lines += media_lines(t, wish)
    lines.append("")
    if wish.is_proxy:
        lines.append(
            t("For: {name} (posted by {poster})").format(
                name=esc(wish.for_name), poster=esc(wish.poster_name or "")
            )
        )
    else:
        lines.append(t("From: {name}").format(name=esc(wish.poster_name or "")))
    if wish.building_name:
        lines.append(t("Building: {name}").format(name=esc(wish.building_name)))
    lines.append(t("Posted: {when}").format(when=format_local(wish.created_at, language, zone)))
    if wish.needed_by:
        lines.append(
            t("Needed by: {when}").format(when=format_local(wish.needed_by, language, zone))
        )
    lines.append(t("Status: {status}").format(status=status_label(t, wish.status)))
    if wish.escalated_at and wish.status == WishStatus.OPEN:
        lines.append(t("🆘 The coordinators have been asked to help."))
    if wish.claimed_by is not None:
        lines.append(t("Helper: {name}").format(name=esc(taken_by(wish))))
    if door is not None:
        lines += door_lines(t, wish, door)
    if code is not None:
        lines.append(code_line(t, code))
    if wish.done_note:
        lines.append(t("Helper's note: {note}").format(note=esc(wish.done_note)))
    if wish.done_voice_file_id:
        lines.append(t("🎤 The helper sent a voice note."))
    if wish.rating:
        lines.append(t("Rating: {stars}").format(stars="★" * wish.rating))
    if wish.thanks:
        lines.append(t("Thank-you: {words}").format(words=esc(wish.thanks)))
    if wish.thanks_voice_file_id:
        lines.append(t("💌 A thank-you was sent as a voice note."))
    if contact is not None:
        lines.append("")
        lines.append(t("<b>Contact</b> (only you can see this)"))
        lines.append(t("Name: {name}").format(name=esc(contact.name)))
        if contact.building_name:
            lines.append(t("Building: {name}").format(name=esc(contact.building_name)))
        lines.append(t("Room: {room}").format(room=esc(contact.room or t("not given"))))
        lines.append(t("Phone: {phone}").format(phone=esc(contact.phone or t("not given"))))
    if yours:
        lines.append("")
        lines.append(
            t(
                "✋ You have taken this wish on. Please get in touch soon; when it is done, "
                "press “Report done” below."
            )
        )
    return "\n".join(lines)


def card_buttons(
    t: Translate, wish: Wish, viewer: User, access: WishAccess, teams: list[Team]
) -> Buttons:
    """The buttons of a card for this viewer. Each is re-checked by the service when pressed."""
    rows: list[list[tuple[str, str]]] = []
    status = wish.status
    wish_id = wish.id
    if access.owns:
        if status == WishStatus.OPEN:
            rows.append([(t("Cancel this wish"), CancelWish(wish_id=wish_id).pack())])
        elif status == WishStatus.DONE:
            rows += confirm_rows(t, wish_id)
        elif status == WishStatus.CONFIRMED:
            if wish.rating is None:
                rows.append(stars_row(wish_id))
            if not wish.thanked:
                rows.append([(t("Write a thank-you"), WriteThanks(wish_id=wish_id).pack())])
        elif status == WishStatus.EXPIRED:
            rows.append([(t("Post it again"), RepostWish(wish_id=wish_id).pack())])
    elif status == WishStatus.OPEN and viewer.is_member:
        rows.append([(t("I will help"), ClaimWish(wish_id=wish_id).pack())])
        for team in teams[:3]:
            label = t("Help with {team}").format(team=team.name)
            rows.append([(label, ClaimForTeam(wish_id=wish_id, team_id=team.id).pack())])
    if access.handles and status == WishStatus.CLAIMED:
        rows.append([(t("Report done"), ReportDone(wish_id=wish_id).pack())])
    if access.releases and status == WishStatus.CLAIMED:
        rows.append([(t("Give it back"), GiveBack(wish_id=wish_id).pack())])
    if access.leads and status in (WishStatus.CLAIMED, WishStatus.DONE):
        rows.append([(t("Choose who takes part"), ChooseParticipants(wish_id=wish_id).pack())])
    if access.handles and (wish.photo_file_id or wish.voice_file_id):
        rows.append([(t("Show the photo / voice note"), ShowMedia(wish_id=wish_id).pack())])
    elif access.coordinates or (
        status == WishStatus.OPEN and viewer.is_member and not access.owns
    ):
        rows += preview_rows(t, wish)
    if viewer.is_member and not access.owns:
        rows.append([(t("« Open wishes"), ALL_OPEN.pack())])
    return rows


def confirm_rows(t: Translate, wish_id: int) -> list[list[tuple[str, str]]]:
    return [
        [(t("Yes, it is done"), ConfirmDone(wish_id=wish_id).pack())],
        [(t("No, not done yet"), NotDoneYet(wish_id=wish_id).pack())],
    ]


def stars_row(wish_id: int) -> list[tuple[str, str]]:
    return [("★" * n, RateWish(wish_id=wish_id, stars=n).pack()) for n in range(1, 6)]


def card_button(t: Translate, wish_id: int) -> tuple[str, str]:
    return (t("Details"), ShowWish(wish_id=wish_id).pack())


def offer_text(env: ViewEnv, wish: Wish, *, ask: bool = True) -> str:
    """A new wish as members are offered it (and as the wall shows it): no contact details."""
    t = env.t
    place = esc(wish.building_name or t("our community"))
    if wish.urgent:
        head = t("🆘 <b>Urgent help needed</b> (#{id}) in {place}").format(id=wish.id, place=place)
    else:
        head = t("🙋 <b>A new wish</b> (#{id}) in {place} — {category}").format(
            id=wish.id, place=place, category=category_label(t, wish.category)
        )
    lines = [head, esc(wish_title(wish, t, 200 if wish.urgent else TITLE_MAX))]
    lines += media_lines(t, wish)
    if wish.needed_by:
        when = format_local(wish.needed_by, env.language, env.services.settings.zone)
        lines.append(t("Needed by: {when}").format(when=when))
    if ask:
        lines.append(t("Can you help?"))
    return "\n".join(lines)


# --- live views: the wall post and the cards people opened ---------------------------------


def wall(env: ViewEnv, wish: Wish) -> Shown:
    """The wish wall post for the wish's current state (in the community's language)."""
    t = env.t
    lines = [offer_text(env, wish, ask=False)]
    buttons: Buttons = ()
    who = esc(taken_by(wish))
    if wish.status == WishStatus.OPEN:
        if wish.escalated_at:
            lines.append(t("🆘 The coordinators have been asked to help."))
        buttons = ([(t("I will help"), ClaimWish(wish_id=wish.id).pack())], *preview_rows(t, wish))
    elif wish.status in (WishStatus.CLAIMED, WishStatus.DONE):
        lines.append(t("✋ Taken by {name}.").format(name=who))
        if wish.status == WishStatus.DONE:
            lines.append(t("✅ Reported done."))
    elif wish.status == WishStatus.CONFIRMED:
        lines.append(t("🎉 Done by {name}. Thank you!").format(name=who))
    else:
        lines.append(t("This wish is closed."))
    return Shown("\n".join(lines), buttons)


def wish_id_of(live: LiveMessage) -> int:
    return int(live.thing.split(":", 1)[1])


@live_view(WALL_VIEW)
async def wall_view(live: LiveMessage, env: ViewEnv) -> Shown | None:
    wish = await env.services.wishes.get(wish_id_of(live))
    return wall(env, wish) if wish is not None else None


def render_card(env: ViewEnv, viewer: User, card: WishCard) -> Shown:
    """The card as `viewer` sees it: their buttons, the contact if theirs to see, and for the
    one who has taken it on, that it is theirs and what comes next."""
    wish = card.wish
    yours = wish.status == WishStatus.CLAIMED and wish.claimed_by == viewer.id
    text = card_text(
        env, wish, contact=card.contact, yours=yours, door=card.at_door, code=card.handshake_code
    )
    return Shown(text, card_buttons(env.t, wish, viewer, card.access, list(card.teams)))


@live_view(CARD_VIEW)
async def card_view(live: LiveMessage, env: ViewEnv) -> Shown | None:
    shown = await _card_now(env, live.viewer_id, wish_id_of(live)) if live.viewer_id else None
    # No longer theirs to see (or no reader): the stub hides what it showed.
    return shown if shown is not None else retired_card(live.thing, env)


@retired_view(CARD_VIEW)
def retired_card(thing: str, env: ViewEnv) -> Shown:
    """A card no longer kept current: nothing of the wish stays on it (no contact, no buttons
    that act), only the way to open it again as it is now."""
    wish_id = int(thing.split(":", 1)[1])
    text = env.t(
        "Wish #{id}: this card is no longer kept up to date. Open it again to see it as it is now."
    ).format(id=wish_id)
    return Shown(text, ((card_button(env.t, wish_id),),))


async def _card_now(env: ViewEnv, viewer_id: int, wish_id: int) -> Shown | None:
    """The card as its reader may see it now, in their language; None when the wish is no
    longer theirs to see."""
    viewer = await env.services.users.get(viewer_id)
    if viewer is None:
        return None
    try:
        card = await env.services.wishes.card(viewer, wish_id)
    except LinliError:
        return None
    return render_card(ViewEnv(env.services, viewer.language), viewer, card)


async def leave_card(update: Update, context: LinliContext) -> None:
    """The pressed message (maybe a card) is about to show something else in place: it is no
    longer kept current, or the next change to the wish would turn it back into the card."""
    query = update.callback_query
    message = query.message if query is not None else None
    if isinstance(message, Message):
        await context.services.live.forget(message.chat.id, message.message_id)


async def show_card(update: Update, context: LinliContext, viewer: User, card: WishCard) -> None:
    """Show the card in the viewer's private chat and keep it current from then on."""
    env = ViewEnv(context.services, viewer.language)
    shown = render_card(env, viewer, card)
    sent = await answer(update, shown.text, shown.buttons)  # a press in a group: privately
    if sent is not None:
        wish_id = card.wish.id
        key, thing = f"{subject_of(wish_id)}:card:{viewer.id}", subject_of(wish_id)
        await context.services.live.keep_current(
            key=key,
            thing=thing,
            view=CARD_VIEW,
            chat_id=sent.chat_id,
            message_id=sent.message_id,
            language=viewer.language,
            viewer_id=viewer.id,
        )
        # A change that came while the card was on its way (to the wish, or to the reader's
        # rights) found nothing to edit: render it again now that it is registered, and edit
        # it if it differs (a change from here on finds the card itself).
        if await _card_now(env, viewer.id, wish_id) != shown:
            await context.services.live.refresh(thing, key)


# --- small Telegram helpers ----------------------------------------------------------------


def preview_caption(t: Translate, wish: Wish) -> str:
    """What a voice note or photo heard or seen before claiming is: the wish's number, kind
    and building, never who posted it or how to reach them (HTML)."""
    parts = [t("Wish #{id}").format(id=wish.id), category_label(t, wish.category)]
    if wish.building_name:
        parts.append(esc(wish.building_name))
    return " · ".join(parts)


async def send_preview(
    context: LinliContext, viewer: User, wish: Wish, kind: MediaKind, t: Translate
) -> bool:
    """The wish's voice note or photo, to the viewer's private chat alone, with "I will help"
    under it while the wish is open and theirs to take. False when it could not be sent
    (they have not opened a private chat with the bot)."""
    caption = preview_caption(t, wish)
    rows: Buttons = ()
    if wish.status == WishStatus.OPEN and viewer.is_member and wish.posted_by != viewer.id:
        rows = [[(t("I will help"), ClaimWish(wish_id=wish.id).pack())]]
    markup = keyboard(rows)
    try:
        if kind is MediaKind.VOICE and wish.voice_file_id:
            await context.bot.send_voice(
                viewer.id,
                wish.voice_file_id,
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        elif kind is MediaKind.PHOTO and wish.photo_file_id:
            await context.bot.send_photo(
                viewer.id,
                wish.photo_file_id,
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
    except TelegramError:
        log.warning("could not send a preview of wish_id=%s to user_id=%s", wish.id, viewer.id)
        return False
    return True


async def send_media(context: LinliContext, user: User, wish: Wish, t: Translate) -> None:
    """The wish's photo and voice note, to the helper's private chat."""
    caption = t("Wish #{id}").format(id=wish.id)
    try:
        if wish.photo_file_id:
            await context.bot.send_photo(user.id, wish.photo_file_id, caption=caption)
        if wish.voice_file_id:
            await context.bot.send_voice(user.id, wish.voice_file_id, caption=caption)
    except TelegramError:
        log.warning("could not send the media of wish_id=%s to user_id=%s", wish.id, user.id)


def arg_id(text: str | None) -> int | None:
    """A wish number typed by hand ("12" or "#12")."""
    value = (text or "").strip().lstrip("#")
    # isascii: "①".isdigit() is True but int() refuses it
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None
