"""/start: onboarding in private chat — language, name, building, room, phone."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import LANGUAGES, Translate, esc, translator
from bot.models import User
from handlers.buttons import Button, StaleButton, button
from handlers.common import ack, answer, language_of
from handlers.context import LinliContext
from handlers.dialogue import END, DialogueDraft, Next, dialogue, step
from handlers.home import show_home
from handlers.person_steps import BuildingButton, PersonSteps, Who

# --- buttons -------------------------------------------------------------------------------


@button("start:lang")
class ChooseLanguage(Button):
    language: str


@button("start:bld")
class OnboardingBuilding(BuildingButton):
    pass


@button("start:com")
class ChooseCommunity(Button):
    community_id: int


@button("start:skip:room")
class SkipRoom(Button):
    pass


# --- dialogue ------------------------------------------------------------------------------


class Onboarding(StrEnum):
    LANGUAGE = "language"
    NAME = "name"
    COMMUNITY = "community"
    BUILDING = "building"
    ROOM = "room"
    PHONE = "phone"


class OnboardingDraft(DialogueDraft):
    KEY: ClassVar[str] = "onboarding"
    language: str = ""
    name: str = ""
    community_id: int | None = None
    building_id: int | None = None
    room: str | None = None


LANGUAGE_LABELS = {"zh": "中文", "en": "English"}


def _telegram_speaks(update: Update) -> bool:
    """Telegram's language for this person is one of ours (then we do not ask)."""
    tg_user = update.effective_user
    code = tg_user.language_code if tg_user else None
    return code is not None and code.split("-")[0].lower() in LANGUAGES


def _language(update: Update, context: LinliContext) -> str:
    """Onboarding speaks the language chosen in its first step (Telegram's until then)."""
    return OnboardingDraft.peek(context).language or language_of(update, context)


@step(None, language=_language)
async def start(update: Update, context: LinliContext, user: User | None, t: Translate) -> Next:
    if user is not None:
        if user.unreachable:  # writing to us again: they have unblocked the bot
            await context.services.users.set_reachable(user.id, True)
        await show_home(
            update,
            context,
            user,
            t("Welcome back, {name}!").format(name=esc(user.display_name))
            + "\n"
            + t("The buttons below are your home screen: press one to begin."),
        )
        return END
    language = language_of(update, context)
    OnboardingDraft(language=language).save(context)
    if _telegram_speaks(update):
        # Telegram already says zh or en: no question about it (changeable in /profile).
        t = translator(language)
        intro = (
            t("Welcome to Linli, the neighbours' help desk of your community!")
            + "\n"
            + t("(You can change the language later in 👤 My profile.)")
            + "\n\n"
        )
        await PERSON.ask_name(update, t, intro=intro)
        return Onboarding.NAME
    ordered = sorted(LANGUAGES, key=lambda code: code != language)
    await answer(
        update,
        "欢迎来到邻里！请选择语言。\nWelcome to Linli! Please choose your language.",
        [[(LANGUAGE_LABELS[code], ChooseLanguage(language=code).pack()) for code in ordered]],
    )
    return Onboarding.LANGUAGE


@step(None, language=_language)
async def chose_language(
    update: Update, context: LinliContext, _user: User | None, _t: Translate
) -> Next:
    language = ChooseLanguage.of(update).language
    if language not in LANGUAGES:
        raise StaleButton()
    OnboardingDraft.change(context, language=language)
    await ack(update)
    await PERSON.ask_name(update, translator(language), edit=True)
    return Onboarding.NAME


async def _named(
    update: Update, context: LinliContext, _user: User | None, t: Translate, name: str
) -> Next:
    OnboardingDraft.change(context, name=name)
    communities = await context.services.users.communities()
    if len(communities) > 1:
        rows = [
            [(f"{c.name}（{c.street_name}）", ChooseCommunity(community_id=c.id).pack())]
            for c in communities
        ]
        await answer(update, t("Which community do you live in?"), rows)
        return Onboarding.COMMUNITY
    return await _in_community(update, context, _user, t, communities[0].id)


@step(None, language=_language)
async def chose_community(
    update: Update, context: LinliContext, user: User | None, t: Translate
) -> Next:
    community = await context.services.users.community(ChooseCommunity.of(update).community_id)
    if community is None:
        raise StaleButton()
    await ack(update)
    await answer(update, t("Community: {name}").format(name=esc(community.name)), edit=True)
    return await _in_community(update, context, user, t, community.id)


async def _in_community(
    update: Update, context: LinliContext, _user: User | None, t: Translate, community_id: int
) -> Next:
    OnboardingDraft.change(context, community_id=community_id)
    if await PERSON.ask_building(update, context, t, community_id):
        return Onboarding.BUILDING
    return await _housed(update, context, _user, t, None)


async def _housed(
    update: Update, context: LinliContext, _user: User | None, t: Translate, building: int | None
) -> Next:
    OnboardingDraft.change(context, building_id=building)
    await PERSON.ask_room(update, t)
    return Onboarding.ROOM


async def _roomed(
    update: Update, context: LinliContext, _user: User | None, t: Translate, room: str | None
) -> Next:
    OnboardingDraft.change(context, room=room)
    await PERSON.ask_phone(update, t)
    return Onboarding.PHONE


async def _finish(
    update: Update, context: LinliContext, _user: User | None, t: Translate, phone: str | None
) -> Next:
    draft = OnboardingDraft.load(context)
    tg_user = update.effective_user
    assert tg_user is not None
    user = await context.services.users.register(
        tg_user.id,
        display_name=draft.name or tg_user.first_name,
        language=draft.language or "zh",
        building_id=draft.building_id,
        room=draft.room,
        phone=phone,
        community_id=draft.community_id,
    )
    await show_home(
        update,
        context,
        user,
        t("Thank you, {name}! You are registered.").format(name=esc(user.display_name))
        + "\n\n"
        + t(
            "The buttons below are your home screen. To ask for help, press "
            "“🙋 Post a wish” and say what you need: type it, or send a voice note."
        ),
    )
    return END


PERSON = PersonSteps(
    who=Who.NEWCOMER,
    building=OnboardingBuilding,
    skip_room=SkipRoom,
    on_name=_named,
    on_building=_housed,
    on_room=_roomed,
    on_phone=_finish,
    role=None,
    language=_language,
)


def handlers() -> list[BaseHandler[Update, LinliContext, object]]:
    private = filters.ChatType.PRIVATE
    conversation = dialogue(
        "onboarding",
        entry_points=[CommandHandler("start", start, filters=private)],
        states={
            Onboarding.LANGUAGE: [
                CallbackQueryHandler(chose_language, pattern=ChooseLanguage.pattern())
            ],
            Onboarding.NAME: PERSON.name_handlers(),
            Onboarding.COMMUNITY: [
                CallbackQueryHandler(chose_community, pattern=ChooseCommunity.pattern())
            ],
            Onboarding.BUILDING: PERSON.building_handlers(),
            Onboarding.ROOM: PERSON.room_handlers(),
            Onboarding.PHONE: PERSON.phone_handlers(),
        },
        drafts=[OnboardingDraft],
        reentry=[CommandHandler("start", start, filters=private)],
        language=_language,
    )
    return [conversation]
