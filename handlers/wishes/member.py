"""Members' side of wishes: /wishes (filters, pages), the wish card, /claim and the claim
buttons (alone or for a team, also from the wish wall), /mytasks, report done, give back,
choose team participants."""

from __future__ import annotations

from typing import ClassVar, Self

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translate, esc
from bot.models import N_, Role, User, Wish, WishCategory, WishEventKind, WishStatus
from bot.services.errors import InvalidInput
from bot.services.wishes import HandshakeOutcome, HandshakeResult, WishFilter
from handlers.buttons import StaleButton
from handlers.common import Buttons, ack, answer
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Handlers, Next, step
from handlers.wishes.buttons import (
    ALL_OPEN,
    ChooseListKind,
    ChooseParticipants,
    ClaimForTeam,
    ClaimWish,
    GiveBack,
    ListFilter,
    ListWishes,
    MyTasks,
    PlayMedia,
    ReportDone,
    SetParticipant,
    ShowMedia,
    ShowWish,
    SkipCode,
    SkipNote,
)
from handlers.wishes.views import (
    WishDialogue,
    arg_id,
    category_label,
    leave_card,
    list_label,
    send_media,
    send_preview,
    show_card,
)

# Four digits typed on their own: a confirmation code (see `code_again`).
CODE_TYPED = r"^\s*\d{4}\s*$"

FILTERS = {
    ListFilter.ALL: "all",
    ListFilter.BUILDING: "building",
    ListFilter.SKILLS: "skills",
    ListFilter.CATEGORY: "category",
}


class TaskDraft(DialogueDraft):
    """The wish a member is reporting done (and then may give its confirmation code for) or
    giving back. What it was done with is stored with the report, never kept here."""

    KEY: ClassVar[str] = "wish_task"
    wish_id: int = 0

    @classmethod
    def load(cls, context: LinliContext, *, clear_stale: bool = True) -> Self:
        raw = (context.user_data or {}).get(cls.KEY)
        if isinstance(raw, int) and not isinstance(raw, bool):
            return cls(wish_id=raw)  # kept as a bare number before drafts were typed
        return super().load(context, clear_stale=clear_stale)


# --- the card ------------------------------------------------------------------------------


@step()
async def card(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    card = await context.services.wishes.card(user, ShowWish.of(update).wish_id)
    await ack(update)
    await show_card(update, context, user, card)
    return None


# --- browsing ------------------------------------------------------------------------------


@step()
async def browse(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """/wishes and the list buttons (a filter, a category for "by kind", a page)."""
    pressed = ListWishes.of(update) if update.callback_query is not None else ALL_OPEN
    kind, category, before = pressed.kind, pressed.category, pressed.before
    if before < 0 or (kind is ListFilter.CATEGORY and category not in set(WishCategory)):
        raise StaleButton()
    chosen = WishFilter(
        kind=FILTERS[kind],  # type: ignore[arg-type]
        category=WishCategory(category) if kind is ListFilter.CATEGORY else None,
    )
    page_of = await context.services.wishes.browse(user, chosen, before=before or None)
    await ack(update)
    title = {
        ListFilter.ALL: t("<b>Open wishes</b> — all"),
        ListFilter.BUILDING: t("<b>Open wishes</b> — my building"),
        ListFilter.SKILLS: t("<b>Open wishes</b> — matching my skills"),
        ListFilter.CATEGORY: t("<b>Open wishes</b> — {kind}").format(
            kind=category_label(t, WishCategory(category)) if kind is ListFilter.CATEGORY else ""
        ),
    }[kind]
    rows: list[list[tuple[str, str]]] = [
        [(list_label(t, w), ShowWish(wish_id=w.id).pack())] for w in page_of.wishes
    ]
    if page_of.next_before:
        more = ListWishes(kind=kind, category=category, before=page_of.next_before)
        rows.append([(t("More ›"), more.pack())])
    rows.append(
        [
            (t("All"), ALL_OPEN.pack()),
            (
                t("My building"),
                ListWishes(kind=ListFilter.BUILDING, category="-", before=0).pack(),
            ),
            (t("My skills"), ListWishes(kind=ListFilter.SKILLS, category="-", before=0).pack()),
        ]
    )
    rows.append([(t("By kind…"), ChooseListKind().pack())])
    body = title if page_of.wishes else title + "\n" + t("No open wishes here right now.")
    await leave_card(update, context)  # "« Open wishes" on a card turns it into the list
    await answer(update, body, rows, edit=update.callback_query is not None)
    return None


@step()
async def choose_kind(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await ack(update)
    rows = [
        [(category_label(t, c), ListWishes(kind=ListFilter.CATEGORY, category=c, before=0).pack())]
        for c in WishCategory
    ]
    await answer(update, t("Which kind of wishes?"), rows, edit=True)
    return None


# --- claiming ------------------------------------------------------------------------------


async def _claim(
    update: Update, context: LinliContext, user: User, t: Translate, wish_id: int, team: int | None
) -> Next:
    await context.services.wishes.claim(user, wish_id, team_id=team)
    await ack(update, t("Thank you! Wish #{id} is yours now.").format(id=wish_id))
    # One answer: the card, which now says the wish is theirs and shows the contact.
    card = await context.services.wishes.card(user, wish_id)
    await show_card(update, context, user, card)
    await send_media(context, user, card.wish, t)
    return None


@step()
async def claim_button(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    return await _claim(update, context, user, t, ClaimWish.of(update).wish_id, None)


@step()
async def team_claim_button(
    update: Update, context: LinliContext, user: User, t: Translate
) -> Next:
    pressed = ClaimForTeam.of(update)
    return await _claim(update, context, user, t, pressed.wish_id, pressed.team_id)


@step()
async def claim_command(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """/claim <id> or /claim <id> team."""
    args = context.args or []
    wish_id = arg_id(args[0]) if args else None
    as_team = len(args) == 2 and args[1].lower() in ("team", "团队")
    if wish_id is None or len(args) > 2 or (len(args) == 2 and not as_team):
        raise InvalidInput(
            N_("Please write the wish number, like /claim 12 (or /claim 12 team for your team).")
        )
    if not as_team:
        return await _claim(update, context, user, t, wish_id, None)
    teams = await context.services.wishes.claim_teams(user)
    if not teams:
        raise InvalidInput(N_("You are not in any service team."))
    if len(teams) == 1:
        return await _claim(update, context, user, t, wish_id, teams[0].id)
    rows = [
        [
            (
                t("Help with {team}").format(team=team.name),
                ClaimForTeam(wish_id=wish_id, team_id=team.id).pack(),
            )
        ]
        for team in teams
    ]
    await answer(update, t("For which team?"), rows)
    return None


# --- my tasks ------------------------------------------------------------------------------


@step(Role.MEMBER)
async def my_tasks(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    tasks = await context.services.wishes.tasks(user)
    await ack(update)
    if not tasks:
        await answer(
            update, t("You have no wishes in hand. Send /wishes to find one you can help with.")
        )
        return None
    rows: Buttons = [
        [(list_label(t, w, helper=True), ShowWish(wish_id=w.id).pack())] for w in tasks
    ]
    await answer(update, t("<b>My tasks</b>\nChoose one to see the details."), rows)
    return None


@step()
async def ask_done(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish_id = ReportDone.of(update).wish_id
    await context.services.wishes.check_move(user, wish_id, WishEventKind.DONE)
    await ack(update)
    TaskDraft(wish_id=wish_id).save(context)
    await answer(
        update,
        t(
            "Well done! Write a short note of what was done, or send a photo (you can add "
            "words to it) or a voice note. Or press Skip."
        ),
        [[(t("Skip"), SkipNote().pack())]],
    )
    return WishDialogue.DONE_NOTE


@step()
async def typed_done(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """The done note: reported done at once. A wish that takes a code asks for it next (four
    digits sent as the note are that code)."""
    wish_id = TaskDraft.load(context).wish_id
    message = update.message
    note: str | None = None
    photo: str | None = None
    voice: str | None = None
    if message is not None:  # None: Skip was pressed
        if message.photo:
            photo = message.photo[-1].file_id
            note = message.caption
        elif message.voice:
            voice = message.voice.file_id
            note = message.caption
        else:
            note = message.text
    result = await context.services.wishes.report_done_first(
        user, wish_id, note=note, photo_file_id=photo, voice_file_id=voice
    )
    await ack(update)
    if result.outcome is HandshakeOutcome.CODE_NEXT:
        await answer(
            update,
            t(
                "Thank you! Wish #{id} is reported done. Did the resident give you a "
                "confirmation code? Type its 4 digits and it is confirmed at once."
            ).format(id=wish_id),
            [[(t("No code — please ask the resident to confirm"), SkipCode().pack())]],
        )
        return WishDialogue.DONE_CODE
    return await _after_code(update, t, wish_id, result)


async def _after_code(update: Update, t: Translate, wish_id: int, result: HandshakeResult) -> Next:
    """What a code came to (or a report that takes none), told to the helper."""
    asked = t("Thank you! We have asked the resident to confirm wish #{id}.").format(id=wish_id)
    if result.outcome is HandshakeOutcome.WRONG:
        await answer(
            update,
            t("That code is not right. You can try {count} more times.").format(
                count=result.tries_left
            ),
            [[(t("No code — please ask the resident to confirm"), SkipCode().pack())]],
        )
        return WishDialogue.DONE_CODE
    if result.outcome is HandshakeOutcome.LOCKED:
        said = t("That code was wrong too many times, so it no longer works.")
        await answer(update, f"{said}\n{asked}")
        return END
    if result.outcome is HandshakeOutcome.ALREADY:
        await answer(update, _already(t, wish_id))
        return END
    if result.outcome is HandshakeOutcome.CONFIRMED:
        await answer(
            update,
            t(
                "✅ The code is right: wish #{id} is done and confirmed. The resident has been "
                "told. Thank you for your help!"
            ).format(id=wish_id),
        )
        return END
    await answer(update, asked)
    return END


def _already(t: Translate, wish_id: int) -> str:
    return t("Wish #{id} has been confirmed already. Nothing more to do — thank you!").format(
        id=wish_id
    )


@step()
async def skip_code(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """No code: the resident is asked to confirm now rather than after the grace."""
    wish_id = TaskDraft.load(context).wish_id
    wish = await context.services.wishes.ask_resident_now(user, wish_id)
    await ack(update)
    if wish.status is WishStatus.CONFIRMED:
        await answer(update, _already(t, wish_id))
        return END
    await answer(
        update,
        t("Thank you! We have asked the resident to confirm wish #{id}.").format(id=wish_id),
    )
    return END


@step()
async def typed_code(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """The resident's confirmation code for the wish just reported done: right, it is
    confirmed at once; wrong, try again (a few times); locked, the resident is asked now."""
    message = update.message
    assert message is not None
    wish_id = TaskDraft.load(context).wish_id
    result = await context.services.wishes.done_with_code(user, wish_id, message.text)
    return await _after_code(update, t, wish_id, result)


@step(None)
async def code_again(
    update: Update, context: LinliContext, user: User | None, t: Translate
) -> Next:
    """Four digits no dialogue took (a fallback, after every feature): the code typed again
    once its wish was confirmed — sent twice, or after a restart — is answered with that
    wish; anything else as any message not understood."""
    wish_id = await context.services.wishes.confirmed_by_code_lately(user) if user else None
    if wish_id is None:
        await answer(update, t("I did not understand that. Send /help to see what you can do."))
    else:
        await answer(
            update,
            t("Wish #{id} has been confirmed already. Nothing more to do — thank you!").format(
                id=wish_id
            ),
        )
    return None


@step()
async def wrong_code(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await answer(
        update, t("Please type the 4 digits of the code, or press the button if you have none.")
    )
    return None


@step()
async def wrong_done(update: Update, context: LinliContext, _user: User, t: Translate) -> Next:
    await answer(update, t("Please send a few words, a photo or a voice note, or press Skip."))
    return None


@step()
async def ask_release(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish_id = GiveBack.of(update).wish_id
    await context.services.wishes.check_move(user, wish_id, WishEventKind.RELEASED)
    await ack(update)
    TaskDraft(wish_id=wish_id).save(context)
    await answer(
        update,
        t(
            "Why can you not do wish #{id}? Type a few words or send a voice note; the "
            "resident will be told."
        ).format(id=wish_id),
    )
    return WishDialogue.RELEASE_REASON


@step()
async def typed_release(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    message = update.message
    assert message is not None
    wish_id = TaskDraft.load(context).wish_id
    if message.voice:
        await context.services.wishes.release(
            user, wish_id, message.caption, voice_file_id=message.voice.file_id
        )
    else:
        await context.services.wishes.release(user, wish_id, message.text or "")
    await answer(
        update,
        t(
            "Wish #{id} is open again and will be offered to other helpers. Thank you for "
            "letting us know."
        ).format(id=wish_id),
    )
    return END


@step(None)
async def wrong_reason(
    update: Update, context: LinliContext, _user: User | None, t: Translate
) -> Next:
    """Neither words nor a voice note where the reason was asked for (no buttons are shown
    there, so "use the buttons" would not help)."""
    await answer(update, t("Please type a few words or send a voice note."))
    return None


@step()
async def play_media(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    """ "Listen" / "See photo": the wish's voice note or photo before taking it on, to the
    presser alone, when the wish is theirs to see (an open wish of their community, one they
    have a part in, one below them as a coordinator); never the contact details."""
    pressed = PlayMedia.of(update)
    wish = await context.services.wishes.view(user, pressed.wish_id)
    if await send_preview(context, user, wish, pressed.kind, t):
        await ack(update)
    else:
        await ack(update, t("Please open a private chat with me first, then press again."))
    return None


@step()
async def show_media(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish = await context.services.wishes.view(user, ShowMedia.of(update).wish_id)
    access = await context.services.wishes.access(user, wish)
    if not (access.handles or access.owns or access.coordinates):
        await ack(update, t("Only the member who took on this wish can do that."), alert=True)
        return None
    await ack(update)
    await send_media(context, user, wish, t)
    return None


# --- team participants ---------------------------------------------------------------------


async def _assign_menu(update: Update, context: LinliContext, t: Translate, wish: Wish) -> None:
    services = context.services
    team = await services.wishes.team_of(wish)
    if team is None:
        raise InvalidInput(N_("This wish was not taken on by a team."))
    members = await services.teams.members(team)
    chosen = set(await services.wishes.assignees(wish.id))
    rows = [
        [
            (
                ("✅ " if m.id in chosen else "▫️ ") + m.display_name,
                SetParticipant(wish_id=wish.id, user_id=m.id, on=m.id not in chosen).pack(),
            )
        ]
        for m in members
    ]
    rows.append([(t("Done"), ShowWish(wish_id=wish.id).pack())])
    await leave_card(update, context)  # pressed on a card: it becomes this menu
    await answer(
        update,
        t(
            "<b>Who takes part in wish #{id}?</b> ({team})\nTap a name to add or remove them; "
            "everyone ticked is credited when the wish is confirmed."
        ).format(id=wish.id, team=esc(team.name)),
        rows,
        edit=update.callback_query is not None,
    )


@step(Role.MEMBER)
async def assign_menu(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    wish = await context.services.wishes.view(user, ChooseParticipants.of(update).wish_id)
    access = await context.services.wishes.access(user, wish)
    if not (access.leads or access.coordinates):
        await ack(update, t("Only the team leader can choose who takes part."), alert=True)
        return None
    await ack(update)
    await _assign_menu(update, context, t, wish)
    return None


@step(Role.MEMBER)
async def assign_toggle(update: Update, context: LinliContext, user: User, t: Translate) -> Next:
    pressed = SetParticipant.of(update)
    await context.services.wishes.assign(user, pressed.wish_id, pressed.user_id, on=pressed.on)
    wish = await context.services.wishes.view(user, pressed.wish_id)
    await ack(update)
    await _assign_menu(update, context, t, wish)
    return None


# --- wiring (handlers/wishes/__init__.py puts these into the one wish conversation) ---------


def entry_points() -> Handlers:
    return [
        CallbackQueryHandler(ask_done, pattern=ReportDone.pattern()),
        CallbackQueryHandler(ask_release, pattern=GiveBack.pattern()),
    ]


def states() -> dict[WishDialogue, Handlers]:
    private = filters.ChatType.PRIVATE
    text = filters.TEXT & ~filters.COMMAND & private
    return {
        WishDialogue.DONE_NOTE: [
            MessageHandler((text | filters.PHOTO | filters.VOICE) & private, typed_done),
            CallbackQueryHandler(typed_done, pattern=SkipNote.pattern()),
            MessageHandler(private & ~filters.COMMAND, wrong_done),
        ],
        WishDialogue.DONE_CODE: [
            MessageHandler(text, typed_code),
            CallbackQueryHandler(skip_code, pattern=SkipCode.pattern()),
            MessageHandler(private & ~filters.COMMAND, wrong_code),
        ],
        WishDialogue.RELEASE_REASON: [
            MessageHandler(text | (filters.VOICE & private), typed_release),
            MessageHandler(private & ~filters.COMMAND, wrong_reason),
        ],
    }


def buttons() -> Handlers:
    """Commands and buttons that work from any message (offers, the wall, cards)."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("wishes", browse, filters=private),
        CommandHandler("claim", claim_command, filters=private),
        CommandHandler("mytasks", my_tasks, filters=private),
        CallbackQueryHandler(my_tasks, pattern=MyTasks.pattern()),
        CallbackQueryHandler(card, pattern=ShowWish.pattern()),
        CallbackQueryHandler(claim_button, pattern=ClaimWish.pattern()),
        CallbackQueryHandler(team_claim_button, pattern=ClaimForTeam.pattern()),
        CallbackQueryHandler(choose_kind, pattern=ChooseListKind.pattern()),
        CallbackQueryHandler(browse, pattern=ListWishes.pattern()),
        CallbackQueryHandler(assign_toggle, pattern=SetParticipant.pattern()),
        CallbackQueryHandler(assign_menu, pattern=ChooseParticipants.pattern()),
        CallbackQueryHandler(show_media, pattern=ShowMedia.pattern()),
        CallbackQueryHandler(play_media, pattern=PlayMedia.pattern()),
    ]
