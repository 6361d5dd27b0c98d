"""Settings from the environment and `.env` (pydantic-settings)."""

from __future__ import annotations

import re
import sys
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Language = Literal["zh", "en"]

# What Telegram accepts as a webhook's secret_token.
WEBHOOK_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")
# The error type of a setting that is required only because another one is set.
REQUIRED_WITH = "required_with"


class Settings(BaseSettings):
    """Everything Linli can be told from outside. Names match the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_api_file_url: str = "https://api.telegram.org/file/bot"
    database_url: str = "sqlite+aiosqlite:///data/linli.db"
    coordinator_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    timezone: str = "Asia/Shanghai"
    default_language: Language = "zh"
    district_name: str = "西区"
    street_name: str = "古城台街道"
    community_name: str = "北气象巷社区"
    send_rate: float = Field(default=25.0, gt=0, le=1000)
    urgent_escalate_minutes: int = Field(default=15, ge=1)
    max_open_wishes: int = Field(default=5, ge=1)
    max_active_claims: int = Field(default=3, ge=1)
    # Patrol duty: the reminder before a shift, and until when before its start a member may
    # drop out alone (later, the drop-out asks a coordinator).
    patrol_remind_minutes: int = Field(default=60, ge=1, le=24 * 60)
    patrol_drop_hours: int = Field(default=12, ge=0, le=14 * 24)
    members_group_id: int | None = None
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    # Required with WEBHOOK_URL: without it anyone who reaches the URL can post updates as any
    # user, coordinators included (validate_default: the check runs when it is left out).
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    sweep_interval_seconds: float = Field(default=5.0, gt=0)
    # On PostgreSQL, how soon a waiting process takes over the sending and the scheduled work
    # when the one doing it dies (storage/lease.py).
    failover_seconds: float = Field(default=30.0, gt=0)
    # Several processes take updates at once (webhook mode behind a load balancer, on
    # PostgreSQL): each re-reads the sender's dialogue with every update
    # (bot/runtime/persistence.py). Sending and scheduled work still run in one at a time.
    shared_updates: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        head, _, tail = token.partition(":")
        if not head.isdigit() or not tail:
            raise ValueError("expected the form 123456:ABC… given by @BotFather")
        return SecretStr(token)

    @field_validator("coordinator_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError("expected comma-separated Telegram user ids, e.g. 12345,67890")
            return frozenset(int(p) for p in parts)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _blank_secret_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_with_webhook(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if value is None:
            if info.data.get("webhook_url"):
                raise PydanticCustomError(
                    REQUIRED_WITH,
                    "WEBHOOK_URL is set, and without a secret anyone who reaches that URL could "
                    "post updates as any user; put a random one in .env (1-256 characters of "
                    "A-Z a-z 0-9 _ -)",
                )
            return None
        if not WEBHOOK_SECRET_SHAPE.fullmatch(value.get_secret_value()):
            raise ValueError("expected 1-256 characters of A-Z a-z 0-9 _ - (what Telegram allows)")
        return value

    @field_validator("shared_updates")
    @classmethod
    def _shared_needs_webhook_and_postgres(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not info.data.get("webhook_url"):
            raise ValueError(
                "several processes can take updates only through a webhook (Telegram gives "
                "long polling to one); set WEBHOOK_URL"
            )
        if value and str(info.data.get("database_url", "")).startswith("sqlite"):
            raise ValueError("several processes need PostgreSQL; on SQLite run one process")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SettingsError(SystemExit):
    """Start-up stops with one clear line naming the setting (exit code 2)."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, or stop with one line per bad setting and exit code 2 — no traceback."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "SETTINGS"
            if error["type"] == "missing":
                lines.append(f"Setting {name} is missing: put it in .env (see .env.example).")
            elif error["type"] == REQUIRED_WITH:
                lines.append(f"Setting {name} is missing: {error['msg']}.")
            else:
                lines.append(f"Setting {name} is invalid: {error['msg']}.")
        print("\n".join(lines), file=sys.stderr)
        raise SettingsError(2) from None
