"""The terminal progress bar of ``trainingProgressMonitor``: tqdm's or rich's when one of
them is installed, otherwise a plain one-line bar redrawn with carriage returns.

Each bar gets the same calls: ``update(progress, elapsed, summary)`` when the monitor
decides to redraw (it throttles), ``close()`` once at the end.
"""

from __future__ import annotations

import shutil
from typing import IO, Any, Optional, Union

__all__ = ["BAR_KINDS", "PlainBar", "format_duration", "make_bar", "remaining"]

BAR_KINDS = ("auto", "tqdm", "rich", "plain")
_WIDTH = 20


def format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def remaining(elapsed: float, progress: float) -> Optional[float]:
    """Seconds left at the average rate so far (None before any progress or when done)."""
    if 0 < progress < 100:
        return elapsed * (100 - progress) / progress
    return None


class PlainBar:
    """``[#####---------------]  25.0% 0:00:12 ~0:00:36 left | summary``, redrawn in place."""

    def __init__(self, stream: IO[str]):
        self._stream = stream
        self._length = 0

    @staticmethod
    def line(progress: float, elapsed: float, summary: str, width: int) -> str:
        filled = int(round(_WIDTH * progress / 100.0))
        left = remaining(elapsed, progress)
        eta = f" ~{format_duration(left)} left" if left is not None else ""
        head = f"[{'#' * filled}{'-' * (_WIDTH - filled)}] {progress:5.1f}% {format_duration(elapsed)}{eta}"
        line = " | ".join([head, summary]) if summary else head
        return line if len(line) <= width else line[: max(width - 3, 0)] + "..."

    def update(self, progress: float, elapsed: float, summary: str) -> None:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        line = self.line(progress, elapsed, summary, width)
        # Blank out what is left of a longer previous line.
        pad = " " * max(self._length - len(line), 0)
        self._stream.write("\r" + line + pad)
        self._stream.flush()
        self._length = len(line)

    def close(self) -> None:
        self._stream.write("\n")
        self._stream.flush()


class TqdmBar:
    def __init__(self, stream: IO[str], tqdm: Any):
        # The monitor decides when to redraw; tqdm's own rate limit would drop the final
        # state, so refresh() is called explicitly and mininterval does not apply.
        self._bar = tqdm(
            total=100, file=stream, leave=True, dynamic_ncols=True, bar_format="{percentage:5.1f}%|{bar}| {elapsed}<{remaining}{postfix}"
        )

    def update(self, progress: float, elapsed: float, summary: str) -> None:
        self._bar.n = progress
        self._bar.set_postfix_str(summary, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


class RichBar:
    def __init__(self, stream: IO[str], progress_module: Any, console_module: Any):
        p = progress_module
        self._progress = p.Progress(
            p.TextColumn("{task.percentage:>5.1f}%"),
            p.BarColumn(),
            p.TimeElapsedColumn(),
            p.TextColumn("<"),
            p.TimeRemainingColumn(),
            p.TextColumn("{task.fields[summary]}"),
            console=console_module.Console(file=stream),
            auto_refresh=False,
        )
        self._task = self._progress.add_task("", total=100, summary="")
        self._progress.start()

    def update(self, progress: float, elapsed: float, summary: str) -> None:
        self._progress.update(self._task, completed=progress, summary=summary)
        self._progress.refresh()

    def close(self) -> None:
        self._progress.stop()


def make_bar(kind: str, stream: IO[str]) -> Union[PlainBar, "TqdmBar", "RichBar"]:
    """The bar for ``kind`` ("auto": tqdm, else rich, else plain). Asking for a library
    that is not installed raises ImportError."""
    if kind in ("auto", "tqdm"):
        try:
            from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]
        except ImportError:
            if kind == "tqdm":
                raise
        else:
            return TqdmBar(stream, tqdm)
    if kind in ("auto", "rich"):
        try:
            import rich.console
            import rich.progress
        except ImportError:
            if kind == "rich":
                raise
        else:
            return RichBar(stream, rich.progress, rich.console)
    return PlainBar(stream)
