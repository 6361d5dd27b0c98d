"""Every action the services write to the audit log reads as words in /admin's log (never
"Other action" for something the bot itself does), and every subject kind with a number has a
name of its kind."""

from __future__ import annotations

import re
from pathlib import Path

from handlers.admin.audit import ACTION_LABELS, SUBJECT_LABELS

SERVICES = Path(__file__).resolve().parents[3] / "bot" / "services"


def _written(pattern: str) -> set[str]:
    found: set[str] = set()
    for source in SERVICES.rglob("*.py"):
        found |= set(re.findall(pattern, source.read_text(encoding="utf-8")))
    return found


def test_every_audited_action_has_a_label() -> None:
    actions = _written(r'action="([a-z_]+\.[a-z_]+)"')
    assert {"household.register", "pair.make", "points.adjust"} <= actions  # the scan works
    assert sorted(actions - set(ACTION_LABELS)) == []


def test_every_numbered_subject_kind_has_a_name() -> None:
    kinds = _written(r'subject=f"([a-z_]+):\{')
    assert {"household", "pair", "team"} <= kinds
    # A person is named by their name; a quarter ("2026Q4") is its own name.
    assert sorted(kinds - set(SUBJECT_LABELS) - {"user", "quarter"}) == []
