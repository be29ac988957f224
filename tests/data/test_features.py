"""Model inputs: correlation shape and symmetry, per-window standardisation, shapes with extras."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.data.features import FeatureSpec, channel_stats, correlation, standardize_window


def _window(seed: int = 0, length: int = 100) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (20 + 5 * rng.random((length, 52)) * np.arange(1, 53)).astype(np.float32)


def test_correlation_is_mtm_over_length_and_symmetric():
    m = _window()
    f = correlation(m)
    assert f.shape == (52, 52) and f.dtype == np.float32
    assert np.array_equal(f, f.T)
    np.testing.assert_allclose(f, m.astype(np.float64).T @ m / 100, rtol=1e-5)
    assert correlation(np.stack([m, m])).shape == (2, 52, 52)


def test_window_standardisation_gives_zero_mean_unit_std_per_subcarrier():
    m = _window()
    m[:, 7] = 3.0  # a constant subcarrier
    z = standardize_window(m)
    assert z.dtype == np.float32
    keep = np.arange(52) != 7
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=0)[keep], 1, rtol=1e-5)
    assert (z[:, 7] == 0).all()
    f = FeatureSpec("correlation", "window")(m)
    np.testing.assert_allclose(np.diag(f[0])[keep], 1, rtol=1e-5)


def test_global_statistics_standardise_with_the_rows_given():
    rows = _window(1, 1000)
    stats = channel_stats(rows)
    np.testing.assert_allclose(stats.mean, rows.astype(np.float64).mean(axis=0), rtol=1e-6)
    spec = FeatureSpec("series", "global", stats={"amplitude": stats})
    np.testing.assert_allclose(spec(rows).mean(axis=0), 0, atol=1e-4)
    with pytest.raises(ValueError, match="needs training statistics of amplitude"):
        FeatureSpec("series", "global")
    with pytest.raises(ValueError, match="NaN"):
        channel_stats(np.full((3, 52), np.nan))


def test_shapes_with_extra_channels():
    m, p, r = _window(), _window(2), np.linspace(-60, -40, 100).astype(np.float32)
    stats = {"rssi": channel_stats(r)}
    series = FeatureSpec("series", "window", ("rssi", "phase"))
    x = series(m, p, r)
    assert series.extra == ("phase", "rssi") and x.shape == series.shape(100) == (100, 156)
    np.testing.assert_allclose(x[:, 104], (r - r.mean()) / r.std(), rtol=1e-4)
    assert (x[:, 104:] == x[:, 104:105]).all()  # the RSSI repeated across its 52 columns
    assert FeatureSpec("series", "none")(m).shape == (100, 52)
    conv = FeatureSpec("correlation", "window", ("phase", "rssi"), stats)
    x = conv(m, p, r)
    assert x.shape == conv.shape(100) == (3, 52, 52) and x.dtype == np.float32
    assert np.allclose(x[2], (r.mean() - stats["rssi"].mean) / stats["rssi"].std, atol=1e-5)
    assert FeatureSpec("correlation", "none", ("rssi",))(m, rssi=r)[1, 0, 0] == pytest.approx(-50, abs=1e-4)
    with pytest.raises(ValueError, match="not given"):
        series(m)
    with pytest.raises(ValueError, match="unknown extra channel 'doppler'"):
        FeatureSpec("series", "window", ("doppler",))
    with pytest.raises(ValueError, match="unknown view 'image'"):
        FeatureSpec("image")
