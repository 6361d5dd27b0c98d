"""Domain errors. Each carries an English message id (translated by the handler) and values."""

from __future__ import annotations

from typing import Any

from bot.models import N_


class LinliError(Exception):
    """A refusal the user should read: nothing was changed."""

    message = N_("That could not be done. Nothing was changed.")

    def __init__(self, message: str | None = None, **values: Any) -> None:
        if message is not None:
            self.message = message
        self.values = values
        super().__init__(self.message, values)


class NotAllowed(LinliError):
    message = N_("Sorry, you are not allowed to do that.")


class NotRegistered(LinliError):
    message = N_("Please send /start first to register.")


class InvalidInput(LinliError):
    message = N_("That input is not valid. Please try again.")


class NotFound(LinliError):
    message = N_("That no longer exists.")


class Conflict(LinliError):
    message = N_("That has already been done or changed by someone else.")
