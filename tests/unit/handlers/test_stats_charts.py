"""The /stats charts: PNG pictures a phone shows, whose Chinese is drawn with real glyphs (not
the empty boxes matplotlib draws for characters its font lacks)."""

from __future__ import annotations

import io
import warnings
from datetime import date

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from bot.i18n import translator
from bot.models import (
    CategoryFigures,
    Figures,
    Leader,
    Node,
    NodeKind,
    Period,
    PeriodKind,
    SuggestionFigures,
    SuggestionTopic,
    TopicFigures,
    TwinningTotals,
    UrgentFigures,
    WishCategory,
    WishFigures,
)
from handlers.stats import charts

NOVEMBER = Period(kind=PeriodKind.MONTH, first_day=date(2026, 11, 1), last_day=date(2026, 11, 30))


def busy_month() -> Figures:
    return Figures(
        node=Node(kind=NodeKind.COMMUNITY, id=1),
        node_name="幸福社区",
        period=NOVEMBER,
        zone="Asia/Shanghai",
        wishes=WishFigures(
            posted=12,
            claimed=10,
            done=8,
            confirmed=6,
            by_category=[
                CategoryFigures(category=WishCategory.HEALTH, posted=5, done=3),
                CategoryFigures(category=WishCategory.REPAIRS, posted=7, done=5),
            ],
        ),
        urgent=UrgentFigures(posted=2, claimed=2),
        twinning=TwinningTotals(start=NOVEMBER.first_day, end=NOVEMBER.last_day),
        suggestions=SuggestionFigures(
            received=4,
            answered=3,
            by_topic=[TopicFigures(topic=SuggestionTopic.SAFETY, received=4, answered=3)],
        ),
        # an emoji the font lacks: left out of the picture, not drawn as a box (which would
        # warn, and warnings are errors here)
        leaders=[
            Leader(member_id=1, display_name="小赵😀", points=30),
            Leader(member_id=2, display_name="<b>小钱</b>", points=1200),
        ],
    )


def pixels(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB"))


def drawn(text: str) -> bytes:
    """`text` as a title in the charts' font, as the charts draw it."""
    figure = Figure(figsize=(4, 1.5), dpi=100)
    canvas = FigureCanvasAgg(figure)
    figure.text(0.05, 0.3, text, fontproperties=charts.font(charts.TITLE_SIZE))
    out = io.BytesIO()
    canvas.print_png(out)
    return out.getvalue()


def test_chinese_is_drawn_with_real_glyphs_not_boxes() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wish = drawn("微心愿")
    assert not [w for w in caught if "missing" in str(w.message)]
    # Three characters no font has: matplotlib draws its missing-glyph box for each (and says so).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        boxes = drawn("\ue000\ue000\ue000")
    assert [w for w in caught if "missing" in str(w.message)]
    wish_pixels, box_pixels = pixels(wish), pixels(boxes)
    assert wish_pixels.shape == box_pixels.shape
    assert (wish_pixels != box_pixels).any(axis=2).sum() > 200
    assert (wish_pixels < 128).any()  # something dark was drawn at all


def test_the_charts_are_png_pictures_a_phone_shows_in_both_languages() -> None:
    for language in ("zh", "en"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a missing glyph would fail here
            pictures = charts.render_charts(busy_month(), language)
        assert len(pictures) == 4  # funnel, kinds of wishes, suggestions, leaders
        for png in pictures:
            assert png.startswith(b"\x89PNG\r\n\x1a\n")
            height, width, _ = pixels(png).shape
            assert 800 <= width <= 1600 and 600 <= height <= 1200
    zh = charts.render_charts(busy_month(), "zh")
    en = charts.render_charts(busy_month(), "en")
    assert all((pixels(a) != pixels(b)).any() for a, b in zip(zh, en, strict=True))


def test_nothing_happened_no_charts() -> None:
    quiet = busy_month().model_copy(
        update={
            "wishes": WishFigures(),
            "urgent": UrgentFigures(),
            "suggestions": SuggestionFigures(),
            "leaders": [],
        }
    )
    assert charts.render_charts(quiet, "zh") == []
    only_wishes = quiet.model_copy(update={"wishes": WishFigures(posted=3, claimed=1)})
    assert len(charts.render_charts(only_wishes, "zh")) == 1


def test_characters_the_font_lacks_are_left_out_and_dollars_are_not_formulas() -> None:
    assert charts.drawable("小赵😀") == "小赵"
    assert charts.drawable("Zhao 小赵") == "Zhao 小赵"
    assert charts.drawable("$x^2$") == r"\$x^2\$"
    odd = busy_month().model_copy(
        update={
            "node_name": "$$ \\frac{",
            "leaders": [Leader(member_id=1, display_name="$\\frac{$", points=3)],
        }
    )
    assert len(charts.render_charts(odd, "zh")) == 4  # a name that is a broken formula draws


def test_a_leaders_name_is_shortened_then_escaped_once() -> None:
    leaders = [
        Leader(member_id=1, display_name="$5 Lee", points=9),
        Leader(member_id=2, display_name="$" * 13, points=5),  # cut at 12, never mid-escape
    ]
    ax = Figure().subplots()
    charts._leaders(ax, translator("en"), busy_month().model_copy(update={"leaders": leaders}))
    assert [label.get_text() for label in ax.get_yticklabels()] == [
        r"\$5 Lee",
        r"\$" * 12 + "…",
    ]
