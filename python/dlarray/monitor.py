"""MATLAB's ``trainingProgressMonitor`` for Python: a terminal progress bar and a plot.

MATLAB opens a window with a progress bar, the info fields and one plot per metric
group, plus a Stop button. Here:

* in a terminal, a one-line progress bar on stderr (percentage, elapsed and estimated
  remaining time, latest metrics and info), redrawn in place at most 10 times a second;
  when stderr is not a terminal nothing is printed while training runs, and a single
  summary line is printed by :meth:`close`;
* in a Jupyter kernel, a live PNG of the plots, updated at most once a second;
* anywhere, :meth:`save_png` writes the plots (matplotlib is not needed), and
  ``png_path`` writes them on :meth:`close`.

There is no Stop button; ``monitor.stop`` is an ordinary settable flag (set it from a
callback, a signal handler or the loop itself), so MATLAB's ``while ~monitor.Stop`` loops
port unchanged.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from .data import _plot
from .data._png import encode_png

_REDRAW_INTERVAL = 0.1        # seconds between terminal redraws (<= 10 per second)
_NOTEBOOK_INTERVAL = 1.0      # seconds between live notebook plot updates
_BAR_WIDTH = 20


def _names(value, what: str) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    names = tuple(str(v) for v in value)
    if len(set(names)) != len(names):
        raise ValueError(f"trainingProgressMonitor: duplicate {what} names in {names}")
    return names


def _pairs(args, kwargs, method: str) -> dict:
    """MATLAB-style ("Name", value, ...) pairs or a dict, plus keyword arguments."""
    values = {}
    args = list(args)
    if args and isinstance(args[0], dict):
        values.update(args.pop(0))
    if len(args) % 2:
        raise TypeError(f"trainingProgressMonitor.{method}: expected name-value pairs, "
                        f"got an odd number of positional arguments")
    for name, value in zip(args[::2], args[1::2]):
        if not isinstance(name, str):
            raise TypeError(f"trainingProgressMonitor.{method}: names must be strings, "
                            f"got {name!r}")
        values[name] = value
    values.update(kwargs)
    return values


def _format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _format_value(value) -> str:
    if isinstance(value, (float, np.floating)):
        return _plot.format_number(float(value))
    return str(value)


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython is optional)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and hasattr(shell, "kernel")


class trainingProgressMonitor:
    """Monitor and plot training progress (MATLAB's ``trainingProgressMonitor``).

    Parameters
    ----------
    metrics : metric names (each gets its own sub-plot unless grouped).
    info : names of information fields shown next to the progress bar.
    x_label : label of the plots' x axis (default ``"Iteration"``).
    visible : show the terminal bar / notebook plot (the PNG is written regardless).
    progress : initial progress in percent; status : initial status text.
    png_path : if given, :meth:`close` writes the final plot there.
    title : heading of the plot.
    stream : where the terminal bar goes (default ``sys.stderr``).

    Attributes with MATLAB's names: ``metrics``, ``info``, ``x_label``, ``progress``,
    ``status``, ``stop``, ``visible``, ``metric_data`` (name -> (steps, values) arrays),
    ``info_data`` (name -> list of every value given), ``start_time`` and
    ``elapsed_time`` (seconds).
    """

    def __init__(self, metrics=(), info=(), x_label: str = "Iteration",
                 visible: bool = True, progress: float = 0.0, status: str = "",
                 png_path=None, title: str = "Training Progress", stream=None):
        self._metrics = _names(metrics, "metric")
        self._info = _names(info, "info")
        self.x_label = str(x_label)
        self.visible = bool(visible)
        self.png_path = png_path
        self.title = title
        self.stop = False
        self.start_time = time.time()
        self._clock0 = time.perf_counter()
        self._stream = stream if stream is not None else sys.stderr
        self._steps = {m: [] for m in self._metrics}
        self._values = {m: [] for m in self._metrics}
        self._info_values = {name: [] for name in self._info}
        self._groups = {}                      # group name -> tuple of metric names
        self._log_scale = set()                # metric or group names on a log y axis
        self._progress = 0.0
        self._status = str(status)
        self._last_x = None
        self._last_draw = 0.0
        self._line_length = 0
        self._closed = False
        self._notebook_display = None
        self._last_notebook = 0.0
        self.progress = progress

    # Properties ------------------------------------------------------------------------
    @property
    def metrics(self) -> tuple:
        return self._metrics

    @metrics.setter
    def metrics(self, names):
        """MATLAB allows adding metrics later; data of kept metrics is kept."""
        self._metrics = _names(names, "metric")
        for m in self._metrics:
            self._steps.setdefault(m, [])
            self._values.setdefault(m, [])

    @property
    def info(self) -> tuple:
        return self._info

    @info.setter
    def info(self, names):
        self._info = _names(names, "info")
        for name in self._info:
            self._info_values.setdefault(name, [])

    @property
    def progress(self) -> float:
        return self._progress

    @progress.setter
    def progress(self, value):
        value = float(value)
        if not 0.0 <= value <= 100.0:
            raise ValueError(f"trainingProgressMonitor: progress must be between 0 and "
                             f"100, got {value}")
        self._progress = value
        self._refresh(force=value >= 100.0)

    @property
    def status(self) -> str:
        return self._status

    @status.setter
    def status(self, text):
        self._status = str(text)
        self._refresh()

    @property
    def elapsed_time(self) -> float:
        return time.perf_counter() - self._clock0

    @property
    def metric_data(self) -> dict:
        return {m: (np.asarray(self._steps[m], np.float64),
                    np.asarray(self._values[m], np.float64)) for m in self._metrics}

    @property
    def info_data(self) -> dict:
        return {name: list(self._info_values[name]) for name in self._info}

    # Recording ---------------------------------------------------------------------------
    def record_metrics(self, step, *pairs, **metrics):
        """Record metric values at ``step`` (MATLAB's ``recordMetrics``).

        ``record_metrics(it, Loss=0.3)``, ``record_metrics(it, "Loss", 0.3)`` and
        ``record_metrics(it, {"Loss": 0.3})`` are equivalent. Values may be Python or
        numpy numbers, or scalar dlarrays; a vector of steps with vectors of values
        records several points at once.
        """
        values = _pairs(pairs, metrics, "record_metrics")
        unknown = [name for name in values if name not in self._metrics]
        if unknown:
            raise ValueError(f"trainingProgressMonitor.record_metrics: unknown metric(s) "
                             f"{unknown}; declared metrics are {list(self._metrics)} "
                             f"(add names with metrics=...)")
        steps = np.atleast_1d(np.asarray(_to_numpy(step), np.float64)).ravel()
        for name, value in values.items():
            v = np.atleast_1d(np.asarray(_to_numpy(value), np.float64)).ravel()
            if v.size != steps.size:
                raise ValueError(f"trainingProgressMonitor.record_metrics: {name} has "
                                 f"{v.size} value(s) for {steps.size} step(s)")
            self._steps[name].extend(steps.tolist())
            self._values[name].extend(v.tolist())
        self._last_x = steps[-1] if steps.size else self._last_x
        self._refresh()

    def update_info(self, *pairs, **info):
        """Set information fields (MATLAB's ``updateInfo``): numbers or text."""
        values = _pairs(pairs, info, "update_info")
        unknown = [name for name in values if name not in self._info]
        if unknown:
            raise ValueError(f"trainingProgressMonitor.update_info: unknown info field(s) "
                             f"{unknown}; declared fields are {list(self._info)}")
        for name, value in values.items():
            self._info_values[name].append(_to_numpy(value))
        self._refresh()

    def group_sub_plot(self, group_name: str, metrics):
        """Plot several metrics in one sub-plot (MATLAB's ``groupSubPlot``)."""
        names = _names(metrics, "metric")
        unknown = [m for m in names if m not in self._metrics]
        if unknown:
            raise ValueError(f"trainingProgressMonitor.group_sub_plot: unknown metric(s) "
                             f"{unknown}; declared metrics are {list(self._metrics)}")
        # A metric lives in one sub-plot only: take it out of earlier groups.
        for group, members in list(self._groups.items()):
            kept = tuple(m for m in members if m not in names)
            if kept:
                self._groups[group] = kept
            else:
                del self._groups[group]
        self._groups[str(group_name)] = names

    def yscale(self, names, scale: str = "log"):
        """Use a ``"log"`` or ``"linear"`` y axis for metrics or groups (MATLAB's
        ``yscale``)."""
        if scale not in ("log", "linear"):
            raise ValueError(f"trainingProgressMonitor.yscale: scale must be 'log' or "
                             f"'linear', got {scale!r}")
        for name in _names(names, "metric"):
            if name not in self._metrics and name not in self._groups:
                raise ValueError(f"trainingProgressMonitor.yscale: {name!r} is neither a "
                                 f"metric nor a group")
            if scale == "log":
                self._log_scale.add(name)
            else:
                self._log_scale.discard(name)

    # Rendering ---------------------------------------------------------------------------
    def _panels(self):
        """(title, series, log_y) per sub-plot: groups first, then ungrouped metrics."""
        grouped = {m for members in self._groups.values() for m in members}
        layout = [(g, members) for g, members in self._groups.items()]
        layout += [(m, (m,)) for m in self._metrics if m not in grouped]
        panels, color = [], 0
        for title, members in layout:
            series = []
            for m in members:
                series.append(_plot.Series(m, self._steps[m], self._values[m],
                                           _plot.COLORS[color % len(_plot.COLORS)]))
                color += 1
            log_y = title in self._log_scale or any(m in self._log_scale for m in members)
            panels.append((title, series, log_y))
        return panels

    def _summary_parts(self):
        parts = []
        if self._status:
            parts.append(self._status)
        for name in self._info:
            if self._info_values[name]:
                parts.append(f"{name}: {_format_value(self._info_values[name][-1])}")
        for m in self._metrics:
            if self._values[m]:
                parts.append(f"{m}: {_plot.format_number(self._values[m][-1])}")
        return parts

    def render(self) -> np.ndarray:
        """The plot as an RGB uint8 array (what :meth:`save_png` writes)."""
        elapsed = self.elapsed_time
        timing = f"Elapsed {_format_duration(elapsed)}"
        if 0 < self._progress < 100:
            timing += (f", about {_format_duration(elapsed * (100 - self._progress) / self._progress)}"
                       " remaining")
        lines = [timing] + [" | ".join(self._summary_parts())]
        return _plot.render_figure(self._panels(), self.x_label, self.title,
                                   self._progress, lines)

    def save_png(self, path):
        """Write the metric plots (one sub-plot per group) as a PNG file."""
        data = encode_png(self.render())
        with open(path, "wb") as f:
            f.write(data)

    def _repr_png_(self):
        return encode_png(self.render())

    # Live display ------------------------------------------------------------------------
    def _is_terminal(self) -> bool:
        isatty = getattr(self._stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except (ValueError, OSError):       # closed stream
            return False

    def _status_line(self, width: int) -> str:
        filled = int(round(_BAR_WIDTH * self._progress / 100.0))
        elapsed = self.elapsed_time
        eta = (f" ~{_format_duration(elapsed * (100 - self._progress) / self._progress)} left"
               if 0 < self._progress < 100 else "")
        head = (f"[{'#' * filled}{'-' * (_BAR_WIDTH - filled)}] {self._progress:5.1f}% "
                f"{_format_duration(elapsed)}{eta}")
        if self._last_x is not None:
            head += f" | {self.x_label} {_format_value(self._last_x)}"
        line = " | ".join([head] + self._summary_parts())
        return line if len(line) <= width else line[:max(width - 3, 0)] + "..."

    def _refresh(self, force: bool = False):
        if not self.visible or self._closed:
            return
        now = time.perf_counter()
        if self._is_terminal() and (force or now - self._last_draw >= _REDRAW_INTERVAL):
            self._last_draw = now
            import shutil
            width = shutil.get_terminal_size((100, 20)).columns - 1
            line = self._status_line(width)
            pad = " " * max(self._line_length - len(line), 0)
            self._stream.write("\r" + line + pad)
            self._stream.flush()
            self._line_length = len(line)
        if (force or now - self._last_notebook >= _NOTEBOOK_INTERVAL) and _in_notebook():
            self._last_notebook = now
            self._show_in_notebook()

    def _show_in_notebook(self):
        try:
            from IPython.display import Image, display
        except ImportError:
            return
        image = Image(data=encode_png(self.render(), compress_level=1))
        if self._notebook_display is None:
            self._notebook_display = display(image, display_id=True)
        else:
            self._notebook_display.update(image)

    def close(self):
        """Finish: final redraw, a summary line when stderr is not a terminal, and the
        PNG written to ``png_path`` if given. Called by ``with`` blocks; idempotent."""
        if self._closed:
            return
        if self.visible:
            if self._is_terminal():
                self._refresh(force=True)
                self._stream.write("\n")
            elif not _in_notebook():
                width = 10_000
                self._stream.write(self._status_line(width) + "\n")
            else:
                self._refresh(force=True)
            self._stream.flush()
        self._closed = True
        if self.png_path is not None:
            self.save_png(self.png_path)

    finish = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self) -> str:
        return (f"trainingProgressMonitor(metrics={list(self._metrics)}, "
                f"info={list(self._info)}, progress={self._progress:g}, "
                f"stop={self.stop})")


def _to_numpy(value):
    """Numbers, numpy values and dlarrays (anything with ``__array__`` or ``float``)."""
    if isinstance(value, (int, float, str, np.generic, np.ndarray)):
        return value
    if hasattr(value, "__array__"):
        return np.asarray(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return value
