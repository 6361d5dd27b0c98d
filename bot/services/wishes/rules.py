"""The rules of wishes, as data: limits, which skills fit which kind of wish, the life cycle,
and the refusals. Every module of the wish service reads them from here."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from bot.models import N_, Skill, WishCategory, WishEventKind, WishStatus
from bot.services.errors import Conflict, NotAllowed
from bot.services.lifecycle import Lifecycle, Party, Transition

TEXT_MAX = 500  # a wish; Telegram allows 4096, but a wish card must stay readable
NOTE_MAX = 500  # done notes, "not done" words, thank-you messages
REASON_MAX = 300
PAGE_SIZE = 8
OFFER_LIMIT = 20  # members offered a new wish (same building first)
URGENT_LIMIT = 200  # members alerted about an urgent request
EXPIRY_GRACE = timedelta(hours=24)  # after the needed-by time, before a wish expires
UNDATED_LIFETIME = timedelta(days=30)  # a wish without a date expires after this
REOFFER_LIFETIME = timedelta(days=3)  # at least this long on offer again once given back
NEEDED_BY_MAX = timedelta(days=365)
# The handshake at the door: a code of this many digits; this many wrong tries lock it.
HANDSHAKE_DIGITS = 4
HANDSHAKE_TRIES = 5
# A report that can still take the code asks the resident to confirm this much later: the
# helper types the code at the door within a minute or two, and a resident asked to confirm
# what the code confirms a moment later is asked for nothing. Long enough for a slow typist,
# short enough that a helper who walked away costs the resident a quarter of an hour at most.
HANDSHAKE_GRACE = timedelta(minutes=15)

KIND_ESCALATE = "wish.escalate"
KIND_WIDEN = "wish.widen"
KIND_EXPIRE = "wish.expire"
KIND_OVERDUE = "wish.overdue"
KIND_CONFIRM_NUDGE = "wish.confirm_nudge"
KIND_CONFIRM_ESCALATE = "wish.confirm_escalate"

# Nudges on stuck wishes: the resident is asked to confirm this long after the helper reported
# it done (each time again if still unconfirmed), then the coordinators are told.
CONFIRM_NUDGES = (timedelta(hours=48), timedelta(hours=96))
CONFIRM_ESCALATE_AFTER = timedelta(hours=144)
# The coordinators' list of stuck wishes: open this long; claimed this long without a date
# (with one: past it); done and not confirmed this long.
STUCK_OPEN_DAYS = 3
STUCK_CLAIMED_UNDATED_DAYS = 7
STUCK_DONE = CONFIRM_NUDGES[0]

# Which members' skills fit which kind of wish (matching and the "my skills" filter).
CATEGORY_SKILLS: dict[WishCategory, frozenset[Skill]] = {
    WishCategory.DAILY_LIFE: frozenset({Skill.DOMESTIC_HELP, Skill.ELDERLY_CARE, Skill.OTHER}),
    WishCategory.ELDERLY_CARE: frozenset({Skill.ELDERLY_CARE, Skill.DOMESTIC_HELP, Skill.MEDICAL}),
    WishCategory.CHILDREN_STUDY: frozenset({Skill.TUTORING}),
    WishCategory.HEALTH: frozenset({Skill.MEDICAL, Skill.ELDERLY_CARE}),
    WishCategory.LEGAL: frozenset({Skill.LEGAL}),
    WishCategory.EMPLOYMENT: frozenset({Skill.EMPLOYMENT}),
    WishCategory.REPAIRS: frozenset({Skill.REPAIRS}),
    WishCategory.PSYCHOLOGICAL: frozenset({Skill.COUNSELLING}),
    WishCategory.OTHER: frozenset({Skill.OTHER, Skill.DOMESTIC_HELP}),
}


# Words that say which kind of help a wish is, in the residents' words (zh: found anywhere in
# the text) and in English (a word of the text starting with one: "repairs", "kids"). A guess
# to save a tap: the resident sees it and may change it; it only decides who is offered the
# wish first.
CATEGORY_WORDS: dict[WishCategory, tuple[str, str]] = {
    WishCategory.REPAIRS: (
        "修 坏 漏 水龙头 灯 电路 插座 门锁 下水 堵 暖气 马桶",
        "repair fix broken leak tap light lock socket heating plumb",
    ),
    WishCategory.HEALTH: (
        "药 看病 体检 血压 血糖 挂号 医生 打针 复诊",
        "medicine doctor pharmacy prescription clinic",
    ),
    WishCategory.ELDERLY_CARE: (
        "老人 陪护 照顾 陪伴 轮椅 理发 洗澡 行动不便",
        "elderly wheelchair haircut bath",
    ),
    WishCategory.CHILDREN_STUDY: (
        "孩子 作业 辅导 学习 上学 接送 功课",
        "homework child kid tutor school",
    ),
    WishCategory.LEGAL: ("法律 律师 合同 纠纷 维权 遗嘱 起诉", "lawyer legal contract dispute"),
    WishCategory.EMPLOYMENT: ("找工作 就业 招聘 简历 失业", "job resume unemployed"),
    WishCategory.PSYCHOLOGICAL: ("聊天 说说话 心情 孤单 烦 想不开", "lonely talk sad"),
    WishCategory.DAILY_LIFE: (
        "买 菜 快递 取 送 米 面 搬 打扫 扛 代购",
        "shopping groceries parcel clean carry buy",
    ),
}


def suggest_category(text: str | None) -> WishCategory | None:
    """The kind of help a wish's words most likely ask for (most words found; ties go to the
    earlier kind above), or None when no word says."""
    if not text:
        return None
    lowered = text.lower()
    tokens = re.findall(r"[a-z]+", lowered)
    best, best_hits = None, 0
    for category, (chinese, english) in CATEGORY_WORDS.items():
        hits = sum(1 for word in chinese.split() if word in lowered)
        hits += sum(1 for word in english.split() for token in tokens if token.startswith(word))
        if hits > best_hits:
            best, best_hits = category, hits
    return best


def categories_for(skills: Iterable[Skill]) -> list[WishCategory]:
    """The categories a member with these skills can help with."""
    mine = set(skills)
    return [c for c, needed in CATEGORY_SKILLS.items() if needed & mine]


def subject_of(wish_id: int) -> str:
    """The wish as a subject of reminders and audit entries, and as a live message's thing."""
    return f"wish:{wish_id}"


# --- the life cycle ------------------------------------------------------------------------

_S, _E, _P = WishStatus, WishEventKind, Party
_OWNER = frozenset({_P.OWNER})
_HANDS = frozenset({_P.HANDLER, _P.COORDINATOR})  # the claimer or team leader; a coordinator
_TEAM = frozenset({_P.LEADER, _P.COORDINATOR})
_SYSTEM = frozenset({_P.SYSTEM})


def _moves() -> list[Transition[WishStatus, WishEventKind]]:
    t = Transition[WishStatus, WishEventKind]
    return [
        t(_S.OPEN, _E.CLAIMED, _S.CLAIMED, frozenset({_P.MEMBER})),
        t(_S.OPEN, _E.CANCELLED, _S.CANCELLED, frozenset({_P.POSTER, _P.COORDINATOR})),
        # A wish in hand is the helper's: only a coordinator takes it away (with a reason).
        t(_S.CLAIMED, _E.CANCELLED, _S.CANCELLED, frozenset({_P.COORDINATOR})),
        t(_S.DONE, _E.CANCELLED, _S.CANCELLED, frozenset({_P.COORDINATOR})),
        t(_S.CLAIMED, _E.REASSIGNED, _S.CLAIMED, frozenset({_P.COORDINATOR})),
        t(_S.OPEN, _E.EXPIRED, _S.EXPIRED, _SYSTEM),
        t(_S.OPEN, _E.ESCALATED, _S.OPEN, _SYSTEM),
        t(_S.CLAIMED, _E.RELEASED, _S.OPEN, _HANDS),
        t(_S.CLAIMED, _E.DONE, _S.DONE, _HANDS | {_P.ASSIGNEE}),
        t(_S.CLAIMED, _E.ASSIGNED, _S.CLAIMED, _TEAM),
        t(_S.CLAIMED, _E.UNASSIGNED, _S.CLAIMED, _TEAM),
        t(_S.DONE, _E.ASSIGNED, _S.DONE, _TEAM),
        t(_S.DONE, _E.UNASSIGNED, _S.DONE, _TEAM),
        t(_S.DONE, _E.CONFIRMED, _S.CONFIRMED, _OWNER),
        t(_S.DONE, _E.NOT_DONE, _S.CLAIMED, _OWNER),
        t(_S.CONFIRMED, _E.RATED, _S.CONFIRMED, _OWNER),
        t(_S.CONFIRMED, _E.THANKED, _S.CONFIRMED, _OWNER),
        t(_S.EXPIRED, _E.REPOSTED, _S.EXPIRED, frozenset({_P.POSTER})),
    ]


# open → claimed → done → confirmed; open → cancelled | expired; claimed → open (released);
# done → claimed (not done). Posting makes an open wish; it is not a move of an existing one.
WISH_LIFECYCLE = Lifecycle[WishStatus, WishEventKind]("wish", _moves())

# Moves that are not someone's to make say so in words fitting the move.
WHO_REFUSALS: dict[WishEventKind, type[NotAllowed]] = {}


# --- refusals: each says what happened; nothing was changed --------------------------------


class MembersOnly(NotAllowed):
    message = N_("Only members can take on wishes. Send /join with an invite code to become one.")


class OwnWish(NotAllowed):
    message = N_("This is your own wish, so you cannot take it on yourself.")


class NotYourWish(NotAllowed):
    message = N_("Only the person who posted this wish can do that.")


class NotYourTask(NotAllowed):
    message = N_("Only the member who took on this wish can do that.")


class NotTeamLeader(NotAllowed):
    message = N_("Only the team leader can choose who takes part.")


class WishTaken(Conflict):
    message = N_("Sorry, {name} has already taken this wish.")


class WishClosed(Conflict):
    message = N_("This wish is closed (finished, cancelled or expired). Nothing was changed.")


class AlreadyConfirmed(Conflict):
    message = N_("Wish #{id} has been confirmed already. Nothing more to do — thank you!")


class NoHandshake(Conflict):
    message = N_(
        "A confirmation code cannot be used for wish #{id}. Please report it done and the "
        "resident will confirm."
    )


class WishChanged(Conflict):
    message = N_("This wish has changed since that button was shown. Nothing was changed.")


class TooManyOpenWishes(Conflict):
    message = N_(
        "You have {count} wishes in progress, which is the most allowed. Please wait until one "
        "is finished, or cancel one in /mywishes."
    )


class TooManyClaims(Conflict):
    message = N_(
        "You already have {count} wishes in hand, which is the most allowed. Please finish or "
        "release one in /mytasks first."
    )


class Thanked(Conflict):
    message = N_("You have thanked for this wish already.")


class Rated(Conflict):
    message = N_("You have rated this wish already. Thank you!")


class PosterTakesNoPart(NotAllowed):
    message = N_("The person who posted this wish cannot take part in doing it.")


class NotInTeam(NotAllowed):
    message = N_("You are not in that service team.")


WHO_REFUSALS.update(
    {
        _E.CLAIMED: MembersOnly,
        _E.CANCELLED: NotYourWish,
        _E.RELEASED: NotYourTask,
        _E.DONE: NotYourTask,
        _E.ASSIGNED: NotTeamLeader,
        _E.UNASSIGNED: NotTeamLeader,
        _E.REASSIGNED: NotAllowed,
        _E.CONFIRMED: NotYourWish,
        _E.NOT_DONE: NotYourWish,
        _E.RATED: NotYourWish,
        _E.THANKED: NotYourWish,
        _E.REPOSTED: NotYourWish,
        _E.EXPIRED: NotAllowed,
        _E.ESCALATED: NotAllowed,
    }
)
