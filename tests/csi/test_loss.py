"""Paper eq. (4): missing packets from device-time gaps."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.csi.loss import estimate_rate_hz, missing_per_gap, summarize_loss


def test_eq4_counts_missing_packets_per_gap():
    t = np.array([0.0, 0.01, 0.02, 0.05, 0.06, 0.1])  # gaps of 1, 1, 3, 1, 4 periods
    assert list(missing_per_gap(t, 100.0)) == [0, 0, 2, 0, 3]


def test_gap_jitter_below_half_a_period_is_not_a_loss():
    rng = np.random.default_rng(1)
    t = np.arange(1000) * 0.01 + rng.uniform(-0.0024, 0.0024, 1000)  # gaps stay within 1 +- 0.48 periods
    assert missing_per_gap(t, 100.0).sum() == 0


def test_known_drops_are_found_exactly():
    rng = np.random.default_rng(2)
    sent = np.arange(5000) * 0.01 + rng.normal(0, 0.0005, 5000)
    kept = np.sort(rng.choice(5000, 4500, replace=False))
    kept[0], kept[-1] = 0, 4999
    kept = np.unique(kept)
    summary = summarize_loss(sent[kept])
    assert summary.rate_hz == pytest.approx(100.0, rel=0.01)
    assert summary.lost == 5000 - len(kept)
    assert summary.loss_pct == pytest.approx(100 * (5000 - len(kept)) / 5000)


def test_degenerate_inputs():
    assert np.isnan(estimate_rate_hz(np.array([1.0])))
    assert summarize_loss(np.array([])).lost == 0
    with pytest.raises(ValueError):
        missing_per_gap(np.arange(3.0), 0)
