"""The /stats charts: a few PNG pictures of a period's figures, drawn off-screen and readable
on a phone (big type, one idea a picture), with their words in the coordinator's language.

Drawn with matplotlib's object API only (a `Figure` with its own Agg canvas, never pyplot):
no global figure state, so a picture drawn in a worker thread (`asyncio.to_thread`) touches
nothing another draws. Matplotlib's font cache is shared, so drawings take turns (`_LOCK`); a
picture takes a fraction of a second and the event loop never waits for it.

Chinese is drawn with Noto Sans CJK SC (SIL Open Font License), the font file shipped by the
`mplfonts` package, loaded by its path: matplotlib's own fonts have no Chinese and would draw
empty boxes. Characters the font lacks (an emoji in a member's name) are left out of the
picture rather than drawn as boxes."""

from __future__ import annotations

import io
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

# Matplotlib writes a cache folder when first imported; the bot's home may be read-only.
os.environ.setdefault("MPLCONFIGDIR", str(Path(tempfile.gettempdir()) / "linli-matplotlib"))

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font

from bot.i18n import Translate, translator
from bot.models import (
    SUGGESTION_TOPIC_LABELS,
    WISH_CATEGORY_LABELS,
    Figures,
)
from handlers.stats.views import period_label

FONT_FILE = "NotoSansCJKsc-Regular.otf"
WIDTH, HEIGHT, DPI = 9.0, 6.75, 120  # 1080 × 810 pixels: a phone's width, sharp
TITLE_SIZE, LABEL_SIZE, TICK_SIZE = 24, 18, 16
POSTED, DONE = "#4C78A8", "#54A24B"
LEADERS_SHOWN = 8
NAME_MAX = 12  # characters of a member's name on the leaders' chart

_LOCK = threading.Lock()


@cache
def font_path() -> Path:
    """The CJK font file, registered with matplotlib once (by path: mplfonts' installer,
    which rewrites matplotlib's configuration, is not used)."""
    path = Path(str(resources.files("mplfonts") / "fonts" / FONT_FILE))
    font_manager.fontManager.addfont(str(path))
    return path


def font(size: float = TICK_SIZE) -> FontProperties:
    return FontProperties(fname=font_path(), size=size)


@cache
def _drawable() -> frozenset[int]:
    return frozenset(FT2Font(str(font_path())).get_charmap())


def _known(text: str) -> str:
    """`text` without the characters the font cannot draw (they would come out as boxes)."""
    known = _drawable()
    return "".join(ch for ch in text if ord(ch) in known or ch.isspace()).strip()


def drawable(text: str) -> str:
    """`text` as matplotlib should get it: only what the font draws, its dollar signs escaped
    (matplotlib reads "$…$" as a formula; a name like "$$" would not draw at all). Once: a
    second pass would show the escapes."""
    return _known(text).replace("$", r"\$")


def render_charts(figures: Figures, language: str) -> list[bytes]:
    """The charts worth drawing for these figures (none about what did not happen), as PNG
    files, in `language`. Blocking: call it in a thread."""
    t = translator(language)
    drawings: list[Callable[[Axes, Translate, Figures], None]] = []
    if figures.wishes.posted:  # urgent requests are wishes too
        drawings.append(_funnel)
    if any(c.posted or c.done for c in figures.wishes.by_category):
        drawings.append(_categories)
    if any(topic.received for topic in figures.suggestions.by_topic):
        drawings.append(_suggestions)
    if any(leader.points for leader in figures.leaders):
        drawings.append(_leaders)
    # Which place and period, above each chart: a picture passed on keeps its context.
    heading = drawable(f"{figures.node_name} · {period_label(t, language, figures.period)}")
    with _LOCK:
        return [_png(draw, t, figures, heading) for draw in drawings]


def _png(
    draw: Callable[[Axes, Translate, Figures], None], t: Translate, f: Figures, heading: str
) -> bytes:
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # its own canvas: nothing shared with pyplot
    figure.suptitle(heading, fontproperties=font(LABEL_SIZE), color="#555555")
    ax = figure.add_subplot()
    draw(ax, t, f)
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        label.set_fontproperties(font(TICK_SIZE))
    ax.spines[["top", "right"]].set_visible(False)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _title(ax: Axes, text: str) -> None:
    ax.set_title(text, fontproperties=font(TITLE_SIZE), pad=16)


def _bars(
    ax: Axes,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int], str]],
) -> None:
    """Horizontal bars, one group a label (the first at the top), one bar a series, each with
    its number at its end; a legend when there is more than one series."""
    count = len(series)
    height = 0.8 / count
    positions = list(range(len(labels)))
    for index, (name, values, colour) in enumerate(series):
        offsets = [p - 0.4 + height * (index + 0.5) for p in positions]
        bars = ax.barh(offsets, values, height=height, color=colour, label=name)
        shown = [f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}" for v in values]
        ax.bar_label(bars, labels=shown, padding=4, fontproperties=font(TICK_SIZE))
    ax.set_yticks(positions, [drawable(label) for label in labels])
    ax.invert_yaxis()
    ax.xaxis.set_visible(False)
    ax.spines[["bottom"]].set_visible(False)
    ax.margins(x=0.15)
    if count > 1:
        figure = ax.get_figure()
        assert isinstance(figure, Figure)
        figure.legend(
            prop=font(LABEL_SIZE), loc="outside lower center", ncols=count, frameon=False
        )


def _funnel(ax: Axes, t: Translate, f: Figures) -> None:
    wishes = f.wishes
    labels = [t("Posted"), t("Claimed"), t("Done"), t("Confirmed by the resident")]
    counts = [wishes.posted, wishes.claimed, wishes.done, wishes.confirmed]
    _bars(ax, labels, [(t("Micro-wishes"), counts, POSTED)])
    _title(ax, t("From posted to confirmed"))


def _categories(ax: Axes, t: Translate, f: Figures) -> None:
    rows = [c for c in f.wishes.by_category if c.posted or c.done]
    labels = [t(WISH_CATEGORY_LABELS[c.category]) for c in rows]
    series = [
        (t("Posted"), [c.posted for c in rows], POSTED),
        (t("Done"), [c.done for c in rows], DONE),
    ]
    _bars(ax, labels, series)
    _title(ax, t("Micro-wishes by kind"))


def _suggestions(ax: Axes, t: Translate, f: Figures) -> None:
    rows = [topic for topic in f.suggestions.by_topic if topic.received]
    labels = [t(SUGGESTION_TOPIC_LABELS[topic.topic]) for topic in rows]
    series = [
        (t("Received"), [topic.received for topic in rows], POSTED),
        (t("Answered"), [topic.answered for topic in rows], DONE),
    ]
    _bars(ax, labels, series)
    _title(ax, t("Suggestions by topic"))


def _leaders(ax: Axes, t: Translate, f: Figures) -> None:
    rows = [leader for leader in f.leaders if leader.points][:LEADERS_SHOWN]
    labels = [_short(leader.display_name) or f"#{leader.member_id}" for leader in rows]
    _bars(ax, labels, [(t("Points"), [leader.points for leader in rows], DONE)])
    _title(ax, t("Most points in the love-savings passbook"))


def _short(name: str) -> str:
    """A name cut to fit the chart, not yet escaped (`_bars` does that)."""
    kept = _known(name)
    return kept if len(kept) <= NAME_MAX else kept[:NAME_MAX] + "…"
