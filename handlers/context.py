"""The Application and context types that give handlers their services (no globals)."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services import Services

Data = dict[Any, Any]


class LinliApplication(Application[ExtBot[None], "LinliContext", Data, Data, Data, Any]):
    """python-telegram-bot's Application carrying Linli's services."""

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services


class LinliContext(CallbackContext[ExtBot[None], Data, Data, Data]):
    @property
    def services(self) -> Services:
        application = self.application
        assert isinstance(application, LinliApplication)
        return application.services
