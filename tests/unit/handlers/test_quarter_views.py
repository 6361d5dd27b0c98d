"""What a closed quarter looks like: the coordinators' summary stays one Telegram message,
however busy the quarter was (ten checks each about hundreds of wishes, names as long as a
name may be); the sheet takes any text a resident or member typed."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook

from bot.i18n import translator
from bot.services.passbook.quarter import SUMMARY_FLAGS, SUMMARY_TOP, Flag, FlagKind, Placed
from bot.services.users import NAME_MAX
from handlers.quarter import FLAG_WISHES_SHOWN, summary_text
from handlers.quarter_sheet import _sheet

MESSAGE_MAX = 4096  # Telegram's limit for a message's text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_busy_quarters_summary_fits_one_message(language: str) -> None:
    name = "长" * NAME_MAX
    flags = tuple(
        Flag(
            kind=kind,
            person_id=n,
            person=name,
            count=900,
            share=97,
            others=(name, name),
            wish_ids=tuple(range(100_000, 100_300)),
            since=datetime(2026, 9, 30, 8, tzinfo=UTC),
        )
        for n, kind in zip(range(40), list(FlagKind) * 10, strict=True)
    )
    top = [
        Placed(place=n + 1, member_id=n, name=name, building=name, total=9999)
        for n in range(SUMMARY_TOP)
    ]
    text = summary_text(
        translator(language),
        language,
        ZoneInfo("Asia/Shanghai"),
        quarter="2026Q3",
        community=name,
        members=100_000,
        points=99_999_999,
        wishes=1_000_000,
        top=top,
        flags=flags,
        flag_count=len(flags),
        closed_by=name,
    )
    assert len(text) < MESSAGE_MAX
    assert text.count("•") == SUMMARY_FLAGS
    # A check names its first wishes and says there are more.
    assert "#100000" in text and f"#{100_000 + FLAG_WISHES_SHOWN}" not in text and "…" in text


def test_control_characters_typed_by_people_do_not_break_the_sheet() -> None:
    book = Workbook(write_only=True)
    rows_in = [["小\x07赵", "修水龙头\x1b[0m\x00"], ["=1+1", 3], ["老\ufffe王\uffff\ud800", 1]]
    _sheet(book, "明细", ["姓名", "内容"], rows_in)
    out = BytesIO()
    book.save(out)
    rows = list(load_workbook(BytesIO(out.getvalue()))["明细"].iter_rows(values_only=True))
    assert rows == [("姓名", "内容"), ("小赵", "修水龙头[0m"), ("=1+1", 3), ("老王", 1)]
