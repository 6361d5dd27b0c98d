"""The Application and context types that give handlers their services (no globals)."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services import Services
from bot.services.days import local_day

Data = dict[Any, Any]
WORKING_COMMUNITY = "admin.community"


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

    @property
    def today(self) -> date:
        """Today in the community's time zone."""
        services = self.services
        return local_day(services.clock.now(), services.settings.zone)

    @property
    def working_community(self) -> int | None:
        """The community a coordinator above several chose to look after in /admin (their
        teams, buildings, invites…); None: their own. A choice only: every service call
        checks it lies below them."""
        found = (self.user_data or {}).get(WORKING_COMMUNITY)
        return found if isinstance(found, int) else None

    @working_community.setter
    def working_community(self, community_id: int | None) -> None:
        if self.user_data is not None:
            self.user_data[WORKING_COMMUNITY] = community_id
