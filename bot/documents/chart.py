"""The daily digest's chart: one PNG that a facilitator reads at a glance on a phone.

Portrait (900 × 1200 px, the shape of a phone screen), large type, two panels: the questions of
each topic as horizontal bars stacked by where they stand, and what is overdue by agency.
Every word comes in already translated; this module only draws.

matplotlib's object API draws on the Agg canvas without pyplot: pyplot keeps every figure in a
global registry (a leak in a long-running service unless each is closed) and wants a display
backend. A lock still keeps two renderings from running at once, since the text and font caches
are shared. matplotlib is imported on the first chart only: it takes most of a second, which
every CLI command would otherwise pay. The PNG carries no metadata, so the same data always
gives the same bytes.

Khmer: matplotlib falls back glyph by glyph along a list of families, and shapes complex scripts
with libraqm (3.11+), so every text is drawn in DejaVu Sans (Latin and Vietnamese) with the first
Khmer font installed after it (Debian's fonts-khmeros or fonts-noto-core). Without one, Khmer
labels would be empty boxes: the first chart says so in the log, naming the package.
"""

from __future__ import annotations

import io
import logging
import textwrap
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_PX, HEIGHT_PX, DPI = 900, 1200, 100
FONT = "DejaVu Sans"  # ships with matplotlib and has every Vietnamese diacritic
# Khmer-capable families, best first: Noto's (fonts-noto-core), then Khmer OS (fonts-khmeros).
KHMER_FONTS = ("Noto Sans Khmer", "Khmer OS System", "Khmer OS", "Khmer OS Content")
# Their files, for a font installed after matplotlib wrote its cache of the system's fonts.
_KHMER_FILES = ("notosanskhmer-regular", "khmerossys", "khmeros", "khmeroscontent")
KHMER_PACKAGE = "fonts-khmeros"
# Khmer's vowel signs and subscript consonants are characters of their own that take no width:
# a line of Khmer holds more characters than a line of Vietnamese.
KHMER_LABEL_WIDTH = 36

log = logging.getLogger(__name__)
TITLE_PT, LABEL_PT, TICK_PT, NOTE_PT = 24, 18, 15, 15
LABEL_WIDTH = 24  # characters of a topic or agency name per line before it wraps
MIN_ROWS = 3  # a panel is drawn with room for at least this many bars
MAX_ROWS = 8  # bars per panel, so that names stay readable; the rest are summed into one

# Colours told apart with any common colour blindness (Okabe & Ito), one per state, in order.
STATE_COLOURS = ("#999999", "#E69F00", "#009E73", "#0072B2")
OVERDUE_COLOURS = ("#D55E00", "#CC79A7")

_lock = threading.Lock()


@dataclass(frozen=True)
class Bars:
    """One horizontal bar: its label and a count per stacked part."""

    label: str
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class DigestChart:
    """What the chart shows, every text already in the reader's language."""

    title: str  # "Báo cáo ngày 20/11/2026"
    subtitle: str  # the ward
    topics_heading: str
    states: tuple[str, ...]  # the legend of the stacked parts, in the order of Bars.counts
    topics: tuple[Bars, ...] = ()
    no_questions: str = ""  # shown instead of empty bars
    overdue_heading: str = ""
    overdue_parts: tuple[str, ...] = ()  # e.g. ("Câu hỏi", "Cam kết")
    overdue: tuple[Bars, ...] = ()
    nothing_overdue: str = ""
    others: str = "…"  # the label of the rows beyond MAX_ROWS, summed into one


class _NoBoldFallbackNews(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("findfont: Failed to find font weight")


@cache
def khmer_font() -> str | None:
    """The first Khmer-capable family matplotlib can use, or None (said once in the log)."""
    from matplotlib import font_manager  # lazy: matplotlib only when a chart is drawn

    manager = font_manager.fontManager
    for attempt in range(2):
        known = {entry.name for entry in manager.ttflist}
        for name in KHMER_FONTS:
            if name in known:
                # Khmer OS has no bold: matplotlib draws its regular and would say so at every
                # bold title; that is expected, not news for the log.
                logging.getLogger("matplotlib.font_manager").addFilter(_NoBoldFallbackNews())
                return name
        if attempt == 0:
            # matplotlib's cache predates the font: add the system's Khmer fonts to it.
            for path in font_manager.findSystemFonts():
                if Path(path).stem.lower() in _KHMER_FILES:
                    manager.addfont(path)
    log.warning(
        "no Khmer font found (%s): Khmer text in the charts will not be readable; install %s",
        ", ".join(KHMER_FONTS),
        KHMER_PACKAGE,
    )
    return None


def families() -> list[str]:
    """The chart's font families, in the order matplotlib tries them for each glyph."""
    khmer = khmer_font()
    return [FONT, khmer] if khmer else [FONT]


def render(chart: DigestChart) -> bytes:
    """The chart as PNG bytes, 900 × 1200 px."""
    # lazy: matplotlib only when a chart is drawn (issue 14)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    families()  # found before the lock: the first call may scan the system's fonts
    with _lock:
        figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        try:
            return _draw(figure, chart)
        finally:
            figure.clear()  # drop the artists now rather than at the next garbage collection


def _draw(figure: Figure, chart: DigestChart) -> bytes:
    figure.set_facecolor("white")
    figure.suptitle(
        f"{chart.title}\n{chart.subtitle}" if chart.subtitle else chart.title,
        fontsize=TITLE_PT,
        fontweight="bold",
        fontfamily=families(),
    )
    topics = _capped(chart.topics, chart.others)
    overdue = _capped(chart.overdue, chart.others)
    # Each panel gets height by the lines of its names, so that none overlaps its neighbour.
    top, bottom = max(_lines(topics), 4), max(_lines(overdue), 3)
    upper, lower = figure.subplots(2, 1, height_ratios=[top + 3, bottom + 3])
    _panel(
        upper,
        heading=chart.topics_heading,
        bars=topics,
        parts=chart.states,
        colours=STATE_COLOURS,
        empty=chart.no_questions,
        empty_colour="#444444",
    )
    _panel(
        lower,
        heading=chart.overdue_heading,
        bars=overdue,
        parts=chart.overdue_parts,
        colours=OVERDUE_COLOURS,
        empty=chart.nothing_overdue,
        empty_colour="#009E73",  # good news, in the colour of "answered"
    )
    buffer = io.BytesIO()
    figure.savefig(
        buffer,
        format="png",
        dpi=DPI,
        facecolor="white",
        metadata={"Software": None},  # no version string: the same data, the same bytes
    )
    return buffer.getvalue()


def _label(bar: Bars) -> str:
    # Khmer writes no space between words and its vowels are combining marks: a Khmer label is
    # cut only at its spaces (between phrases), never inside a word, where a mark would be
    # left without its letter.
    khmer = _is_khmer(bar.label)
    return textwrap.fill(
        bar.label,
        KHMER_LABEL_WIDTH if khmer else LABEL_WIDTH,
        max_lines=3,
        placeholder="…",
        break_long_words=not khmer,
    )


def _is_khmer(text: str) -> bool:
    return any("\u1780" <= c <= "\u17ff" for c in text)


def _lines(bars: list[Bars]) -> int:
    return sum(_label(b).count("\n") + 1 for b in bars if b.total)


def _capped(bars: tuple[Bars, ...], others: str) -> list[Bars]:
    """At most MAX_ROWS bars, largest first; those beyond are summed into one."""
    ordered = sorted(bars, key=lambda b: (-b.total, b.label))
    if len(ordered) <= MAX_ROWS:
        return ordered
    kept, rest = ordered[: MAX_ROWS - 1], ordered[MAX_ROWS - 1 :]
    summed = tuple(sum(column) for column in zip(*(b.counts for b in rest), strict=True))
    return [*kept, Bars(others, summed)]


def _panel(axes, *, heading, bars, parts, colours, empty, empty_colour) -> None:  # type: ignore[no-untyped-def]
    axes.set_title(heading, fontsize=LABEL_PT, fontweight="bold", fontfamily=families(), loc="left")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if not any(b.total for b in bars):
        axes.set_axis_off()
        axes.text(
            0.5,
            0.5,
            empty,
            ha="center",
            va="center",
            fontsize=LABEL_PT,
            fontfamily=families(),
            color=empty_colour,
            transform=axes.transAxes,
        )
        return
    bars = [b for b in bars if b.total]
    rows = range(len(bars))
    left = [0] * len(bars)
    for index, (part, colour) in enumerate(zip(parts, colours, strict=False)):
        widths = [b.counts[index] for b in bars]
        axes.barh(rows, widths, left=left, color=colour, label=part, height=0.7)
        left = [x + w for x, w in zip(left, widths, strict=True)]
    largest = max(left)
    for row, total in zip(rows, left, strict=True):
        axes.text(
            total + largest * 0.015,
            row,
            str(total),
            va="center",
            fontsize=TICK_PT,
            fontweight="bold",
            fontfamily=families(),
        )
    axes.set_yticks(list(rows), [_label(b) for b in bars])
    # The largest on top; room for at least MIN_ROWS, so that one bar is not a slab.
    axes.set_ylim(max(len(bars), MIN_ROWS) - 0.5, -0.5)
    axes.set_xlim(0, largest * 1.15)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.tick_params(labelsize=TICK_PT)
    axes.tick_params(axis="y", length=0)
    for label in (*axes.get_xticklabels(), *axes.get_yticklabels()):
        label.set_fontfamily(families())
    if len(parts) > 1:
        axes.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.06),
            prop={"family": families(), "size": NOTE_PT},
            frameon=False,
            ncols=2,
        )
