"""What 你说我做 shows: the digest as each resident reads it (rendered in the reader's language
from the data stored with its announcement; the coordinator's preview is the same function),
and the coordinator's screen: the month, the counts, the candidate stories to choose from."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from bot.i18n import Translate, esc
from bot.models import (
    SUGGESTION_TOPIC_LABELS,
    WISH_CATEGORY_LABELS,
    Broadcast,
    Digest,
    DigestScreen,
    Story,
    StoryKind,
)
from bot.services.digest import CONTENT_KIND, STORIES_MAX, DigestReady
from bot.services.stats.period import month_of, shifted
from handlers.admin.buttons import AdminMenu
from handlers.broadcast.views import content_view
from handlers.common import Buttons, clipped
from handlers.digest.buttons import (
    DigestMonth,
    OwnWordsOff,
    PreviewDigest,
    RewriteStory,
    SendDigest,
    ToggleStory,
)
from handlers.notices import Shown, ViewEnv, notice_view
from handlers.periods import month_label

LISTED_WORDS = 40  # characters of a candidate's words on the coordinator's list
ICONS = {StoryKind.SUGGESTION: "💬", StoryKind.WISH: "🙋", StoryKind.FINDING: "🔦"}


def month_code(month: date) -> int:
    """A month as a button carries it: 202611."""
    return month.year * 100 + month.month


def month_of_code(code: int) -> date | None:
    """The first day of a button's month; None when no month could be (forged)."""
    year, month = divmod(code, 100)
    if not 2000 <= year <= 9999 or not 1 <= month <= 12:
        return None
    return date(year, month, 1)


def counts_text(t: Translate, digest: Digest) -> str:
    """What residents asked for and what was done, as they read it."""
    counts = digest.counts
    asked = [
        "💬 "
        + t("Suggestions: {count}").format(count=counts.suggestions)
        + _parts(
            t(SUGGESTION_TOPIC_LABELS[f.topic]) + " " + str(f.received) for f in counts.by_topic
        ),
        "🙋 "
        + t("Wishes: {count}").format(count=counts.wishes)
        + _parts(
            t(WISH_CATEGORY_LABELS[f.category]) + " " + str(f.posted) for f in counts.by_category
        ),
    ]
    done = [
        "✅ " + t("Suggestions answered: {count}").format(count=counts.suggestions_answered),
        "✅ " + t("Wishes done: {count}").format(count=counts.wishes_done),
        "✅ " + t("Patrol findings fixed: {count}").format(count=counts.findings_handled),
    ]
    return "\n".join(
        [
            "<b>" + t("What you asked for") + "</b>",
            *asked,
            "",
            "<b>" + t("What was done") + "</b>",
            *done,
        ]
    )


def _parts(parts: Iterable[str]) -> str:
    listed = list(parts)
    return " (" + ", ".join(listed) + ")" if listed else ""


def story_text(t: Translate, story: Story) -> str:
    """One story as residents read it: their words (escaped) and what was done; a story the
    coordinator rewrote is shown as typed."""
    icon = ICONS[story.kind]
    if story.rewritten:
        return f"{icon} {esc(story.words)}"
    words = esc(story.words)
    if story.kind is StoryKind.SUGGESTION:
        return f"{icon} “{words}”\n    ↪ " + t("Our answer: {reply}").format(
            reply=esc(story.reply or "")
        )
    if story.kind is StoryKind.WISH:
        by = (
            t("done by {team}").format(team=esc(story.team_name))
            if story.team_name
            else t("done by a Party member")
        )
        return f"{icon} “{words}” — {by}"
    outcome = t("passed on as a wish") if story.made_wish else t("fixed")
    return f"{icon} " + t("Found on patrol: “{words}” — {outcome}").format(
        words=words, outcome=outcome
    )


def _title(t: Translate, digest: Digest) -> str:
    return (
        "📰 <b>"
        + t("You said, we did — {community}, {month}").format(
            community=esc(digest.community_name), month=month_label(t, digest.month)
        )
        + "</b>"
    )


def digest_text(t: Translate, digest: Digest) -> str:
    """The digest exactly as a resident reading `t`'s language gets it."""
    parts = [_title(t, digest), counts_text(t, digest)]
    if digest.stories:
        parts.append(
            "<b>" + t("Stories") + "</b>\n" + "\n".join(story_text(t, s) for s in digest.stories)
        )
    parts.append(t("Thank you, neighbours! Tell us what you think any time: /suggest"))
    return "\n\n".join(parts)


def digest_announcement(t: Translate, broadcast: Broadcast, _community_name: str) -> Shown:
    """The announcement of a digest, rendered from the data stored with it."""
    return Shown(digest_text(t, Digest.model_validate(broadcast.content)))


def digest_heading(t: Translate, broadcast: Broadcast, _community_name: str) -> str:
    """A digest in a list of announcements (/news): its title."""
    return _title(t, Digest.model_validate(broadcast.content))


content_view(CONTENT_KIND, digest_announcement, digest_heading)


@notice_view(DigestReady)
async def ready_view(notice: DigestReady, env: ViewEnv) -> Shown:
    """The reminder on the 1st: last month's digest is ready; one press opens it."""
    t = env.t
    text = "📰 " + t(
        "Last month's “You said, we did” for {community} ({month}) is ready to preview: the "
        "counts are in; choose two or three stories and send it to the residents."
    ).format(community=esc(notice.community_name), month=month_label(t, notice.month))
    return Shown(text, buttons=[[(t("📰 Open it"), DigestMonth(month_code(notice.month)).pack())]])


# --- the coordinator's screen ----------------------------------------------------------------


def screen_text(t: Translate, screen: DigestScreen) -> str:
    digest = screen.digest
    lines = [_title(t, digest)]
    if screen.sent_broadcast_id is not None:
        lines.append(
            t("✅ This month's digest was sent (announcement #{id}).").format(
                id=screen.sent_broadcast_id
            )
        )
    lines += ["", counts_text(t, digest), ""]
    chosen = {s.key for s in digest.stories}
    if screen.candidates:
        lines.append(
            "<b>"
            + t("Stories to tell: {chosen} of at most {most} chosen").format(
                chosen=len(chosen), most=STORIES_MAX
            )
            + "</b>"
        )
        for number, story in enumerate(screen.candidates, 1):
            mark = "☑" if story.key in chosen else "☐"
            lines.append(
                f"{mark} {number}. {ICONS[story.kind]} " + clipped(story.words, LISTED_WORDS)
            )
        lines.append("")
        lines.append(
            t(
                "Press a number to choose two or three stories, ✏️ to tell one in your own "
                "words; then Preview to see exactly what residents will receive."
            )
        )
    else:
        lines.append(
            t("No answered suggestion, wish done or finding fixed with words this month.")
        )
    return "\n".join(lines)


def screen_buttons(t: Translate, screen: DigestScreen) -> Buttons:
    digest = screen.digest
    code = month_code(digest.month)
    chosen = {s.key: s for s in digest.stories}
    rows: list[list[tuple[str, str]]] = []
    toggles = [
        (
            ("☑ " if story.key in chosen else "☐ ") + str(number),
            ToggleStory(code, story.key).pack(),
        )
        for number, story in enumerate(screen.candidates, 1)
    ]
    rows += [toggles[i : i + 4] for i in range(0, len(toggles), 4)]
    numbers = {story.key: n for n, story in enumerate(screen.candidates, 1)}
    rewrites = []
    for key, story in chosen.items():
        if story.rewritten:
            rewrites.append(
                (
                    t("↩ {number}: its own words").format(number=numbers.get(key, "?")),
                    OwnWordsOff(code, key).pack(),
                )
            )
        else:
            rewrites.append(
                (
                    t("✏️ {number}").format(number=numbers.get(key, "?")),
                    RewriteStory(code, key).pack(),
                )
            )
    if rewrites:
        rows.append(rewrites)
    nav = []
    if digest.month > screen.earliest:
        nav.append(("◀", DigestMonth(month_code(_month_after(digest.month, -1))).pack()))
    if digest.month < screen.latest:
        nav.append(("▶", DigestMonth(month_code(_month_after(digest.month, 1))).pack()))
    if nav:
        rows.append(nav)
    rows.append([(t("👁 Preview"), PreviewDigest(code).pack()), (t("« Back"), AdminMenu().pack())])
    return rows


def _month_after(month: date, steps: int) -> date:
    return shifted(month_of(month), steps).first_day


def preview_buttons(t: Translate, screen: DigestScreen) -> Buttons:
    code = month_code(screen.digest.month)
    rows: list[list[tuple[str, str]]] = []
    if screen.sent_broadcast_id is None:
        rows.append([(t("📤 Send to the community"), SendDigest(code).pack())])
    rows.append([(t("« Back to the choice"), DigestMonth(code).pack())])
    return rows
