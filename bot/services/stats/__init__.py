"""Statistics and reports: the figures of a period and a place (`/stats`), and the same as a
workbook (`/export`)."""

from bot.services.stats.service import StatsService

__all__ = ["StatsService"]
