"""The four questions about a person — name, building, room, phone — asked, parsed and answered
with keyboards in one place, for every dialogue that needs them.

A dialogue makes one `PersonSteps` with its own buttons (so their wire encodings stay its own)
and says what comes next after each answer (`on_name`, `on_building`, `on_room`, `on_phone`,
each called with the parsed value, returning the dialogue's next state):

- onboarding (/start, `Who.NEWCOMER`): the newcomer about themselves; the building list has
  "My building is not listed"; room has a Skip button; phone has "Share my phone number" and a
  typed "Skip" on the reply keyboard.
- /profile (`Who.SELF`): one question at a time from the menu; room and phone have a Remove
  button (the answer is then None).
- /wish_for (`Who.OTHER`, the other engineer's next step): a member posts for a resident
  without a phone. "What is their name?" (the wish flow sends its "on behalf of" intro first);
  a building picker of every non-archived building, without "not listed"; Skip buttons for
  room and phone (pass one `skip_room`/`skip_phone` class, or the same one twice: "wp:skip"
  is shared today); a typed phone number, no "share my number" button (that would share the
  member's own). `on_phone` then asks the category. In wishes_resident it would read:

      @button("wp:bld")
      class ProxyBuilding(BuildingButton):
          pass

      @button("wp:skip")
      class ProxySkip(Button):
          pass

      PERSON = PersonSteps(
          who=Who.OTHER, building=ProxyBuilding, skip_room=ProxySkip, skip_phone=ProxySkip,
          on_name=..., on_building=..., on_room=..., on_phone=...,  # save in the wish draft
      )
      states = {WishDialogue.FOR_NAME: PERSON.name_handlers(),
                WishDialogue.FOR_BUILDING: PERSON.building_handlers(), ...}

  The buildings offered are those of the person's community (for a newcomer, the one they
  chose). When it has none set up, `ask_building` returns False and the caller goes on to the
  room. However many there are, they are shown by the one building picker
  (handlers/building_picker.py): pages turned with "<building prefix>:pg" buttons, and a
  number typed while it is shown finds the building.

Every answer is re-checked on the server: a forged building id (archived, or not of the
community offered) or a stale button is refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from telegram import KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.i18n import Translate, esc
from bot.models import N_, Building, Role, User
from bot.services.errors import InvalidInput
from bot.services.users import clean_name, clean_phone, clean_room
from handlers.building_picker import BuildingPicker, page_button, recall, remember
from handlers.buttons import Button, StaleButton
from handlers.common import ack, answer
from handlers.context import LinliContext
from handlers.dialogue import Callback, GuestBody, Handlers, LanguageOf, Next, step

NOT_LISTED = 0


class Who(StrEnum):
    NEWCOMER = "newcomer"  # onboarding: about themselves, for the first time
    SELF = "self"  # /profile: changing their own
    OTHER = "other"  # /wish_for: someone else, who has no phone


@dataclasses.dataclass(frozen=True)
class BuildingButton(Button):
    """Base of a dialogue's building button; 0 means "my building is not listed"."""

    building_id: int


Then = Callable[[Update, LinliContext, User | None, Translate, Any], Coroutine[Any, Any, Next]]

N_OWN_NUMBER = N_("Please share your own number with the button below.")
N_CHOOSE_LISTED = N_("Please choose a building from the list.")
N_USE_PHONE_BUTTONS = N_("Please use the buttons below: share your number, or skip.")


@dataclass(frozen=True)
class PersonSteps:
    """Name, building, room and phone for one dialogue (see the module docstring)."""

    who: Who
    building: type[BuildingButton]
    skip_room: type[Button]
    on_name: Then
    on_building: Then
    on_room: Then
    on_phone: Then
    skip_phone: type[Button] | None = None  # an inline Skip/Remove button for the phone
    cancel: type[Button] | None = None  # "✖ Cancel" under each question (the caller handles it)
    role: Role | None = Role.RESIDENT
    language: LanguageOf | None = None

    def __post_init__(self) -> None:
        page_button(self.building)  # registered with the other buttons, before any press

    # --- asking ----------------------------------------------------------------------------

    async def ask_name(
        self, update: Update, t: Translate, *, edit: bool = False, intro: str = ""
    ) -> None:
        """The name question (after `intro`, e.g. a newcomer's welcome, in the same message)."""
        text = {
            Who.NEWCOMER: t("What should we call you? Please type your name."),
            Who.SELF: t("Please type your new name."),
            Who.OTHER: t("What is their name?"),
        }[self.who]
        await answer(update, intro + text, self._cancel_row(t), edit=edit)

    async def ask_building(
        self, update: Update, context: LinliContext, t: Translate, community_id: int | None
    ) -> bool:
        """Show the picker of the community's buildings (paged; a typed number finds one);
        False (nothing asked) when it has none set up."""
        if community_id is None:
            return False
        buildings = await self._buildings(context, community_id)
        if not buildings:
            return False
        remember(context, self.building.PREFIX, community_id)
        note, rows = self._picker.page(
            t, buildings, 0, after=self._not_listed(t) + self._cancel_row(t)
        )
        await answer(update, self._question(t) + ("\n" + note if note else ""), rows)
        return True

    def _question(self, t: Translate) -> str:
        if self.who is Who.OTHER:
            return t("Which building do they live in?")
        return t("Which building do you live in?")

    def _cancel_row(self, t: Translate) -> list[list[tuple[str, str]]]:
        return [[(t("✖ Cancel"), self.cancel().pack())]] if self.cancel is not None else []

    def _not_listed(self, t: Translate) -> list[list[tuple[str, str]]]:
        if self.who is not Who.NEWCOMER:
            return []
        return [[(t("My building is not listed"), self.building(building_id=NOT_LISTED).pack())]]

    @property
    def _picker(self) -> BuildingPicker:
        return BuildingPicker(
            choose=lambda b: self.building(building_id=b.id).pack(),
            turn=lambda page: page_button(self.building)(page=page).pack(),
        )

    @staticmethod
    async def _buildings(context: LinliContext, community_id: int) -> list[Building]:
        return [b for b in await context.services.users.buildings(community_id) if not b.archived]

    async def _shown_community(self, context: LinliContext) -> int:
        """The community whose buildings the picker shows (noted when it was drawn)."""
        community_id = recall(context, self.building.PREFIX)
        if community_id is None:
            raise StaleButton()
        return community_id

    async def ask_room(self, update: Update, t: Translate) -> None:
        text, label = {
            Who.NEWCOMER: (
                t(
                    "Your room number, for example 3-201? Only the member who helps you will "
                    "see it."
                ),
                t("Skip"),
            ),
            Who.SELF: (
                t("Please type your room number, for example 3-201."),
                t("Remove my room number"),
            ),
            Who.OTHER: (
                t("Their room number, for example 3-201? Only the helper will see it."),
                t("Skip"),
            ),
        }[self.who]
        await answer(update, text, [[(label, self.skip_room().pack())], *self._cancel_row(t)])

    async def ask_phone(self, update: Update, t: Translate) -> None:
        if self.who is Who.OTHER:
            text = t(
                "A phone number to reach them (a family member's is fine)? "
                "Only the helper will see it."
            )
            await answer(update, text, self._skip_phone_row(t) + self._cancel_row(t))
            return
        rows = [[KeyboardButton(t("Share my phone number"), request_contact=True)]]
        if self.who is Who.NEWCOMER:
            rows.append([KeyboardButton(t("Skip"))])
            text = t(
                "May we have your phone number? Only the member who helps you and the "
                "coordinators will see it."
            )
        else:
            text = t("Share your number with the button, or type it.")
        chat = update.effective_chat
        assert chat is not None
        markup = ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
        await chat.send_message(text, reply_markup=markup, parse_mode=ParseMode.HTML)
        if self.skip_phone is not None:
            await answer(update, t("Or remove it:"), self._skip_phone_row(t))

    def _skip_phone_row(self, t: Translate) -> list[list[tuple[str, str]]]:
        if self.skip_phone is None:
            return []
        label = t("Remove my phone number") if self.who is Who.SELF else t("Skip")
        return [[(label, self.skip_phone().pack())]]

    # --- answers ---------------------------------------------------------------------------

    def _step(self, body: GuestBody) -> Callback:
        return step(self.role, language=self.language)(body)

    def name_handlers(self) -> Handlers:
        """The handlers of the state that waits for the name."""

        async def typed(
            update: Update, context: LinliContext, user: User | None, t: Translate
        ) -> Next:
            assert update.message is not None
            name = clean_name(update.message.text or "")
            return await self.on_name(update, context, user, t, name)

        return [MessageHandler(_TEXT, self._step(typed))]

    def building_handlers(self) -> Handlers:
        """The handlers of the state that waits for the building: a building's button, a
        page button, or a typed number or name to search for."""

        async def chose(
            update: Update, context: LinliContext, user: User | None, t: Translate
        ) -> Next:
            building_id = self.building.of(update).building_id
            if building_id == NOT_LISTED and self.who is Who.NEWCOMER:
                await ack(update)
                await answer(update, t("Building: {name}").format(name=t("not listed")), edit=True)
                return await self.on_building(update, context, user, t, None)
            building = await context.services.users.building(building_id)
            if building is None or building.archived:
                raise InvalidInput()
            shown = recall(context, self.building.PREFIX)
            if shown is not None and building.community_id != shown:
                raise InvalidInput(N_CHOOSE_LISTED)  # not one of the buildings offered
            await ack(update)
            await answer(update, t("Building: {name}").format(name=esc(building.name)), edit=True)
            return await self.on_building(update, context, user, t, building.id)

        async def turned(
            update: Update, context: LinliContext, _user: User | None, t: Translate
        ) -> Next:
            page = page_button(self.building).of(update).page
            buildings = await self._buildings(context, await self._shown_community(context))
            await ack(update)
            note, rows = self._picker.page(
                t, buildings, page, after=self._not_listed(t) + self._cancel_row(t)
            )
            await answer(
                update, self._question(t) + ("\n" + note if note else ""), rows, edit=True
            )
            return None

        async def searched(
            update: Update, context: LinliContext, _user: User | None, t: Translate
        ) -> Next:
            assert update.message is not None
            buildings = await self._buildings(context, await self._shown_community(context))
            text, rows = self._picker.found(
                t, buildings, update.message.text or "", after=self._not_listed(t)
            )
            await answer(update, text, rows)
            return None

        return [
            CallbackQueryHandler(self._step(chose), pattern=self.building.pattern()),
            CallbackQueryHandler(self._step(turned), pattern=page_button(self.building).pattern()),
            MessageHandler(_TEXT, self._step(searched)),
        ]

    def room_handlers(self) -> Handlers:
        """The handlers of the state that waits for the room (typed, or skipped)."""

        async def typed(
            update: Update, context: LinliContext, user: User | None, t: Translate
        ) -> Next:
            assert update.message is not None
            room = clean_room(update.message.text or "")
            return await self.on_room(update, context, user, t, room)

        async def skipped(
            update: Update, context: LinliContext, user: User | None, t: Translate
        ) -> Next:
            await ack(update)
            return await self.on_room(update, context, user, t, None)

        return [
            MessageHandler(_TEXT, self._step(typed)),
            CallbackQueryHandler(self._step(skipped), pattern=self.skip_room.pattern()),
        ]

    def phone_handlers(self) -> Handlers:
        """The handlers of the state that waits for the phone (shared, typed, or skipped)."""

        async def shared(
            update: Update, context: LinliContext, user: User | None, t: Translate
        ) -> Next:
            assert update.message is not None and update.message.contact is not None
            contact = update.message.contact
            if update.effective_user is None or contact.user_id != update.effective_user.id:
                raise InvalidInput(N_OWN_NUMBER)
            return await self.on_phone(update, context, user, t, contact.phone_number)

        async def typed(
            update: Update, context: LinliContext, user: User | None, t: Translate
        ) -> Next:
            assert update.message is not None
            text = (update.message.text or "").strip()
            if self.who is Who.NEWCOMER and text == t("Skip"):
                return await self.on_phone(update, context, user, t, None)
            try:
                phone = clean_phone(text)
            except InvalidInput:
                if self.who is Who.NEWCOMER:
                    raise InvalidInput(N_USE_PHONE_BUTTONS) from None
                raise
            return await self.on_phone(update, context, user, t, phone)

        async def skipped(
            update: Update, context: LinliContext, user: User | None, t: Translate
        ) -> Next:
            await ack(update)
            return await self.on_phone(update, context, user, t, None)

        handlers: Handlers = [
            MessageHandler(filters.CONTACT & filters.ChatType.PRIVATE, self._step(shared)),
            MessageHandler(_TEXT, self._step(typed)),
        ]
        if self.skip_phone is not None:
            handlers.append(
                CallbackQueryHandler(self._step(skipped), pattern=self.skip_phone.pattern())
            )
        return handlers


_TEXT = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE
