"""trainingProgressMonitor: recording, the matplotlib figure (files, window, notebook) and
the terminal bar (pure Python: no compiled core needed)."""

import importlib
import io
import os
import pathlib
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest


def _import_pure(name):
    """Import a pure-Python module of the package; if the package cannot be imported
    because the compiled core is not built, load its pure-Python modules on their own."""
    try:
        return importlib.import_module(name)
    except ImportError:
        root = pathlib.Path(__file__).resolve().parents[1] / "python" / "dlarray"
        stub = types.ModuleType("dlarray")
        stub.__path__ = [str(root)]
        sys.modules["dlarray"] = stub
        return importlib.import_module(name)


monitor_module = _import_pure("dlarray.monitor")
trainingProgressMonitor = monitor_module.trainingProgressMonitor
import matplotlib  # noqa: E402  (a dependency: the monitor draws with it)
import matplotlib.image  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
MATLAB_BLUE = np.array([0, 114, 189])  # first line colour (MATLAB's)


def decode_png(blob: bytes) -> np.ndarray:
    """The PNG as an RGB uint8 array, decoded by matplotlib (Pillow-free)."""
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", "bad signature"
    image = matplotlib.image.imread(io.BytesIO(blob), format="png")
    assert image.dtype == np.float32 and image.ndim == 3 and image.shape[2] in (3, 4)
    return (image[:, :, :3] * 255 + 0.5).astype(np.uint8)


_PRELUDE = f"""
import sys, types
try:
    import dlarray
except ImportError:                      # compiled core not built: pure modules only
    stub = types.ModuleType("dlarray")
    stub.__path__ = [{str(ROOT / "python" / "dlarray")!r}]
    sys.modules["dlarray"] = stub
"""


def run_python(code: str, **env):
    """Run code in a fresh interpreter (matplotlib's global state untouched by other
    tests); returns its stdout."""
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), **env)
    proc = subprocess.run(
        [sys.executable, "-c", _PRELUDE + textwrap.dedent(code)], env=environment, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def _monitor(**kw):
    kw.setdefault("stream", io.StringIO())
    kw.setdefault("window", False)  # no desktop windows from the test suite
    return trainingProgressMonitor(**kw)


# --- recording ------------------------------------------------------------------------------


def test_record_metrics_styles():
    m = _monitor(metrics=["Loss", "Accuracy"])
    m.record_metrics(1, Loss=0.5)
    m.record_metrics(2, "Loss", 0.4, "Accuracy", 80)
    m.record_metrics(3, {"Loss": np.float32(0.3)})
    m.record_metrics(np.array([4, 5]), Loss=np.array([0.2, 0.1]))
    steps, values = m.metric_data["Loss"]
    assert steps.tolist() == [1, 2, 3, 4, 5]
    assert np.allclose(values, [0.5, 0.4, 0.3, 0.2, 0.1])
    assert m.metric_data["Accuracy"][1].tolist() == [80.0]
    with pytest.raises(ValueError, match="unknown metric"):
        m.record_metrics(6, Speed=1.0)
    with pytest.raises(TypeError):
        m.record_metrics(6, "Loss")
    with pytest.raises(ValueError):
        m.record_metrics([1, 2], Loss=1.0)


def test_record_metrics_accepts_scalar_dlarray():
    pytest.importorskip("dlarray._core", reason="compiled core dlarray._core not built")
    dl = importlib.import_module("dlarray")
    m = _monitor(metrics="Loss")
    m.record_metrics(1, Loss=dl.dlarray(np.float32(0.25)))
    assert m.metric_data["Loss"][1].tolist() == [0.25]


def test_update_info_and_properties():
    m = _monitor(metrics="Loss", info=["Epoch", "LearnRate"], x_label="Step")
    assert m.metrics == ("Loss",) and m.info == ("Epoch", "LearnRate")
    assert m.x_label == "Step" and m.progress == 0 and m.stop is False and m.visible
    m.update_info(Epoch=1, LearnRate=0.01)
    m.update_info("Epoch", "2 of 5")
    assert m.info_data == {"Epoch": [1, "2 of 5"], "LearnRate": [0.01]}
    with pytest.raises(ValueError, match="unknown info"):
        m.update_info(Speed=3)
    m.metrics = ["Loss", "Accuracy"]  # metrics can be added later
    m.record_metrics(1, Accuracy=0.5)
    assert m.elapsed_time >= 0 and m.start_time > 0


def test_progress_status_and_stop():
    m = _monitor()
    m.progress = 42.5
    assert m.progress == 42.5
    with pytest.raises(ValueError):
        m.progress = 101
    with pytest.raises(ValueError):
        m.progress = -1
    m.status = "Training"
    assert m.status == "Training"
    iterations = 0
    while not m.stop:  # MATLAB's "while ~monitor.Stop"
        iterations += 1
        if iterations == 3:
            m.stop = True
    assert iterations == 3 and m.stop is True


def test_groups_and_yscale():
    m = _monitor(metrics=["TrainLoss", "ValLoss", "Accuracy"])
    m.group_sub_plot("Loss", ["TrainLoss", "ValLoss"])
    m.yscale("Loss", "log")
    m.yscale("Accuracy", "linear")
    titles = [title for title, _, _ in m._panels()]
    assert titles == ["Loss", "Accuracy"]
    m.group_sub_plot("Val", "ValLoss")  # moves ValLoss out of "Loss"
    assert [len(series) for _, series, _ in m._panels()] == [1, 1, 1]
    with pytest.raises(ValueError):
        m.group_sub_plot("Bad", ["Nope"])
    with pytest.raises(ValueError):
        m.yscale("Nope", "log")
    with pytest.raises(ValueError):
        m.yscale("Loss", "sqrt")


# --- plots ----------------------------------------------------------------------------------


def _trained_monitor(**kw):
    m = _monitor(metrics=["TrainingLoss", "ValidationLoss", "Accuracy"], info="Epoch", **kw)
    m.group_sub_plot("Loss", ["TrainingLoss", "ValidationLoss"])
    m.yscale("Loss", "log")
    for i in range(1, 301):
        m.record_metrics(i, TrainingLoss=2.0 * np.exp(-i / 60) + 0.01)
        if i % 50 == 0:
            m.record_metrics(i, ValidationLoss=2.2 * np.exp(-i / 60) + 0.02, Accuracy=i / 3)
            m.update_info(Epoch=i // 50)
        m.progress = 100 * i / 300
    return m


def test_save_png_is_a_valid_plot(tmp_path):
    m = _trained_monitor()
    path = tmp_path / "progress.png"
    m.save_png(path)
    image = decode_png(path.read_bytes())
    rendered = m.render()
    assert image.shape == rendered.shape
    # Two sub-plots side by side (440 x 300 pixels each) under the header.
    assert 880 <= image.shape[1] <= 1000 and 350 <= image.shape[0] <= 500
    # Equal to render() except possibly the elapsed-time text.
    assert (image != rendered).any(-1).mean() < 0.01
    colors = {tuple(c) for c in image.reshape(-1, 3)[::7].tolist()}
    assert len(colors) > 5  # not a blank canvas
    assert (np.abs(image.astype(int) - MATLAB_BLUE).sum(-1) < 10).sum() > 100


def test_figure_holds_the_data():
    m = _trained_monitor()
    fig = m.figure()
    assert isinstance(fig, matplotlib.figure.Figure)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["Loss", "Accuracy"]
    loss, accuracy = panels
    assert loss.get_yscale() == "log" and accuracy.get_yscale() == "linear"
    assert [line.get_label() for line in loss.get_lines()] == ["TrainingLoss", "ValidationLoss"]
    assert loss.get_legend() is not None and accuracy.get_legend() is None
    assert all(ax.get_xlabel() == "Iteration" for ax in panels)
    train = loss.get_lines()[0]
    steps, values = m.metric_data["TrainingLoss"]
    assert np.array_equal(train.get_xdata(), steps)
    assert np.array_equal(train.get_ydata(), values)
    assert matplotlib.colors.to_hex(train.get_color()) == "#0072bd"
    low, high = loss.get_ylim()
    assert 0 < low <= values.min() and high >= values.max()
    assert accuracy.get_xlim()[0] <= 50 and accuracy.get_xlim()[1] >= 300
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "Training Progress" in texts and "100.0%" in texts and "Epoch: 6" in texts
    # A copy: editing it leaves the monitor's own figure alone.
    loss.set_title("changed")
    assert m.figure().axes[1].get_title() == "Loss"


def test_figure_follows_new_data_and_layout():
    m = _monitor(metrics=["A", "B"])
    m.record_metrics(1, A=1.0)
    before = m.render()
    m.record_metrics(np.arange(2, 50), A=np.linspace(2, 100, 48))
    after = m.render()
    assert before.shape == after.shape and (before != after).any()
    m.group_sub_plot("Both", ["A", "B"])  # the layout changes: rebuilt
    fig = m._headless()
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["Both"]
    assert m.render().shape[1] < after.shape[1]


def test_savefig_svg_pdf_and_file_objects(tmp_path):
    m = _trained_monitor()
    m.savefig(tmp_path / "p.svg")
    svg = (tmp_path / "p.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    m.savefig(tmp_path / "p.pdf")
    assert (tmp_path / "p.pdf").read_bytes()[:5] == b"%PDF-"
    buffer = io.BytesIO()
    m.savefig(buffer, format="png", dpi=50)
    small = decode_png(buffer.getvalue())
    assert small.shape[1] == pytest.approx(m.render().shape[1] / 2, abs=2)
    path = tmp_path / "final.svg"
    with _monitor(metrics="Loss", png_path=path) as m2:
        m2.record_metrics(1, Loss=1.0)
    assert "<svg" in path.read_text()


def test_render_edge_cases():
    m = _monitor(metrics=["A", "B"])
    assert m.render().ndim == 3  # no data at all
    m.record_metrics(1, A=float("nan"), B=-1.0)
    m.yscale("B", "log")  # non-positive on a log axis
    m.record_metrics(2, A=1.0, B=0.0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "cannot be log-scaled"
        # (not the deprecations older matplotlib releases trip over in their own dependencies)
        warnings.simplefilter("ignore", DeprecationWarning)
        assert decode_png(m._repr_png_()).shape[2] == 3
        b_axes = m._headless().axes[-1]
        assert b_axes.get_yscale() == "log" and b_axes.get_ylim() == (1, 10)
        m.record_metrics(3, A=2.0, B=1e-3)  # one positive value
        m.render()
        assert b_axes.get_ylim()[0] < 1e-3 < b_axes.get_ylim()[1]
    single = _monitor(metrics="Loss")
    single.record_metrics(5, Loss=3.0)  # one point, constant range
    image = single.render()
    assert image.shape[2] == 3
    # The lone point is drawn (a marker), not lost as a zero-length line.
    assert (np.abs(image.astype(int) - MATLAB_BLUE).sum(-1) < 10).sum() > 5
    many = _monitor(metrics=list("ABCDE"))
    assert many.render().shape[1] > single.render().shape[1]
    assert many.render().shape[0] > single.render().shape[0]  # two rows of sub-plots


def test_close_writes_png_once(tmp_path):
    path = tmp_path / "final.png"
    with _trained_monitor(png_path=path) as m:
        assert not path.exists()
    assert path.exists() and decode_png(path.read_bytes()).shape[2] == 3
    path.unlink()
    m.close()  # idempotent
    assert not path.exists()


def test_matplotlib_global_state_is_left_alone():
    out = run_python(
        """
        import io, sys
        import dlarray.monitor as mon
        assert "matplotlib" not in sys.modules, "imported at import time"
        m = mon.trainingProgressMonitor(metrics="Loss", stream=io.StringIO())
        import matplotlib
        before = {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}
        m.record_metrics(1, Loss=0.5)
        m.render(); m.savefig(io.BytesIO(), format="svg"); m.figure(); m.close()
        after = {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}
        assert before == after
        import matplotlib.pyplot as plt
        assert plt.get_fignums() == []                  # headless: no pyplot figures
        print(matplotlib.get_backend().lower())
        """,
        MPLBACKEND="agg",
    )
    assert out.strip() == "agg"


def test_headless_figures_never_use_pyplot():
    run_python(
        """
        import io, sys
        import dlarray.monitor as mon
        m = mon.trainingProgressMonitor(metrics="Loss", stream=io.StringIO(), window=False)
        m.record_metrics(1, Loss=0.5)
        m.render(); m.save_png(io.BytesIO()); m.figure(); m.close()
        assert "matplotlib.pyplot" not in sys.modules
        import matplotlib
        # still unresolved (the raw rcParams entry: get_backend() would resolve it, and its
        # auto_select=False form is matplotlib >= 3.10 only)
        assert dict.__getitem__(matplotlib.rcParams, "backend") is matplotlib.rcsetup._auto_backend_sentinel
        """,
        MPLBACKEND="",
    )


def test_window_with_stop_button():
    """With a window backend, the figure goes into a pyplot window whose Stop button sets
    monitor.stop; closing the window lets training go on without it. (Agg stands in for a
    desktop backend here; only the backend check is replaced.)"""
    out = run_python(
        """
        import io, warnings
        import matplotlib
        import matplotlib.pyplot as plt
        from matplotlib.backend_bases import MouseEvent
        import dlarray.monitor as mon
        mon._window_backend = lambda: True
        warnings.simplefilter("ignore", UserWarning)    # Agg: "cannot show the figure"
        m = mon.trainingProgressMonitor(metrics="Loss", stream=io.StringIO(),
                                        title="My run")
        assert plt.get_fignums() == [1]                 # opened at once, like MATLAB's
        fig = plt.figure(1)
        m.record_metrics(1, Loss=0.5)
        m.progress = 100                                # forces a redraw
        assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["Loss"]
        assert list(fig.axes[-1].get_lines()[0].get_ydata()) == [0.5]
        button = m._window._button
        assert button.label.get_text() == "Stop" and not m.stop
        fig.canvas.draw()
        x, y = button.ax.transAxes.transform((0.5, 0.5))
        for kind in ("button_press_event", "button_release_event"):
            fig.canvas.callbacks.process(kind, MouseEvent(kind, fig.canvas, x, y, button=1))
        assert m.stop is True and button.label.get_text() == "Stopping"
        plt.close(fig)                                  # the user closes the window
        m.progress = 50
        m._refresh(force=True)
        assert m._window is None and plt.get_fignums() == []
        m.close()
        m2 = mon.trainingProgressMonitor(metrics="Loss", stream=io.StringIO(),
                                         window=False)
        assert plt.get_fignums() == []
        print("ok")
        """,
        MPLBACKEND="agg",
    )
    assert out.strip() == "ok"


def test_window_auto_and_forced_without_a_display():
    run_python(
        """
        import io, warnings
        import dlarray.monitor as mon
        m = mon.trainingProgressMonitor(metrics="Loss", stream=io.StringIO())
        import matplotlib.pyplot as plt
        assert plt.get_fignums() == []                  # Agg: no window by default
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            mon.trainingProgressMonitor(metrics="Loss", stream=io.StringIO(), window=True)
        assert any("cannot open a window" in str(w.message) for w in caught)
        assert plt.get_fignums() == []
        """,
        MPLBACKEND="agg",
    )
    with pytest.raises(ValueError, match="window"):
        trainingProgressMonitor(window="yes")


# --- terminal output ------------------------------------------------------------------------


def test_quiet_when_not_a_terminal():
    stream = io.StringIO()
    m = _trained_monitor(stream=stream)
    assert stream.getvalue() == ""
    m.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and "100.0%" in lines[0] and "Epoch: 6" in lines[0]


def test_invisible_prints_nothing():
    stream = FakeTerminal()
    m = _trained_monitor(stream=stream, visible=False)
    m.close()
    assert stream.getvalue() == ""


def _run_terminal(bar):
    stream = FakeTerminal()
    m = _monitor(metrics="Loss", info="Epoch", stream=stream, bar=bar)
    for i in range(1, 1001):
        m.record_metrics(i, Loss=1.0 / i)
        m.update_info(Epoch=i // 100)
        m.progress = i / 10
    m.close()
    return stream.getvalue()


def test_terminal_bar_redraws_in_place_and_is_throttled():
    out = _run_terminal("plain")
    redraws = out.count("\r")
    assert 1 <= redraws < 50  # 3000 updates, throttled
    assert out.endswith("\n") and "\n" not in out[:-1]  # one line, redrawn with \r
    final = out.rsplit("\r", 1)[1]
    assert "100.0%" in final and "Iteration 1000" in final and "Loss: 0.001" in final


@pytest.mark.parametrize("bar", ["tqdm", "rich"])
def test_terminal_bar_from_tqdm_or_rich(bar):
    pytest.importorskip(bar)
    out = _run_terminal(bar)
    assert 1 <= out.count("\r") < 60  # throttled by the monitor
    final = out.rstrip().rsplit("\r", 1)[-1]
    assert "100.0%" in final and "Iteration 1000" in final and "Loss: 0.001" in final


def test_bar_choice():
    with pytest.raises(ValueError, match="bar must be one of"):
        _monitor(bar="fancy")
    stream = FakeTerminal()
    m = _monitor(metrics="Loss", stream=stream)  # "auto": whichever is installed
    m.close()
    kind = type(m._bar).__name__
    try:
        import tqdm  # noqa: F401

        assert kind == "TqdmBar"
    except ImportError:
        assert kind in ("RichBar", "PlainBar")
    assert "100.0%" not in stream.getvalue() and "0.0%" in stream.getvalue()


def test_status_line_shows_remaining_time():
    m = _monitor(metrics="Loss")
    m.progress = 50
    line = m._status_line(200)
    assert "50.0%" in line and "left" in line
    assert len(m._status_line(30)) <= 30


def test_live_plot_in_a_notebook(monkeypatch):
    """In a Jupyter kernel the plot is displayed once and then updated in place."""
    shown = []

    class Handle:
        def update(self, image):
            shown.append(("update", image))

    def display(image, display_id=False):
        assert display_id is True
        shown.append(("display", image))
        return Handle()

    shell = types.SimpleNamespace(kernel=object())
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell
    ipython_display = types.ModuleType("IPython.display")
    ipython_display.Image = lambda data: data
    ipython_display.display = display
    ipython.display = ipython_display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython_display)

    stream = io.StringIO()
    m = _monitor(metrics="Loss", stream=stream)
    m.record_metrics(1, Loss=1.0)
    m.progress = 100  # forces a redraw
    m.close()
    assert [kind for kind, _ in shown][0] == "display"
    assert len(shown) >= 2 and all(kind == "update" for kind, _ in shown[1:])
    assert (decode_png(shown[-1][1]) != m.render()).any(-1).mean() < 0.01
    assert stream.getvalue() == ""  # no text bar in a notebook
