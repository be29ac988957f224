"""The synthetic benchmark is learnable but not trivial (quick scale, CSI only)."""

from __future__ import annotations

import numpy as np

from lofi.sim.session import SessionSpec, simulate_csi_only
from lofi.stages.scenes import load_scene

SCENE = load_scene("lab")
WINDOW = 20  # consecutive CSI frames (~0.2 s): short enough that a walker moves < 0.3 m


def windows(subject: str, seconds: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Window-mean amplitudes (52) and mean true positions of consecutive logged frames.

    Each packet's amplitudes are divided by their mean over subcarriers first, the
    usual way to cancel the ESP32's automatic gain control.
    """
    sim = simulate_csi_only(
        SCENE, SessionSpec(f"learn_{subject}", (subject,), "paper", "walk", seconds, seed=seed)
    )
    data = sim.received.data.astype(np.float32)
    amplitude = np.hypot(data[:, 0::2], data[:, 1::2])
    amplitude /= amplitude.mean(axis=1, keepdims=True)
    xy = sim.at_ping.xy[~sim.ping.lost]
    n = len(amplitude) // WINDOW
    features = amplitude[: n * WINDOW].reshape(n, WINDOW, -1).mean(axis=1)
    labels = xy[: n * WINDOW].reshape(n, WINDOW, 2).mean(axis=1)
    return features, labels


def knn_predict(train_x, train_y, test_x, k=5):
    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-9
    a, b = (train_x - mean) / std, (test_x - mean) / std
    dist = ((b[:, None, :] - a[None, :, :]) ** 2).sum(axis=2)
    nearest = np.argsort(dist, axis=1)[:, :k]
    return train_y[nearest].mean(axis=1)


def test_knn_beats_the_mean_but_stays_realistic():
    train_x, train_y, test_x, test_y = [], [], [], []
    for seed, subject in enumerate(("S1", "S2", "S3")):
        x, y = windows(subject, 240.0, seed)
        cut = int(0.8 * len(x))  # first 80 % trains, last 20 % tests, per subject
        train_x.append(x[:cut]), train_y.append(y[:cut]), test_x.append(x[cut:]), test_y.append(y[cut:])
    train_x, train_y = np.concatenate(train_x), np.concatenate(train_y)
    test_x, test_y = np.concatenate(test_x), np.concatenate(test_y)
    knn_error = np.linalg.norm(knn_predict(train_x, train_y, test_x) - test_y, axis=1).mean()
    mean_error = np.linalg.norm(train_y.mean(axis=0) - test_y, axis=1).mean()
    print(f"kNN {knn_error:.3f} m vs mean {mean_error:.3f} m")
    assert knn_error <= 0.75 * mean_error
    assert knn_error >= 0.15
