"""Typed buttons: one definition builds and matches each button's callback data."""

from __future__ import annotations

import importlib
import pkgutil
from enum import StrEnum

import pytest

from handlers.buttons import REGISTRY, Button, StaleButton, button


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


def product_buttons() -> dict[str, type[Button]]:
    """Every button of every handler module (imported here, so none is missed)."""
    import handlers

    for module in pkgutil.iter_modules(handlers.__path__):
        importlib.import_module(f"handlers.{module.name}")
    return {prefix: cls for prefix, cls in REGISTRY.items() if not prefix.startswith("test:")}


def test_every_product_button_fits_telegrams_64_bytes() -> None:
    buttons = product_buttons()
    assert {"adm:apps", "start:lang", "prof:bld", "join:skill", "tm:act", "bc:go"} <= set(buttons)
    too_long = {p: c.longest() for p, c in buttons.items() if len(c.longest().encode()) > 64}
    assert not too_long


def test_no_product_button_matches_another_ones_data() -> None:
    buttons = product_buttons()
    clashes = [
        (mine.__name__, theirs.__name__)
        for mine in buttons.values()
        for theirs in buttons.values()
        if mine is not theirs and mine.pattern().match(theirs.longest())
    ]
    assert not clashes


def test_the_notice_button_of_the_services_keeps_its_encoding() -> None:
    from handlers.admin.buttons import ReviewApplications

    assert ReviewApplications().pack() == "adm:apps"  # written by bot/services/membership.py


@pytest.mark.parametrize(
    "sent",
    [
        "adm:ok:12",
        "adm:mkinv:7:10",
        "adm:unarch:3",
        "adm:promote:42",
        "tm:act:1:0",
        "tm:rm:1:42",
        "tm:kind:legal",
        "bc:urg:5:1",
        "bc:bld:5:2",
        "start:lang:en",
        "start:bld:0",
        "start:skip:room",
        "prof:clear:phone",
        "prof:skill:repairs",
        "prof:skills:done",
        "join:bld:3",
    ],
)
def test_buttons_on_messages_sent_before_typed_buttons_still_work(sent: str) -> None:
    matching = [c for c in product_buttons().values() if c.pattern().match(sent)]
    assert len(matching) == 1
    assert matching[0].unpack(sent).pack() == sent
