"""trainingProgressMonitor and the PNG writer (pure Python: no compiled core needed)."""

import importlib
import io
import pathlib
import struct
import sys
import types
import zlib

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
png = _import_pure("dlarray.data._png")
trainingProgressMonitor = monitor_module.trainingProgressMonitor


def decode_png(blob: bytes) -> np.ndarray:
    """Independent PNG decoder (8-bit gray / RGB / RGBA, all five filter types)."""
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", "bad signature"
    pos, chunks = 8, []
    while pos < len(blob):
        (length,) = struct.unpack(">I", blob[pos:pos + 4])
        kind, payload = blob[pos + 4:pos + 8], blob[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", blob[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + payload) & 0xFFFFFFFF == crc, f"bad CRC in {kind}"
        chunks.append((kind, payload))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and interlace == 0
    channels = {0: 1, 2: 3, 6: 4}[color]
    raw = zlib.decompress(b"".join(p for k, p in chunks if k == b"IDAT"))
    stride = width * channels
    out = np.zeros((height, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for r in range(height):
        filt = raw[r * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, r * (stride + 1) + 1).astype(np.int32)
        if filt == 0:                                   # the common case, vectorised
            out[r] = line
            prev = line
            continue
        cur = np.zeros(stride, np.int32)
        for i in range(stride):
            a = cur[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if filt == 0:
                pred = 0
            elif filt == 1:
                pred = a
            elif filt == 2:
                pred = b
            elif filt == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            cur[i] = (line[i] + pred) & 0xFF
        out[r] = cur
        prev = cur
    return out.reshape(height, width, channels)


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def _monitor(**kw):
    kw.setdefault("stream", io.StringIO())
    return trainingProgressMonitor(**kw)


# --- PNG writer ---------------------------------------------------------------------------

@pytest.mark.parametrize("image", [
    np.arange(12, dtype=np.uint8).reshape(3, 4) * 20,
    np.random.default_rng(0).integers(0, 256, (5, 7, 3)).astype(np.uint8),
    np.random.default_rng(1).integers(0, 256, (2, 3, 4)).astype(np.uint8),
])
def test_png_round_trip(image, tmp_path):
    decoded = decode_png(png.encode_png(image))
    expected = image if image.ndim == 3 else image[:, :, None]
    assert np.array_equal(decoded, expected)
    path = tmp_path / "x.png"
    png.write_png(path, image)
    assert np.array_equal(decode_png(path.read_bytes()), expected)


def test_png_decoder_handles_all_filters():
    # Hand-made scanlines using filters 1-4 on a 2x2 gray image, to check the decoder.
    rows = bytes([1, 10, 5]) + bytes([2, 1, 1]) + bytes([3, 7, 7]) + bytes([4, 0, 3])
    ihdr = struct.pack(">IIBBBBB", 2, 4, 8, 0, 0, 0, 0)

    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))

    blob = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    # Row 0: sub: 10, 15. Row 1: up: 11, 16. Row 2: average: 7+5=12, 7+(12+16)//2=21.
    # Row 3: Paeth: 0+12=12, 3+paeth(12, 21, 12)=3+21=24.
    assert decode_png(blob)[:, :, 0].tolist() == [[10, 15], [11, 16], [12, 21], [12, 24]]


def test_png_from_floats_and_errors():
    decoded = decode_png(png.encode_png(np.array([[0.0, 0.5, 1.0, 2.0, -1.0]])))
    assert decoded[0, :, 0].tolist() == [0, 128, 255, 255, 0]
    with pytest.raises(ValueError):
        png.encode_png(np.zeros((2, 2, 2)))


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
    m.metrics = ["Loss", "Accuracy"]                    # metrics can be added later
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
    while not m.stop:                                   # MATLAB's "while ~monitor.Stop"
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
    m.group_sub_plot("Val", "ValLoss")                  # moves ValLoss out of "Loss"
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
    assert image.shape[2] == 3 and image.shape[0] > 200 and image.shape[1] > 400
    # Equal to render() except possibly the elapsed-time text.
    assert (image != m.render()).any(-1).mean() < 0.01
    colors = {tuple(c) for c in image.reshape(-1, 3)[::7].tolist()}
    assert len(colors) > 5                              # not a blank canvas
    blue = np.array([0, 114, 189])                      # first line colour (MATLAB's)
    assert (np.abs(image.astype(int) - blue).sum(-1) < 10).sum() > 100


def test_render_edge_cases():
    m = _monitor(metrics=["A", "B"])
    assert m.render().ndim == 3                         # no data at all
    m.record_metrics(1, A=float("nan"), B=-1.0)
    m.yscale("B", "log")                                # non-positive on a log axis
    m.record_metrics(2, A=1.0, B=0.0)
    assert decode_png(m._repr_png_()).shape[2] == 3
    single = _monitor(metrics="Loss")
    single.record_metrics(5, Loss=3.0)                  # one point, constant range
    assert single.render().shape[2] == 3
    many = _monitor(metrics=list("ABCDE"))
    assert many.render().shape[1] > single.render().shape[1]


def test_close_writes_png_once(tmp_path):
    path = tmp_path / "final.png"
    with _trained_monitor(png_path=path) as m:
        assert not path.exists()
    assert path.exists() and decode_png(path.read_bytes()).shape[2] == 3
    path.unlink()
    m.close()                                           # idempotent
    assert not path.exists()


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


def test_terminal_bar_redraws_in_place_and_is_throttled():
    stream = FakeTerminal()
    m = _monitor(metrics="Loss", info="Epoch", stream=stream)
    for i in range(1, 1001):
        m.record_metrics(i, Loss=1.0 / i)
        m.update_info(Epoch=i // 100)
        m.progress = i / 10
    m.close()
    out = stream.getvalue()
    redraws = out.count("\r")
    assert 1 <= redraws < 50                             # 3000 updates, throttled
    assert out.endswith("\n") and "\n" not in out[:-1]   # one line, redrawn with \r
    final = out.rsplit("\r", 1)[1]
    assert "100.0%" in final and "Iteration 1000" in final and "Loss: 0.001" in final


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
    m.progress = 100                                    # forces a redraw
    m.close()
    assert [kind for kind, _ in shown][0] == "display"
    assert len(shown) >= 2 and all(kind == "update" for kind, _ in shown[1:])
    assert decode_png(shown[-1][1]).shape[2] == 3
    assert stream.getvalue() == ""                      # no text bar in a notebook
