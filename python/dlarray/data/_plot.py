"""A tiny line-plot renderer (numpy + the built-in bitmap font) for the training monitor.

It draws what ``trainingProgressMonitor`` needs and nothing more: a header with a
progress bar and text lines, then one sub-plot per metric group with a frame, "nice"
ticks (linear or log y), grid lines, tick labels, an x label and a legend. The result
is an RGB uint8 image for :mod:`._png`. matplotlib is not required.
"""

from __future__ import annotations

import math

import numpy as np

from ._font import GLYPH_HEIGHT, text_bitmap, text_size

# MATLAB's default line colours, so the plots look familiar.
COLORS = np.array([[0.000, 0.447, 0.741], [0.850, 0.325, 0.098], [0.929, 0.694, 0.125],
                   [0.494, 0.184, 0.556], [0.466, 0.674, 0.188], [0.301, 0.745, 0.933],
                   [0.635, 0.078, 0.184]])
_WHITE, _BLACK = np.ones(3), np.zeros(3)
_GRID, _FRAME, _TEXT = np.full(3, 0.9), np.full(3, 0.35), np.full(3, 0.15)
_BAR_BACK, _BAR_FILL = np.full(3, 0.86), np.array([0.18, 0.55, 0.87])


class Canvas:
    """An RGB float image with the few drawing operations the plots need."""

    def __init__(self, height: int, width: int):
        self.pixels = np.ones((height, width, 3), dtype=np.float32)

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    def fill(self, top, left, bottom, right, color):
        top, bottom = max(int(top), 0), min(int(bottom), self.height)
        left, right = max(int(left), 0), min(int(right), self.width)
        if top < bottom and left < right:
            self.pixels[top:bottom, left:right] = color

    def rectangle(self, top, left, bottom, right, color):
        """Outline one pixel wide; bottom/right are exclusive."""
        self.fill(top, left, top + 1, right, color)
        self.fill(bottom - 1, left, bottom, right, color)
        self.fill(top, left, bottom, left + 1, color)
        self.fill(top, right - 1, bottom, right, color)

    def text(self, x, y, text, color=_TEXT, scale=1, anchor="left", max_width=None):
        """Draw text with its top at row y; x is its left, centre or right edge."""
        if max_width is not None:
            text = _clip_text(text, max_width, scale)
        if not text:
            return
        bitmap = text_bitmap(text, scale)
        h, w = bitmap.shape
        x0 = int(round(x - (w / 2 if anchor == "center" else w if anchor == "right" else 0)))
        y0 = int(round(y))
        # Clip the bitmap to the canvas.
        t, l = max(0, -y0), max(0, -x0)
        b, r = min(h, self.height - y0), min(w, self.width - x0)
        if t >= b or l >= r:
            return
        region = self.pixels[y0 + t:y0 + b, x0 + l:x0 + r]
        region[bitmap[t:b, l:r]] = color

    def polyline(self, xs, ys, color, thickness: int = 2, clip=None):
        """Connect the points (pixel coordinates); gaps where a value is not finite."""
        xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
        if xs.size == 0:
            return
        if xs.size == 1:
            px, py = xs, ys
        else:
            x0, y0, x1, y1 = xs[:-1], ys[:-1], xs[1:], ys[1:]
            ok = np.isfinite(x0) & np.isfinite(y0) & np.isfinite(x1) & np.isfinite(y1)
            x0, y0, x1, y1 = x0[ok], y0[ok], x1[ok], y1[ok]
            # Sample every segment at about half-pixel spacing, all segments at once.
            steps = np.maximum(np.ceil(2 * np.hypot(x1 - x0, y1 - y0)).astype(np.int64), 1)
            seg = np.repeat(np.arange(steps.size), steps)
            offsets = np.arange(seg.size) - np.repeat(np.cumsum(steps) - steps, steps)
            t = offsets / steps[seg]
            px = np.concatenate([x0[seg] + t * (x1 - x0)[seg], xs[-1:]])
            py = np.concatenate([y0[seg] + t * (y1 - y0)[seg], ys[-1:]])
            # Isolated finite points (neighbours are NaN) still show as dots.
            lone = np.isfinite(xs) & np.isfinite(ys)
            px, py = np.concatenate([px, xs[lone]]), np.concatenate([py, ys[lone]])
        finite = np.isfinite(px) & np.isfinite(py)
        px, py = px[finite], py[finite]
        top, left, bottom, right = clip if clip else (0, 0, self.height, self.width)
        for dy in range(thickness):
            for dx in range(thickness):
                cx = np.floor(px + dx - (thickness - 1) / 2).astype(np.int64)
                cy = np.floor(py + dy - (thickness - 1) / 2).astype(np.int64)
                inside = (cx >= left) & (cx < right) & (cy >= top) & (cy < bottom)
                self.pixels[cy[inside], cx[inside]] = color

    def to_uint8(self) -> np.ndarray:
        return (np.clip(self.pixels, 0, 1) * 255 + 0.5).astype(np.uint8)


def _clip_text(text: str, max_width: int, scale: int) -> str:
    if text_size(text, scale)[1] <= max_width:
        return text
    while text and text_size(text + "...", scale)[1] > max_width:
        text = text[:-1]
    return text + "..." if text else ""


def format_number(value: float) -> str:
    """Short label for a number: 4 significant digits, no trailing zeros."""
    if value is None or not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        mantissa, exponent = f"{value:.2e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.4g}"


def nice_ticks(low: float, high: float, target: int = 5) -> np.ndarray:
    """Round tick positions (1, 2, 5 x 10^k steps) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return np.array([0.0, 1.0])
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(target, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step + 1e-9) * step
    stop = math.ceil(high / step - 1e-9) * step
    count = int(round((stop - start) / step)) + 1
    return start + step * np.arange(count)


def log_ticks(low: float, high: float) -> np.ndarray:
    """Tick positions for a log axis over [low, high] (both > 0): decades, or 1-2-5."""
    lo, hi = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if hi == lo:
        hi += 1
    decades = 10.0 ** np.arange(lo, hi + 1)
    if hi - lo <= 2:
        decades = np.sort(np.concatenate([decades, 2 * decades[:-1], 5 * decades[:-1]]))
    return decades


class Series:
    """One named curve: x and y values and a colour."""

    def __init__(self, name, x, y, color):
        self.name = name
        self.x = np.asarray(x, np.float64)
        self.y = np.asarray(y, np.float64)
        self.color = np.asarray(color, np.float32)


def draw_panel(canvas: Canvas, box, title, series, x_label, log_y=False):
    """One sub-plot inside box = (top, left, bottom, right)."""
    top, left, bottom, right = box
    line = GLYPH_HEIGHT + 3
    canvas.text((left + right) / 2, top + 2, title, scale=1, anchor="center",
                max_width=right - left - 4)
    plot_top, plot_left = top + line + 6, left + 58
    plot_bottom, plot_right = bottom - 2 * line - 4, right - 12
    if plot_bottom - plot_top < 20 or plot_right - plot_left < 20:
        return
    xs = np.concatenate([s.x for s in series]) if series else np.zeros(0)
    ys = np.concatenate([s.y for s in series]) if series else np.zeros(0)
    if log_y:
        ys = ys[ys > 0]
    finite_x, finite_y = xs[np.isfinite(xs)], ys[np.isfinite(ys)]
    x_low, x_high = ((finite_x.min(), finite_x.max()) if finite_x.size else (0.0, 1.0))
    if x_high <= x_low:
        x_low, x_high = x_low - 1, x_high + 1
    x_ticks = nice_ticks(x_low, x_high)
    x_ticks = x_ticks[(x_ticks >= x_low) & (x_ticks <= x_high)]
    if finite_y.size == 0:
        y_low, y_high = (1.0, 10.0) if log_y else (0.0, 1.0)
    else:
        y_low, y_high = float(finite_y.min()), float(finite_y.max())
    if log_y:
        y_ticks = log_ticks(y_low, y_high)
        y_low, y_high = float(y_ticks[0]), float(y_ticks[-1])
        to_axis = np.log10
    else:
        y_ticks = nice_ticks(y_low, y_high)
        y_low, y_high = float(y_ticks[0]), float(y_ticks[-1])
        to_axis = np.asarray
    a_low, a_high = float(to_axis(y_low)), float(to_axis(y_high))
    width, height = plot_right - plot_left - 1, plot_bottom - plot_top - 1

    def px(x):
        return plot_left + (np.asarray(x, np.float64) - x_low) / (x_high - x_low) * width

    def py(y):
        with np.errstate(divide="ignore", invalid="ignore"):
            a = to_axis(np.where(np.asarray(y, np.float64) > 0, y, np.nan) if log_y
                        else np.asarray(y, np.float64))
        return plot_bottom - 1 - (a - a_low) / ((a_high - a_low) or 1.0) * height

    # Grid, ticks and their labels.
    for x in x_ticks:
        c = int(round(float(px(x))))
        canvas.fill(plot_top, c, plot_bottom, c + 1, _GRID)
        canvas.fill(plot_bottom, c, plot_bottom + 4, c + 1, _FRAME)
        canvas.text(c, plot_bottom + 6, format_number(float(x)), anchor="center")
    for y in y_ticks:
        r = int(round(float(py(y))))
        canvas.fill(r, plot_left, r + 1, plot_right, _GRID)
        canvas.fill(r, plot_left - 4, r + 1, plot_left, _FRAME)
        canvas.text(plot_left - 7, r - GLYPH_HEIGHT // 2 + 1, format_number(float(y)),
                    anchor="right", max_width=plot_left - left - 8)
    canvas.rectangle(plot_top, plot_left, plot_bottom, plot_right, _FRAME)
    canvas.text((plot_left + plot_right) / 2, plot_bottom + line + 6, x_label,
                anchor="center")

    clip = (plot_top + 1, plot_left + 1, plot_bottom - 1, plot_right - 1)
    for s in series:
        canvas.polyline(px(s.x), py(s.y), s.color, thickness=2, clip=clip)
    _legend(canvas, series, plot_top, plot_right)


def _legend(canvas: Canvas, series, plot_top, plot_right):
    """Box in the plot's top right corner: a colour swatch and the name per curve."""
    if not series:
        return
    names = [s.name for s in series]
    text_w = max(text_size(n)[1] for n in names)
    row = GLYPH_HEIGHT + 4
    w, h = text_w + 30, row * len(names) + 6
    top, right = plot_top + 6, plot_right - 6
    left = right - w
    canvas.fill(top, left, top + h, right, _WHITE)
    canvas.rectangle(top, left, top + h, right, _FRAME)
    for k, s in enumerate(series):
        y = top + 4 + k * row
        canvas.fill(y + 3, left + 5, y + 5, left + 20, s.color)
        canvas.text(left + 25, y, s.name)


def draw_header(canvas: Canvas, top, left, right, title, progress, lines):
    """Title, a progress bar with its percentage, then lines of status text."""
    canvas.text(left, top, title, scale=2, max_width=right - left)
    bar_top = top + 2 * GLYPH_HEIGHT + 8
    label = f"{progress:5.1f}%"
    bar_right = right - text_size(label)[1] - 10
    canvas.fill(bar_top, left, bar_top + 12, bar_right, _BAR_BACK)
    filled = left + (bar_right - left) * min(max(progress, 0.0), 100.0) / 100.0
    canvas.fill(bar_top, left, bar_top + 12, filled, _BAR_FILL)
    canvas.text(right, bar_top + 2, label, anchor="right")
    y = bar_top + 20
    for text in lines:
        canvas.text(left, y, text, max_width=right - left)
        y += GLYPH_HEIGHT + 4
    return y


def header_height(num_lines: int) -> int:
    return 2 * GLYPH_HEIGHT + 8 + 20 + num_lines * (GLYPH_HEIGHT + 4) + 14


def render_figure(panels, x_label, title, progress, lines, panel_width=440,
                  panel_height=300) -> np.ndarray:
    """The whole figure as an RGB uint8 array.

    ``panels`` is a list of (title, [Series], log_y). Up to 3 panels per row.
    """
    n = max(len(panels), 1)
    ncols = 1 if n == 1 else 2 if n in (2, 4) else 3
    nrows = math.ceil(n / ncols)
    margin = 12
    width = max(ncols * panel_width + 2 * margin, 480)
    head = header_height(len(lines))
    canvas = Canvas(head + nrows * panel_height + margin, width)
    draw_header(canvas, margin, margin, width - margin, title, progress, lines)
    cell_width = (width - 2 * margin) // ncols
    for k, (panel_title, series, log_y) in enumerate(panels):
        r, c = divmod(k, ncols)
        box = (head + r * panel_height, margin + c * cell_width,
               head + (r + 1) * panel_height, margin + (c + 1) * cell_width)
        draw_panel(canvas, box, panel_title, series, x_label, log_y)
    return canvas.to_uint8()
