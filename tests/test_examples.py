"""The example scripts run end to end with short settings (as CI runs them)."""

import subprocess
import sys

import numpy as np
from dlarray import dlnetwork


def test_train_digits_main_short_run(tmp_path, capsys):
    from dlarray.examples import train_digits

    png = tmp_path / "progress.png"
    assert (
        train_digits.main(["--epochs", "1", "--max-iterations", "3", "--batch-size", "32", "--png", str(png), "--test-images", "300"]) == 0
    )
    out = capsys.readouterr().out
    assert "epoch 1: mean loss" in out and "3 iterations" in out
    assert "test accuracy:" in out and "(300 images)" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_digits_learns():
    from dlarray.examples import train_digits

    result = train_digits.train(epochs=1, max_iterations=12, png=None, verbose=False, test_images=500)
    assert result["iterations"] == 12 and isinstance(result["net"], dlnetwork)
    assert result["epoch_losses"][0] < 2.0  # well below chance level (ln 10 = 2.30)
    assert result["accuracy"] > 0.5  # far above chance (0.1) after 12 steps


def test_train_digits_as_module_and_console_entry_point(tmp_path):
    png = tmp_path / "p.png"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dlarray.examples.train_digits",
            "--max-iterations",
            "1",
            "--batch-size",
            "16",
            "--png",
            str(png),
            "--test-images",
            "100",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy:" in proc.stdout and png.exists()


def test_train_lstm_short_run(capsys):
    from dlarray.examples import train_lstm

    result = train_lstm.train(epochs=2, num_sequences=64, seq_length=12, batch_size=32)
    assert len(result["epoch_losses"]) == 2 and np.isfinite(result["epoch_losses"]).all()
    assert 0.0 <= result["accuracy"] <= 1.0
    assert "test accuracy" in capsys.readouterr().out


def test_lstm_waveform_data_is_learnable_signal():
    from dlarray.examples.train_lstm import make_sequences

    X, labels = make_sequences(400, 30, np.random.default_rng(0))
    assert X.shape == (2, 400, 30) and X.dtype == np.float32 and set(labels) == {0, 1, 2, 3}
    # Square waves spend their time near ±1; sines do not: the classes differ in the data.
    square, sine = X[0, labels == 1], X[0, labels == 0]
    assert np.mean(np.abs(square)) > np.mean(np.abs(sine))


def test_train_pinn_short_run(capsys):
    from dlarray.examples import train_pinn

    result = train_pinn.train(iterations=4, points=32)
    assert np.isfinite(result["loss"]) and np.isfinite(result["relative_error"])
    assert "relative L2 error" in capsys.readouterr().out


def test_pinn_loss_uses_the_laplacian():
    """The PDE residual of the exact solution's network stand-in: check the loss against
    numpy for a network whose Laplacian is known (a single tanh unit)."""
    from dlarray import dlarray, dlfeval, extractdata
    from dlarray.examples import train_pinn

    np.random.seed(0)
    net = train_pinn.build_network(width=3, depth=1)
    xy = np.random.default_rng(1).uniform(0, 1, (2, 5)).astype(np.float32)
    F = train_pinn.source(xy).astype(np.float32)
    XB = train_pinn.boundary_points(4, np.random.default_rng(2))
    loss, _ = dlfeval(train_pinn.model_loss, net, dlarray(xy, "CB"), dlarray(F, "CB"), dlarray(XB, "CB"))
    p = {(layer, n): extractdata(v).astype(np.float64) for layer, n, v in net.learnables}
    W1, b1, W2, b2 = p["fc_1", "Weights"], p["fc_1", "Bias"], p["fc_2", "Weights"], p["fc_2", "Bias"]
    z = W1 @ xy + b1
    t = np.tanh(z)
    # u = W2 tanh(W1 x + b1) + b2; Δu = Σ_k W2_k · tanh''(z_k) · |W1_k|², tanh'' = −2 t (1 − t²)
    lap = np.einsum("k,kn,k->n", W2[0], -2 * t * (1 - t * t), (W1**2).sum(1))
    res = lap + F[0]
    ub = W2 @ np.tanh(W1 @ XB + b1) + b2
    expected = np.mean(res**2) + train_pinn.BOUNDARY_WEIGHT * np.mean(ub**2)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-4)
