"""Phase sanitisation and the fill methods."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.csi.fill import fill_rows, rows_in_short_gaps
from lofi.csi.phase import sanitize_phase
from lofi.io.esp32.layouts import LLTF_USEFUL

K = LLTF_USEFUL.astype(float)


def test_sanitize_phase_removes_slope_and_offset_but_keeps_channel_phase():
    rng = np.random.default_rng(1)
    channel = 0.3 * np.sin(K / 5.0)
    channel -= channel.mean() + (channel @ (K - K.mean())) / ((K - K.mean()) @ (K - K.mean())) * (
        K - K.mean()
    )
    slopes, offsets = rng.uniform(-0.4, 0.4, 20), rng.uniform(-np.pi, np.pi, 20)
    csi = 20 * np.exp(1j * (channel[None] + slopes[:, None] * K[None] + offsets[:, None]))
    out = sanitize_phase(csi, LLTF_USEFUL)
    np.testing.assert_allclose(out, np.broadcast_to(channel, out.shape), atol=1e-5)


def test_sanitize_phase_keeps_nan_where_csi_is_nan():
    csi = np.exp(1j * 0.1 * K)[None].repeat(3, axis=0)
    csi[1, :4] = np.nan
    csi[2] = np.nan
    out = sanitize_phase(csi, LLTF_USEFUL)
    assert np.isnan(out[1, :4]).all() and np.isfinite(out[1, 4:]).all()
    assert np.isnan(out[2]).all() and np.isfinite(out[0]).all()


def test_linear_and_spline_fill_reproduce_line_and_cubic():
    t = np.arange(20, dtype=float)
    received = np.ones(20, dtype=bool)
    received[[5, 6, 12]] = False
    line = np.where(received, 3 * t + 1, np.nan)
    cubic = np.where(received, 0.01 * t**3 - 0.2 * t**2 + t, np.nan)
    np.testing.assert_allclose(fill_rows(t, line, received, ~received, "linear"), 3 * t + 1, rtol=1e-6)
    spline = fill_rows(t, cubic, received, ~received, "spline")
    np.testing.assert_allclose(spline, 0.01 * t**3 - 0.2 * t**2 + t, atol=0.05)
    linear = fill_rows(t, cubic, received, ~received, "linear")
    assert np.abs(linear - (0.01 * t**3 - 0.2 * t**2 + t)).max() > 0.1  # linear does not fit a cubic


def test_fill_none_and_unknown_methods():
    t = np.arange(5, dtype=float)
    received = np.array([True, False, True, True, True])
    values = np.array([1.0, np.nan, 3.0, 4.0, 5.0])
    assert np.isnan(fill_rows(t, values, received, ~received, "none")[1])
    with pytest.raises(ValueError, match="unknown fill method"):
        fill_rows(t, values, received, ~received, "cubic")


def test_rows_in_short_gaps_excludes_long_runs_and_edges():
    t = np.arange(12) * 0.1
    received = np.array([0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0], dtype=bool)
    short = rows_in_short_gaps(t, received, max_gap_s=0.25)
    assert np.flatnonzero(short).tolist() == [2]
