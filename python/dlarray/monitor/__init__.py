"""MATLAB's ``trainingProgressMonitor`` for Python: a progress bar and live plots.

MATLAB opens a window with a progress bar, the info fields, one plot per metric group and
a Stop button. Here (the plots are matplotlib figures):

* where matplotlib has an interactive backend (a desktop session), a window like MATLAB's,
  Stop button included, redrawn at most once a second; it stays open after :meth:`close`
  for as long as the program runs (end a script with ``matplotlib.pyplot.show()`` to keep
  it up);
* in a Jupyter kernel, the figure inline, updated in place at most once a second;
* in a terminal, a one-line progress bar on stderr (tqdm's or rich's when installed,
  otherwise a plain one) with percentage, elapsed and remaining time, latest metrics and
  info, redrawn at most 10 times a second; when stderr is not a terminal nothing is
  printed while training runs, and a single summary line is printed by :meth:`close`;
* anywhere, :meth:`savefig` / :meth:`save_png` write the figure (PNG, SVG, PDF, ...),
  ``png_path`` writes it on :meth:`close`, and :meth:`figure` hands out a copy to edit.

``monitor.stop`` is an ordinary settable flag (the window's Stop button sets it; so can a
callback, a signal handler or the loop itself), so MATLAB's ``while ~monitor.Stop`` loops
port unchanged.

matplotlib's global state is left alone: no backend is chosen and no rcParams are set. The
headless figures are ``matplotlib.figure.Figure`` objects with an Agg canvas; only the
window goes through pyplot, since that is what creates windows.
"""

from __future__ import annotations

import io
import math
import os
import sys
import time
import warnings
from typing import IO, TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

import numpy as np

from .._matlab_names import MatlabProperties, accept_matlab_names
from . import _progress_bar
from ._figure import MonitorFigure, Panel, Snapshot

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["trainingProgressMonitor"]

_REDRAW_INTERVAL = 0.1  # seconds between terminal redraws (<= 10 per second)
_PLOT_INTERVAL = 1.0  # seconds between live figure updates (window, notebook),
_PLOT_BUDGET = 0.1  # or more, so that drawing takes at most 10% of the time
# Interactive backends that do not open a desktop window of their own.
_NOT_WINDOWS = {"nbagg", "notebook", "webagg"}


def _names(value: Any, what: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    names = tuple(str(v) for v in value)
    if len(set(names)) != len(names):
        raise ValueError(f"trainingProgressMonitor: duplicate {what} names in {names}")
    return names


def _pairs(args: Sequence[Any], kwargs: Dict[str, Any], method: str) -> Dict[str, Any]:
    """MATLAB-style ("Name", value, ...) pairs or a dict, plus keyword arguments."""
    values: Dict[str, Any] = {}
    args = list(args)
    if args and isinstance(args[0], dict):
        values.update(args.pop(0))
    if len(args) % 2:
        raise TypeError(f"trainingProgressMonitor.{method}: expected name-value pairs, got an odd number of positional arguments")
    for name, value in zip(args[::2], args[1::2]):
        if not isinstance(name, str):
            raise TypeError(f"trainingProgressMonitor.{method}: names must be strings, got {name!r}")
        values[name] = value
    values.update(kwargs)
    return values


def _format_number(value: float) -> str:
    """Short text for a number: 4 significant digits, no trailing zeros."""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{value:.4g}"


def _format_value(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return _format_number(float(value))
    return str(value)


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython is optional)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and hasattr(shell, "kernel")


def _window_backend() -> bool:
    """True when matplotlib's backend opens desktop windows. Asking for the backend name
    resolves matplotlib's automatic choice exactly as pyplot's first use would (Agg when
    there is no display); the choice itself stays matplotlib's and the user's."""
    import matplotlib
    from matplotlib.backends.registry import BackendFilter, backend_registry

    name = matplotlib.get_backend().lower()
    interactive = set(backend_registry.list_builtin(BackendFilter.INTERACTIVE))
    return name in interactive - _NOT_WINDOWS


def _secondary_process() -> bool:
    """In data-parallel training (``mpirun``) only process 0 draws and writes the figure."""
    from ..parallel.world import is_secondary

    return is_secondary(started_only=False)


class trainingProgressMonitor(MatlabProperties):
    """Monitor and plot training progress (MATLAB's ``trainingProgressMonitor``).

    Parameters
    ----------
    metrics : metric names (each gets its own sub-plot unless grouped).
    info : names of information fields shown next to the progress bar.
    x_label : label of the plots' x axis (default ``"Iteration"``).
    visible : show the window / notebook figure / terminal bar (files are written
        regardless).
    progress : initial progress in percent; status : initial status text.
    png_path : if given, :meth:`close` writes the final figure there (the format follows
        the extension: ``.png``, ``.svg``, ``.pdf``, ...).
    title : heading of the figure (and the window's title).
    stream : where the terminal bar goes (default ``sys.stderr``).
    window : open a matplotlib window: ``None`` (default) when matplotlib's backend is an
        interactive one and not in a notebook, ``True`` always (warns when the backend
        cannot show one), ``False`` never.
    bar : terminal bar: ``"auto"`` (tqdm, else rich, else plain), ``"tqdm"``, ``"rich"``
        or ``"plain"``.

    Attributes with MATLAB's names: ``metrics``, ``info``, ``x_label``, ``progress``,
    ``status``, ``stop``, ``visible``, ``metric_data`` (name -> (steps, values) arrays),
    ``info_data`` (name -> list of every value given), ``start_time`` and
    ``elapsed_time`` (seconds). MATLAB's spellings read and assign them too
    (``monitor.Progress = 50``, ``monitor.Stop``).
    """

    _matlab_assignable = frozenset({"metrics", "info", "x_label", "progress", "status", "stop", "visible"})

    def __init__(
        self,
        metrics: Union[str, Iterable[str], None] = (),
        info: Union[str, Iterable[str], None] = (),
        x_label: str = "Iteration",
        visible: bool = True,
        progress: float = 0.0,
        status: str = "",
        png_path: Union[str, "os.PathLike[str]", None] = None,
        title: str = "Training Progress",
        stream: Optional[IO[str]] = None,
        window: Optional[bool] = None,
        bar: str = "auto",
    ) -> None:
        if bar not in _progress_bar.BAR_KINDS:
            raise ValueError(f"trainingProgressMonitor: bar must be one of {list(_progress_bar.BAR_KINDS)}, got {bar!r}")
        if window not in (None, True, False):
            raise ValueError(f"trainingProgressMonitor: window must be None, True or False, got {window!r}")
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
        self._steps: Dict[str, List[float]] = {m: [] for m in self._metrics}
        self._values: Dict[str, List[float]] = {m: [] for m in self._metrics}
        self._info_values: Dict[str, List[Any]] = {name: [] for name in self._info}
        self._groups: Dict[str, Tuple[str, ...]] = {}  # group name -> its metrics
        self._log_scale: Set[str] = set()  # metric or group names on a log y axis
        self._progress = 0.0
        self._status = str(status)
        self._last_x: Optional[float] = None
        self._closed = False
        self._bar_kind = bar
        self._bar: Any = None  # terminal bar, made on the first redraw
        self._last_draw = 0.0
        self._figure: Optional[MonitorFigure] = None  # headless (files, notebook)
        self._window_mode = window
        self._window: Optional[MonitorFigure] = None  # in a pyplot window
        self._window_decided = False
        self._notebook_display: Any = None
        self._last_plot = 0.0
        self._plot_cost = 0.0  # seconds the last figure update took
        self.progress = progress

    # Properties ------------------------------------------------------------------------
    @property
    def metrics(self) -> Tuple[str, ...]:
        return self._metrics

    @metrics.setter
    def metrics(self, names: Union[str, Iterable[str], None]) -> None:
        """MATLAB allows adding metrics later; data of kept metrics is kept."""
        self._metrics = _names(names, "metric")
        for m in self._metrics:
            self._steps.setdefault(m, [])
            self._values.setdefault(m, [])

    @property
    def info(self) -> Tuple[str, ...]:
        return self._info

    @info.setter
    def info(self, names: Union[str, Iterable[str], None]) -> None:
        self._info = _names(names, "info")
        for name in self._info:
            self._info_values.setdefault(name, [])

    @property
    def progress(self) -> float:
        return self._progress

    @progress.setter
    def progress(self, value: float) -> None:
        value = float(value)
        if not 0.0 <= value <= 100.0:
            raise ValueError(f"trainingProgressMonitor: progress must be between 0 and 100, got {value}")
        self._progress = value
        self._refresh(force=value >= 100.0)

    @property
    def status(self) -> str:
        return self._status

    @status.setter
    def status(self, text: str) -> None:
        self._status = str(text)
        self._refresh()

    @property
    def elapsed_time(self) -> float:
        return time.perf_counter() - self._clock0

    @property
    def metric_data(self) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
        return {m: (np.asarray(self._steps[m], np.float64), np.asarray(self._values[m], np.float64)) for m in self._metrics}

    @property
    def info_data(self) -> Dict[str, List[Any]]:
        return {name: list(self._info_values[name]) for name in self._info}

    # Recording ---------------------------------------------------------------------------
    def record_metrics(self, step: Any, *pairs: Any, **metrics: Any) -> None:
        """Record metric values at ``step`` (MATLAB's ``recordMetrics``).

        ``record_metrics(it, Loss=0.3)``, ``record_metrics(it, "Loss", 0.3)`` and
        ``record_metrics(it, {"Loss": 0.3})`` are equivalent. Values may be Python or
        numpy numbers, or scalar dlarrays; a vector of steps with vectors of values
        records several points at once.
        """
        values = _pairs(pairs, metrics, "record_metrics")
        unknown = [name for name in values if name not in self._metrics]
        if unknown:
            raise ValueError(
                f"trainingProgressMonitor.record_metrics: unknown metric(s) "
                f"{unknown}; declared metrics are {list(self._metrics)} "
                f"(add names with metrics=...)"
            )
        steps = np.atleast_1d(np.asarray(_to_numpy(step), np.float64)).ravel()
        for name, value in values.items():
            v = np.atleast_1d(np.asarray(_to_numpy(value), np.float64)).ravel()
            if v.size != steps.size:
                raise ValueError(f"trainingProgressMonitor.record_metrics: {name} has {v.size} value(s) for {steps.size} step(s)")
            self._steps[name].extend(steps.tolist())
            self._values[name].extend(v.tolist())
        self._last_x = steps[-1] if steps.size else self._last_x
        self._refresh()

    def update_info(self, *pairs: Any, **info: Any) -> None:
        """Set information fields (MATLAB's ``updateInfo``): numbers or text."""
        values = _pairs(pairs, info, "update_info")
        unknown = [name for name in values if name not in self._info]
        if unknown:
            raise ValueError(
                f"trainingProgressMonitor.update_info: unknown info field(s) {unknown}; declared fields are {list(self._info)}"
            )
        for name, value in values.items():
            self._info_values[name].append(_to_numpy(value))
        self._refresh()

    def group_sub_plot(self, group_name: str, metrics: Union[str, Iterable[str]]) -> None:
        """Plot several metrics in one sub-plot (MATLAB's ``groupSubPlot``)."""
        names = _names(metrics, "metric")
        unknown = [m for m in names if m not in self._metrics]
        if unknown:
            raise ValueError(
                f"trainingProgressMonitor.group_sub_plot: unknown metric(s) {unknown}; declared metrics are {list(self._metrics)}"
            )
        # A metric lives in one sub-plot only: take it out of earlier groups.
        for group, members in list(self._groups.items()):
            kept = tuple(m for m in members if m not in names)
            if kept:
                self._groups[group] = kept
            else:
                del self._groups[group]
        self._groups[str(group_name)] = names

    def yscale(self, names: Union[str, Iterable[str]], scale: str = "log") -> None:
        """Use a ``"log"`` or ``"linear"`` y axis for metrics or groups (MATLAB's
        ``yscale``)."""
        if scale not in ("log", "linear"):
            raise ValueError(f"trainingProgressMonitor.yscale: scale must be 'log' or 'linear', got {scale!r}")
        for name in _names(names, "metric"):
            if name not in self._metrics and name not in self._groups:
                raise ValueError(f"trainingProgressMonitor.yscale: {name!r} is neither a metric nor a group")
            if scale == "log":
                self._log_scale.add(name)
            else:
                self._log_scale.discard(name)

    # Figures ----------------------------------------------------------------------------
    def _panels(self) -> List[Tuple[str, List[Tuple[str, np.ndarray, np.ndarray]], bool]]:
        """(title, series, log_y) per sub-plot, groups first, then ungrouped metrics;
        series are (name, steps, values) arrays."""
        grouped = {m for members in self._groups.values() for m in members}
        layout = [(g, members) for g, members in self._groups.items()]
        layout += [(m, (m,)) for m in self._metrics if m not in grouped]
        panels = []
        for title, members in layout:
            series = [(m, np.asarray(self._steps[m], np.float64), np.asarray(self._values[m], np.float64)) for m in members]
            log_y = title in self._log_scale or any(m in self._log_scale for m in members)
            panels.append((title, series, log_y))
        return panels

    def _summary_parts(self, status: bool = True) -> List[str]:
        parts = []
        if self._status and status:
            parts.append(self._status)
        for name in self._info:
            if self._info_values[name]:
                parts.append(f"{name}: {_format_value(self._info_values[name][-1])}")
        for m in self._metrics:
            if self._values[m]:
                parts.append(f"{m}: {_format_number(self._values[m][-1])}")
        return parts

    def _snapshot(self) -> Snapshot:
        elapsed = self.elapsed_time
        timing = f"Elapsed {_progress_bar.format_duration(elapsed)}"
        left = _progress_bar.remaining(elapsed, self._progress)
        if left is not None:
            timing += f", about {_progress_bar.format_duration(left)} remaining"
        if self._status:
            timing += f" | {self._status}"
        panels = [Panel(title, series, log_y, legend=len(series) > 1 or series[0][0] != title) for title, series, log_y in self._panels()]
        return Snapshot(self.title, self.x_label, self._progress, [timing, " | ".join(self._summary_parts(status=False))], panels)

    def _headless(self) -> "Figure":
        """The monitor's own Agg figure, brought up to date."""
        if self._figure is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            figure = Figure()
            FigureCanvasAgg(figure)
            self._figure = MonitorFigure(figure)
        self._figure.draw(self._snapshot())
        return self._figure.figure

    def figure(self) -> "Figure":
        """A new ``matplotlib.figure.Figure`` (Agg canvas) showing the current state, the
        caller's to restyle, annotate or save."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure()
        FigureCanvasAgg(fig)
        MonitorFigure(fig).draw(self._snapshot())
        return fig

    def render(self) -> np.ndarray:
        """The figure as an RGB uint8 array of shape (height, width, 3)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = self._headless()
        canvas = fig.canvas
        assert isinstance(canvas, FigureCanvasAgg)  # set by _headless
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()

    def savefig(self, path: Any, format: Optional[str] = None, **kwargs: Any) -> None:
        """Write the figure to ``path`` (a file name or binary file object); the format
        follows the extension unless ``format`` ("png", "svg", "pdf", ...) is given.
        Other keyword arguments go to ``matplotlib.figure.Figure.savefig``."""
        fig = self._headless()
        kwargs.setdefault("dpi", fig.dpi)  # not the user's savefig.dpi rcParam
        fig.savefig(path, format=format, **kwargs)

    def save_png(self, path: Any) -> None:
        """Write the figure as a PNG file."""
        self.savefig(path, format="png")

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()

    # Live display ------------------------------------------------------------------------
    def _is_terminal(self) -> bool:
        isatty = getattr(self._stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except (ValueError, OSError):  # closed stream
            return False

    def _status_line(self, width: int) -> str:
        """The plain bar's text (also the summary line printed when not a terminal)."""
        summary = self._summary_parts()
        if self._last_x is not None:
            summary.insert(0, f"{self.x_label} {_format_value(self._last_x)}")
        return _progress_bar.PlainBar.line(self._progress, self.elapsed_time, " | ".join(summary), width)

    def _refresh(self, force: bool = False) -> None:
        if not self.visible or self._closed or _secondary_process():
            return
        now = time.perf_counter()
        if self._is_terminal() and not _in_notebook() and (force or now - self._last_draw >= _REDRAW_INTERVAL):
            self._last_draw = now
            self._draw_bar()
        if force or now - self._last_plot >= max(_PLOT_INTERVAL, self._plot_cost / _PLOT_BUDGET):
            if _in_notebook():
                self._show_in_notebook()
            elif self._use_window():
                self._draw_window()
            self._last_plot = time.perf_counter()
            self._plot_cost = self._last_plot - now

    def _draw_bar(self) -> None:
        if self._bar is None:
            self._bar = _progress_bar.make_bar(self._bar_kind, self._stream)
        summary = self._summary_parts()
        if self._last_x is not None:
            summary.insert(0, f"{self.x_label} {_format_value(self._last_x)}")
        self._bar.update(self._progress, self.elapsed_time, " | ".join(summary))

    def _show_in_notebook(self) -> None:
        try:
            from IPython.display import Image, display  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            return
        image = Image(data=self._repr_png_())
        if self._notebook_display is None:
            self._notebook_display = display(image, display_id=True)
        else:
            self._notebook_display.update(image)

    def _use_window(self) -> bool:
        if not self._window_decided:
            self._window_decided = True
            if self._window_mode is None:
                self._window_mode = _window_backend()
            elif self._window_mode and not _window_backend():
                import matplotlib

                warnings.warn(
                    f"trainingProgressMonitor: matplotlib's backend {matplotlib.get_backend()!r} cannot open a window; showing none",
                    RuntimeWarning,
                    stacklevel=4,
                )
                self._window_mode = False
        return bool(self._window_mode)

    def _draw_window(self) -> None:
        import matplotlib.pyplot as plt

        if self._window is None:
            fig = plt.figure(facecolor="white")
            manager = fig.canvas.manager
            if manager is not None:
                manager.set_window_title(self.title)
            self._window = MonitorFigure(fig, on_stop=self._request_stop)
            self._window.draw(self._snapshot())
            fig.show()
        elif not plt.fignum_exists(self._window.figure.number):
            # The user closed the window: training goes on without it.
            self._window_mode = False
            self._window = None
            return
        else:
            self._window.draw(self._snapshot())
        canvas = self._window.figure.canvas
        canvas.draw_idle()
        canvas.flush_events()  # paint now and handle the Stop button

    def _request_stop(self) -> None:
        self.stop = True

    def close(self) -> None:
        """Finish: final redraw, a summary line when stderr is not a terminal, and the
        figure written to ``png_path`` if given. Called by ``with`` blocks; idempotent.
        A window stays open."""
        if self._closed:
            return
        if self.visible and not _secondary_process():
            self._refresh(force=True)
            if self._bar is not None:
                self._bar.close()
            elif not self._is_terminal() and not _in_notebook():
                self._stream.write(self._status_line(10_000) + "\n")
                self._stream.flush()
        self._closed = True
        if self.png_path is not None and not _secondary_process():
            self.savefig(self.png_path)

    finish = close

    def __enter__(self) -> "trainingProgressMonitor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"trainingProgressMonitor(metrics={list(self._metrics)}, "
            f"info={list(self._info)}, progress={self._progress:g}, "
            f"stop={self.stop})"
        )


def _to_numpy(value: Any) -> Any:
    """Numbers, numpy values and dlarrays (anything with ``__array__`` or ``float``)."""
    if isinstance(value, (int, float, str, np.generic, np.ndarray)):
        return value
    if hasattr(value, "__array__"):
        return np.asarray(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


accept_matlab_names(globals())
