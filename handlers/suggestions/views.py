"""Suggestions' texts, cards and keyboards: the author's dialogue and "my suggestions", the
coordinators' list and card (one renderer for the list, the card and the answer to a press),
and the notices. A coordinator's screen is built from `SuggestionCard`, which holds no author
id, and names the author only when signed; no button carries anything but the suggestion's
number."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.i18n import Translate, esc, format_local
from bot.models import (
    N_,
    SUGGESTION_STATUS_LABELS,
    SUGGESTION_TOPIC_LABELS,
    SuggestionLink,
    SuggestionLinkKind,
    SuggestionStatus,
    SuggestionTopic,
)
from bot.services.suggestions import (
    CardPage,
    Media,
    MinePage,
    SuggestionCard,
    SuggestionEvent,
    SuggestionLinked,
    SuggestionMoved,
    SuggestionReceived,
    SuggestionReplied,
)
from handlers.common import clipped, media_lines
from handlers.notices import Shown, ViewEnv, notice_view
from handlers.suggestions.buttons import (
    MySuggestions,
    SuggestDrop,
    SuggestionLinkAsk,
    SuggestionLinkMenu,
    SuggestionList,
    SuggestionMedia,
    SuggestionMove,
    SuggestionOpen,
    SuggestionReplyAsk,
    SuggestionsMenu,
    SuggestNew,
    SuggestSend,
    SuggestSign,
    SuggestTopic,
)

Rows = list[list[tuple[str, str]]]
SNIPPET = 40  # a suggestion's words in a list line
REPLY_SHOWN = 300  # a reply's characters on a coordinator's card
REPLIES_SHOWN = 3  # the newest replies on a card; older ones are counted
MINE_REPLY = 200  # a reply's characters in "my suggestions"
MINE_REPLIES = 1  # the newest; the reply notices brought each in full
LINKS_SHOWN = 8
TEXT_LIMIT = 4000  # below Telegram's 4,096 characters

EVENT_LABELS: dict[SuggestionEvent, str] = {
    SuggestionEvent.TAKE_UP: N_("🔧 Working on it"),
    SuggestionEvent.CLOSE: N_("✅ Close it"),
    SuggestionEvent.REOPEN: N_("↩ Reopen"),
}


def topic_label(t: Translate, topic: SuggestionTopic) -> str:
    return t(SUGGESTION_TOPIC_LABELS[topic])


def status_label(t: Translate, status: SuggestionStatus) -> str:
    return t(SUGGESTION_STATUS_LABELS[status])


@dataclass(frozen=True)
class LinkWords:
    """How each kind of thing that answered a suggestion is named."""

    label: str  # in a list: "micro-wish #12"
    choice: str  # a button of the link menu
    prompt: str  # asking for its number


LINK_WORDS: dict[SuggestionLinkKind, LinkWords] = {
    SuggestionLinkKind.WISH: LinkWords(
        N_("micro-wish #{id}"),
        N_("🙋 A micro-wish"),
        N_("Type the number of the micro-wish (for example 12)."),
    ),
    SuggestionLinkKind.FINDING: LinkWords(
        N_("patrol finding #{id}"),
        N_("🔎 A patrol finding"),
        N_("Type the number of the patrol finding (for example 12)."),
    ),
    SuggestionLinkKind.BROADCAST: LinkWords(
        N_("announcement #{id}"),
        N_("📢 An announcement"),
        N_("Type the number of the announcement (for example 12)."),
    ),
}


def link_label(t: Translate, kind: SuggestionLinkKind, ref_id: int) -> str:
    return t(LINK_WORDS[kind].label).format(id=ref_id)


def links_line(t: Translate, links: list[SuggestionLink]) -> list[str]:
    if not links:
        return []
    done = ", ".join(link_label(t, link.kind, link.ref_id) for link in links[:LINKS_SHOWN])
    if len(links) > LINKS_SHOWN:
        done += " …"
    return [t("🔗 What was done: {links}").format(links=done)]


def _fit(text: str) -> str:
    """At most TEXT_LIMIT characters, cut at a line's end (each line's tags are closed in it:
    a cut inside one could leave a tag open)."""
    if len(text) <= TEXT_LIMIT:
        return text
    return text[: text.rfind("\n", 0, TEXT_LIMIT - 1)] + "\n…"


# --- the author's dialogue -------------------------------------------------------------------


def cancel_rows(t: Translate) -> Rows:
    return [[(t("✖ Cancel"), SuggestDrop().pack())]]


def menu(t: Translate, *, member: bool) -> tuple[str, Rows]:
    text = t(
        "💬 <b>Community think-tank</b>\n"
        "Tell the community staff what could be better: the environment, safety, services, "
        "facilities, neighbours. You may sign it or leave it anonymous; the staff's replies "
        "come to you here."
    )
    rows: Rows = [[(t("✍️ Leave a suggestion"), SuggestNew(face=False).pack())]]
    if member:
        rows.append([(t("📝 Record one heard from a resident"), SuggestNew(face=True).pack())])
    rows.append([(t("📋 My suggestions"), MySuggestions(page=0).pack())])
    return text, rows


def heard_from_prompt(t: Translate) -> tuple[str, Rows]:
    text = t(
        "📝 Who told you? Type the resident's name or room (for example 张奶奶 3-201). "
        "The staff's replies will come to you, to pass on."
    )
    return text, cancel_rows(t)


def topic_prompt(t: Translate) -> tuple[str, Rows]:
    rows: Rows = []
    topics = list(SuggestionTopic)
    for i in range(0, len(topics), 2):
        rows.append(
            [
                (topic_label(t, topic), SuggestTopic(topic=topic).pack())
                for topic in topics[i : i + 2]
            ]
        )
    rows += cancel_rows(t)
    return t("What is it about? Please choose a topic."), rows


def content_prompt(t: Translate, topic: SuggestionTopic) -> tuple[str, Rows]:
    text = t(
        "{topic}: please type your view or suggestion, or send a photo (a caption is welcome) "
        "or a voice note."
    ).format(topic=topic_label(t, topic))
    return text, cancel_rows(t)


def sign_prompt(t: Translate, name: str, *, voice: bool = False) -> tuple[str, Rows]:
    text = t(
        "Sign it with your name, or leave it anonymous? When anonymous, the staff see neither "
        "your name nor your building, but their replies still come to you."
    )
    if voice:  # the promise above does not cover a voice the staff may know
        text += "\n" + t("🔊 The staff will hear your voice note as it is.")
    rows = [
        [(t("👤 Sign as {name}").format(name=name)[:60], SuggestSign(anonymous=False).pack())],
        [(t("🙈 Anonymous"), SuggestSign(anonymous=True).pack())],
        *cancel_rows(t),
    ]
    return text, rows


def check_card(
    t: Translate,
    *,
    topic: SuggestionTopic,
    words: str | None,
    photo: bool,
    voice: bool,
    anonymous: bool,
    name: str,
    heard_from: str | None,
    token: str,
) -> tuple[str, Rows]:
    lines = [
        t("<b>Your suggestion — please check</b>"),
        t("Topic: {topic}").format(topic=topic_label(t, topic)),
    ]
    if heard_from:
        lines.append(t("Heard from: {who}").format(who=esc(heard_from)))
    if words:
        lines.append(esc(words))
    lines += media_lines(t, photo=photo, voice=voice)
    if anonymous:
        lines.append(t("🙈 Anonymous: the staff will not see who you are."))
    else:
        lines.append(t("👤 Signed: {name}").format(name=esc(name)))
    rows = [
        [
            (t("✅ Send"), SuggestSend(token=token).pack()),
            (t("✖ Cancel"), SuggestDrop().pack()),
        ]
    ]
    return "\n".join(lines), rows


def sent_text(t: Translate) -> str:
    return t(
        "✅ Thank you! Your suggestion is with the community staff. Their replies will come "
        "to you here; see them any time in /suggest → 📋 My suggestions."
    )


def mine_view(t: Translate, page: MinePage, language: str, zone: ZoneInfo) -> tuple[str, Rows]:
    if not page.items and page.page == 0:
        return t("📋 You have not left any suggestions yet."), [
            [(t("✍️ Leave a suggestion"), SuggestNew(face=False).pack())]
        ]
    parts = [t("📋 <b>My suggestions</b> (newest first)")]
    for item in page.items:
        s = item.suggestion
        when = format_local(s.created_at, language, zone)
        topic, status = topic_label(t, s.topic), status_label(t, s.status)
        lines = [f"<b>#{s.id}</b> · {when} · {topic} · <b>{status}</b>"]
        if s.heard_from:
            lines.append(t("Heard from: {who}").format(who=esc(s.heard_from)))
        lines.append(clipped(s.text, SNIPPET * 2) if s.text else t("(a photo or voice note)"))
        if s.anonymous:
            lines.append(t("🙈 Anonymous"))
        if len(item.replies) > MINE_REPLIES:
            lines.append(
                t("({count} earlier replies)").format(count=len(item.replies) - MINE_REPLIES)
            )
        for reply in item.replies[-MINE_REPLIES:]:
            lines.append(
                t("↳ {name}: {text}").format(
                    name=esc(reply.replier_name or ""), text=clipped(reply.text, MINE_REPLY)
                )
            )
        lines += links_line(t, item.links)
        parts.append("\n".join(lines))
    rows: Rows = []
    turn: list[tuple[str, str]] = []
    if page.page > 0:
        turn.append((t("« Newer"), MySuggestions(page=page.page - 1).pack()))
    if page.more:
        turn.append((t("Older »"), MySuggestions(page=page.page + 1).pack()))
    if turn:
        rows.append(turn)
    return _fit("\n\n".join(parts)), rows


# --- for coordinators -------------------------------------------------------------------------


def status_rows(t: Translate, counts: dict[SuggestionStatus, int]) -> Rows:
    buttons = [
        (
            f"{status_label(t, status)} ({counts.get(status, 0)})",
            SuggestionList(status=status, page=0).pack(),
        )
        for status in SuggestionStatus
    ]
    return [buttons[0:2], buttons[2:4]]


def admin_menu(t: Translate, counts: dict[SuggestionStatus, int]) -> tuple[str, Rows]:
    text = t(
        "💬 <b>Community think-tank</b>\nThe suggestions in your area, by status. Choose one "
        "to read, answer and mark."
    )
    return text, status_rows(t, counts)


def coordinator_list(
    t: Translate, page: CardPage, language: str, zone: ZoneInfo
) -> tuple[str, Rows]:
    head = t("💬 <b>Suggestions</b> · {status} ({count})").format(
        status=status_label(t, page.status), count=page.counts.get(page.status, 0)
    )
    lines = [head, ""]
    rows: Rows = status_rows(t, page.counts)
    if not page.cards:
        lines.append(t("None here."))
    for card in page.cards:
        when = format_local(card.created_at, language, zone)
        words = clipped(card.text, SNIPPET) if card.text else t("(a photo or voice note)")
        lines.append(f"#{card.id} · {when} · {topic_label(t, card.topic)} · {words}")
        rows.append(
            [
                (
                    f"#{card.id} {topic_label(t, card.topic)}",
                    SuggestionOpen(suggestion_id=card.id).pack(),
                )
            ]
        )
    turn: list[tuple[str, str]] = []
    if page.page > 0:
        turn.append((t("« Newer"), SuggestionList(status=page.status, page=page.page - 1).pack()))
    if page.more:
        turn.append((t("Older »"), SuggestionList(status=page.status, page=page.page + 1).pack()))
    if turn:
        rows.append(turn)
    return _fit("\n".join(lines)), rows


def _who(t: Translate, author_name: str | None, building_name: str | None) -> str:
    """Whose it is, for coordinators (`author_name` None: anonymous)."""
    if author_name is None:
        return t("Left by: 🙈 anonymous")
    where = f" · {esc(building_name)}" if building_name else ""
    return t("Left by: {name}").format(name=esc(author_name)) + where


def _heard(t: Translate, heard_from: str | None) -> list[str]:
    """Whom a member heard it from face to face, if they did."""
    if not heard_from:
        return []
    return [
        t("Heard face to face from: {who} (written down by a member)").format(who=esc(heard_from))
    ]


def coordinator_card(
    t: Translate, card: SuggestionCard, language: str, zone: ZoneInfo
) -> tuple[str, Rows]:
    lines = [
        t("💬 <b>Suggestion #{id}</b> · {topic} · {status}").format(
            id=card.id, topic=topic_label(t, card.topic), status=status_label(t, card.status)
        ),
        f"{esc(card.community_name)} · {format_local(card.created_at, language, zone)}",
        _who(t, None if card.anonymous else card.author_name or "", card.building_name),
        *_heard(t, card.heard_from),
    ]
    if card.text:
        lines += ["", esc(card.text)]
    lines += media_lines(t, photo=card.photo, voice=card.voice)
    if card.replies:
        lines += ["", t("<b>Replies</b>")]
        if len(card.replies) > REPLIES_SHOWN:
            lines.append(
                t("({count} earlier replies)").format(count=len(card.replies) - REPLIES_SHOWN)
            )
        for reply in card.replies[-REPLIES_SHOWN:]:
            when = format_local(reply.created_at, language, zone)
            said = clipped(reply.text, REPLY_SHOWN)
            lines.append(f"{when} · {esc(reply.replier_name)}: {said}")
    lines += links_line(t, card.links)
    return _fit("\n".join(lines)), card_rows(t, card)


def card_rows(t: Translate, card: SuggestionCard) -> Rows:
    rows: Rows = []
    media: list[tuple[str, str]] = []
    if card.photo:
        media.append(
            (
                t("📷 See the photo"),
                SuggestionMedia(suggestion_id=card.id, what=Media.PHOTO).pack(),
            )
        )
    if card.voice:
        media.append(
            (t("🔊 Hear it"), SuggestionMedia(suggestion_id=card.id, what=Media.VOICE).pack())
        )
    if media:
        rows.append(media)
    if card.status is not SuggestionStatus.CLOSED:
        rows.append([(t("✍️ Reply"), SuggestionReplyAsk(suggestion_id=card.id).pack())])
    moves = [
        (t(EVENT_LABELS[event]), SuggestionMove(suggestion_id=card.id, event=event).pack())
        for event in card.moves
    ]
    if moves:
        rows.append(moves)
    rows.append(
        [(t("🔗 Link what answered it"), SuggestionLinkMenu(suggestion_id=card.id).pack())]
    )
    rows.append([(t("« Suggestions"), SuggestionList(status=card.status, page=0).pack())])
    return rows


def link_menu(t: Translate, suggestion_id: int) -> tuple[str, Rows]:
    rows: Rows = [
        [(t(words.choice), SuggestionLinkAsk(suggestion_id=suggestion_id, kind=kind).pack())]
        for kind, words in LINK_WORDS.items()
    ]
    rows.append([(t("« Back"), SuggestionOpen(suggestion_id=suggestion_id).pack())])
    return t("What answered suggestion #{id}?").format(id=suggestion_id), rows


def link_prompt(t: Translate, suggestion_id: int, kind: SuggestionLinkKind) -> tuple[str, Rows]:
    back = [[(t("« Back"), SuggestionOpen(suggestion_id=suggestion_id).pack())]]
    return t(LINK_WORDS[kind].prompt), back


def reply_prompt(t: Translate, suggestion_id: int) -> tuple[str, Rows]:
    text = t(
        "✍️ Type your reply to suggestion #{id}. It goes to whoever left it (you will not "
        "learn who, when it is anonymous)."
    ).format(id=suggestion_id)
    return text, [[(t("« Back"), SuggestionOpen(suggestion_id=suggestion_id).pack())]]


def menu_row(t: Translate) -> list[tuple[str, str]]:
    """The row /admin carries to the suggestions."""
    return [(t("💬 Community think-tank"), SuggestionsMenu().pack())]


# --- notices -----------------------------------------------------------------------------------


@notice_view(SuggestionReceived)
async def received(notice: SuggestionReceived, env: ViewEnv) -> Shown:
    t = env.t
    lines = [
        t("💬 <b>A new suggestion</b> #{id} · {topic} · {community}").format(
            id=notice.suggestion_id,
            topic=topic_label(t, notice.topic),
            community=esc(notice.community_name),
        )
    ]
    lines.append(_who(t, notice.author_name, notice.building_name))
    lines += _heard(t, notice.heard_from)
    if notice.words:
        lines.append(clipped(notice.words, REPLY_SHOWN))
    lines += media_lines(t, photo=notice.photo, voice=notice.voice)
    rows = [[(t("Open it"), SuggestionOpen(suggestion_id=notice.suggestion_id).pack())]]
    return Shown("\n".join(lines), rows)


def _yours(t: Translate, notice: SuggestionReplied | SuggestionMoved | SuggestionLinked) -> str:
    said = clipped(notice.words, SNIPPET) if notice.words else t("(a photo or voice note)")
    return t("Your suggestion #{id} ({topic}): {words}").format(
        id=notice.suggestion_id, topic=topic_label(t, notice.topic), words=said
    )


def _pass_on(t: Translate, heard_from: str | None) -> list[str]:
    if not heard_from:
        return []
    return [t("You wrote it down for {who}: please pass this on.").format(who=esc(heard_from))]


@notice_view(SuggestionReplied)
async def replied(notice: SuggestionReplied, env: ViewEnv) -> Shown:
    t = env.t
    lines = [
        t("💬 <b>A reply from the community</b> ({name})").format(
            name=esc(notice.coordinator_name)
        ),
        esc(notice.reply),
        "",
        _yours(t, notice),
        *_pass_on(t, notice.heard_from),
    ]
    return Shown("\n".join(lines), [[(t("📋 My suggestions"), MySuggestions(page=0).pack())]])


@notice_view(SuggestionMoved)
async def moved(notice: SuggestionMoved, env: ViewEnv) -> Shown:
    t = env.t
    lines = [
        t("💬 Your suggestion is now: <b>{status}</b>").format(
            status=status_label(t, notice.status)
        ),
        _yours(t, notice),
        *_pass_on(t, notice.heard_from),
    ]
    return Shown("\n".join(lines))


@notice_view(SuggestionLinked)
async def linked(notice: SuggestionLinked, env: ViewEnv) -> Shown:
    t = env.t
    lines = [
        t("💬 What was done about your suggestion: {what}").format(
            what=link_label(t, notice.kind, notice.ref_id)
        ),
        _yours(t, notice),
        *_pass_on(t, notice.heard_from),
    ]
    return Shown("\n".join(lines))
