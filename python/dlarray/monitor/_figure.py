"""The matplotlib figure of ``trainingProgressMonitor``: a header (title, progress bar,
timing and latest values) above one sub-plot per metric group, laid out like MATLAB's
training progress window.

Only matplotlib's object-oriented API is used on a Figure the caller owns (a headless
``Figure`` with an Agg canvas, or one in a pyplot window); no global state (backend,
rcParams) is read-modified-written. The figure is built once per layout and then only its
artists' data change, so a redraw costs one canvas draw.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle
    from matplotlib.widgets import Button

__all__ = ["COLORS", "MonitorFigure", "Panel", "Snapshot", "figure_size"]

# MATLAB's default line colours, so the plots look familiar.
COLORS = ("#0072BD", "#D95319", "#EDB120", "#7E2F8E", "#77AC30", "#4DBEEE", "#A2142F")
_BAR_BACK, _BAR_FILL, _TEXT = "#DBDBDB", "#2E8CDE", "#262626"

# Sizes in inches (at 100 dpi: a 440 x 300 pixel cell per sub-plot).
_DPI = 100
_CELL_W, _CELL_H, _MARGIN = 4.4, 3.0, 0.12
_AX_LEFT, _AX_RIGHT, _AX_TOP, _AX_BOTTOM = 0.75, 0.2, 0.32, 0.55
_TITLE_TOP, _BAR_TOP, _BAR_H, _LINES_TOP, _LINE_H = 0.1, 0.46, 0.14, 0.7, 0.19
# Sub-plots with fewer points than this also mark each point, so that sparse curves
# (validation every epoch, a single value) stay visible.
_MARKERS_BELOW = 30


class Panel(NamedTuple):
    title: str
    series: Sequence[Tuple[str, np.ndarray, np.ndarray]]  # (name, steps, values)
    log_y: bool
    legend: bool


class Snapshot(NamedTuple):
    title: str
    x_label: str
    progress: float
    lines: Sequence[str]  # text lines under the progress bar
    panels: Sequence[Panel]


def _grid(n: int) -> Tuple[int, int]:
    """(rows, columns): one, two or three sub-plots per row."""
    ncols = 1 if n == 1 else 2 if n in (2, 4) else 3
    return math.ceil(max(n, 1) / ncols), ncols


def _header_height(num_lines: int) -> float:
    return _LINES_TOP + num_lines * _LINE_H + 0.12


def figure_size(num_panels: int, num_lines: int) -> Tuple[float, float]:
    nrows, ncols = _grid(num_panels)
    width = max(ncols * _CELL_W + 2 * _MARGIN, 4.8)
    return width, _header_height(num_lines) + nrows * _CELL_H + _MARGIN


def _layout_key(snap: Snapshot) -> Tuple[Any, ...]:
    return (
        snap.title,
        snap.x_label,
        len(snap.lines),
        tuple((p.title, tuple(s[0] for s in p.series), p.log_y, p.legend) for p in snap.panels),
    )


class MonitorFigure:
    """Draws snapshots of a monitor into ``figure``; ``on_stop`` (if given) adds a Stop
    button that calls it, as MATLAB's window has."""

    def __init__(self, figure: "Figure", on_stop: Optional[Callable[[], None]] = None):
        self.figure = figure
        self._on_stop = on_stop
        self._key: Optional[Tuple[Any, ...]] = None
        self._axes: List["Axes"] = []
        self._lines: List[List["Line2D"]] = []
        self._button: Optional["Button"] = None

    def draw(self, snap: Snapshot) -> None:
        """Bring the figure's artists up to date (rendering is the canvas's job)."""
        key = _layout_key(snap)
        if key != self._key:
            self._build(snap)
            self._key = key
        self._update(snap)

    # Building ----------------------------------------------------------------------------
    def _build(self, snap: Snapshot) -> None:
        fig = self.figure
        fig.clear()
        width, height = figure_size(len(snap.panels), len(snap.lines))
        fig.set_dpi(_DPI)
        fig.set_size_inches(width, height, forward=True)
        fig.set_facecolor("white")

        def box(
            left: float, top: float, w: float, h: float
        ) -> Tuple[float, float, float, float]:  # inches from the top left -> figure fraction
            return (left / width, 1 - (top + h) / height, w / width, h / height)

        fig.text(_MARGIN / width, 1 - _TITLE_TOP / height, snap.title, fontsize=13, fontweight="bold", color=_TEXT, va="top", ha="left")
        right = width - _MARGIN - (0.95 if self._on_stop else 0.0)
        bar_right = right - 0.55  # room for "100.0%"
        bar = fig.add_axes(box(_MARGIN, _BAR_TOP, bar_right - _MARGIN, _BAR_H))
        bar.set_axis_off()
        bar.set_xlim(0, 100)
        bar.set_ylim(0, 1)
        bar.add_patch(_rectangle((0, 0), 100, 1, _BAR_BACK))
        self._bar_fill = _rectangle((0, 0), 0, 1, _BAR_FILL)
        bar.add_patch(self._bar_fill)
        self._percent = fig.text(
            (bar_right + 0.08) / width, 1 - (_BAR_TOP + _BAR_H / 2) / height, "", fontsize=9, color=_TEXT, ha="left", va="center"
        )
        self._texts = [
            fig.text(_MARGIN / width, 1 - (_LINES_TOP + k * _LINE_H) / height, "", fontsize=9, color=_TEXT, ha="left", va="top")
            for k in range(len(snap.lines))
        ]
        # About how many characters of 9 pt text fit across the figure.
        self._chars = int((width - 2 * _MARGIN) * 72 / (9 * 0.55))
        if self._on_stop is not None:
            from matplotlib.widgets import Button

            button = Button(fig.add_axes(box(width - _MARGIN - 0.8, 0.1, 0.8, 0.3)), "Stop", color="#F2F2F2", hovercolor="#E0E0E0")
            button.on_clicked(self._stop_clicked)
            self._button = button

        head = _header_height(len(snap.lines))
        nrows, ncols = _grid(len(snap.panels))
        cell_w = (width - 2 * _MARGIN) / ncols
        cell_h = (height - head - _MARGIN) / max(nrows, 1)
        self._axes, self._lines = [], []
        color = 0
        for k, panel in enumerate(snap.panels):
            r, c = divmod(k, ncols)
            ax = fig.add_axes(
                box(
                    _MARGIN + c * cell_w + _AX_LEFT,
                    head + r * cell_h + _AX_TOP,
                    cell_w - _AX_LEFT - _AX_RIGHT,
                    cell_h - _AX_TOP - _AX_BOTTOM,
                )
            )
            ax.set_title(panel.title, fontsize=10, color=_TEXT)
            ax.set_xlabel(snap.x_label, fontsize=9, color=_TEXT)
            ax.tick_params(labelsize=8)
            ax.grid(True, color="#E6E6E6", linewidth=0.8)
            ax.set_axisbelow(True)
            if panel.log_y:
                ax.set_yscale("log", nonpositive="mask")
            lines = []
            for name, _, _ in panel.series:
                (line,) = ax.plot([], [], color=COLORS[color % len(COLORS)], linewidth=1.5, markersize=3.5, label=name)
                lines.append(line)
                color += 1
            if panel.legend:
                ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
            self._axes.append(ax)
            self._lines.append(lines)

    def _stop_clicked(self, _event: Any) -> None:
        if self._on_stop is not None:
            self._on_stop()
        if self._button is not None:
            self._button.label.set_text("Stopping")
            self.figure.canvas.draw_idle()

    # Updating ----------------------------------------------------------------------------
    def _update(self, snap: Snapshot) -> None:
        self._bar_fill.set_width(min(max(snap.progress, 0.0), 100.0))
        self._percent.set_text(f"{snap.progress:.1f}%")
        for text, content in zip(self._texts, snap.lines):
            if len(content) > self._chars:
                content = content[: max(self._chars - 3, 0)] + "..."
            text.set_text(content)
        for ax, lines, panel in zip(self._axes, self._lines, snap.panels):
            finite = False
            for line, (_, x, y) in zip(lines, panel.series):
                if panel.log_y:
                    # Non-positive values have no place on a log axis; as NaN they
                    # neither draw nor widen the limits.
                    y = np.where(y > 0, y, np.nan)
                line.set_data(x, y)
                line.set_marker("o" if x.size < _MARKERS_BELOW else "None")
                finite = finite or bool((np.isfinite(x) & np.isfinite(y)).any())
            if finite:
                ax.relim()
                ax.set_autoscale_on(True)
                ax.autoscale_view()
            else:
                ax.set_xlim(0, 1)
                ax.set_ylim(*((1, 10) if panel.log_y else (0, 1)))


def _rectangle(xy: Tuple[float, float], width: float, height: float, color: str) -> "Rectangle":
    from matplotlib.patches import Rectangle

    return Rectangle(xy, width, height, facecolor=color, edgecolor="none")
