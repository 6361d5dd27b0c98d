"""Typed buttons: one definition builds and matches each button's callback data."""

from __future__ import annotations

from enum import StrEnum

import pytest

from handlers.buttons import Button, StaleButton, button


class Colour(StrEnum):
    RED = "red"
    DARK_BLUE = "dark_blue"


@button("test:sample")
class Sample(Button):
    item_id: int
    colour: Colour
    on: bool


def test_a_button_packs_and_unpacks_its_fields() -> None:
    pressed = Sample(item_id=12, colour=Colour.DARK_BLUE, on=True)
    assert pressed.pack() == "test:sample:12:dark_blue:1"
    assert Sample.unpack(pressed.pack()) == pressed
    assert Sample.pattern().match(pressed.pack())


@pytest.mark.parametrize(
    "forged",
    [
        "test:sample:12:green:1",  # not a colour
        "test:sample:1234567890123456:red:1",  # 16 digits: no id is that long
        "test:sample:12:red:2",
        "test:sample:12:red",
        "test:sample:12:red:1:extra",
        "test:other:12:red:1",
        "",
        None,
    ],
)
def test_forged_or_stale_data_is_refused(forged: str | None) -> None:
    with pytest.raises(StaleButton):
        Sample.unpack(forged)
    assert forged is None or not Sample.pattern().match(forged)


def test_a_prefix_can_be_used_once_only() -> None:
    with pytest.raises(TypeError, match="twice"):

        @button("test:sample")
        class Again(Button):
            item_id: int


def test_a_button_that_could_exceed_64_bytes_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match="bytes"):

        @button("test:too_long")
        class TooLong(Button):
            a: int
            b: int
            c: int
            d: int
