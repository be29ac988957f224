"""The fast phase sanitisation and buffer conversion against straightforward references."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.csi.complete import CompletionOptions, complete_csi
from lofi.csi.fill import fill_rows
from lofi.csi.phase import sanitize_phase, sanitize_phase_by_subcarrier
from lofi.io.esp32.layouts import LLTF_USEFUL
from lofi.io.esp32.reader import pairs_to_complex

from .logs import write_log


def reference_phase(csi: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The textbook version: np.unwrap in float64, least-squares line removed per row."""
    invalid = ~np.isfinite(csi)
    filled = csi.copy()
    for row in range(len(csi)):  # previous valid value (first valid for leading gaps, 1 if none)
        good = np.flatnonzero(~invalid[row])
        if len(good) == 0:
            filled[row] = 1.0
            continue
        source = np.maximum.accumulate(np.where(invalid[row], -1, np.arange(csi.shape[1])))
        filled[row] = csi[row, np.where(source < 0, good[0], source)]
    phase = np.unwrap(np.angle(filled).astype(np.float64), axis=1)
    k_c = k - k.mean()
    slope = (phase @ k_c) / (k_c @ k_c)
    out = phase - slope[:, None] * k_c[None, :] - phase.mean(axis=1)[:, None]
    out[invalid] = np.nan
    return out.astype(np.float32)


def int8_csi(rng: np.random.Generator, n_rows: int, n_sub: int) -> np.ndarray:
    values = rng.integers(-128, 128, (n_rows, n_sub, 2))
    return (values[..., 1] + 1j * values[..., 0]).astype(np.complex64)


def test_phase_matches_numpy_unwrap_on_int8_csi_with_gaps_and_half_turn_steps():
    rng = np.random.default_rng(7)
    csi = int8_csi(rng, 3000, 52)
    csi[:200, 1::2] = -csi[:200, 0::2]  # steps of exactly pi between neighbours
    csi[200:400] = (3 + 4j) * np.exp(1j * 2.9 * np.arange(52))  # a steep slope: many wraps per row
    csi[rng.random(csi.shape) < 0.05] = np.nan
    csi[400] = np.nan
    csi[401, :10] = np.nan
    k = LLTF_USEFUL.astype(float)
    out, ref = sanitize_phase(csi, LLTF_USEFUL), reference_phase(csi, k)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    assert np.nanmax(np.abs(out.astype(np.float64) - ref)) <= 1e-5
    np.testing.assert_array_equal(sanitize_phase_by_subcarrier(csi, LLTF_USEFUL), out.T)


def test_phase_keeps_float64_precision_for_complex128_and_many_subcarriers():
    rng = np.random.default_rng(3)
    csi = rng.normal(size=(500, 300)) + 1j * rng.normal(size=(500, 300))  # > 127 steps per row
    k = np.arange(300, dtype=float)
    np.testing.assert_allclose(sanitize_phase(csi, k), reference_phase(csi, k), atol=1e-5)


@pytest.mark.parametrize("n_values", [104, 128, 256])
def test_int8_pair_conversion_equals_the_generic_one(n_values):
    rng = np.random.default_rng(n_values)
    matrix = rng.integers(-128, 128, (50, n_values)).astype(np.int8)
    pairs_sets = [np.arange(n_values // 2), np.array([38, 39, 40, 1, 2, 26]), np.arange(0, n_values // 2, 3)]
    for pairs in pairs_sets:
        fast = pairs_to_complex(matrix, pairs)
        fast_fortran = pairs_to_complex(np.asfortranarray(matrix), pairs)
        generic = pairs_to_complex(matrix.astype(np.int16), pairs)  # the per-part path
        expected = matrix[:, 2 * pairs + 1] + 1j * matrix[:, 2 * pairs].astype(np.float32)
        for got in (fast, fast_fortran, generic):
            assert got.dtype == np.complex64 and got.shape == (50, len(pairs))
            np.testing.assert_array_equal(got, expected)


def test_fill_rows_without_copy_fills_in_place():
    t = np.arange(5, dtype=float)
    received = np.array([True, False, True, True, True])
    values = np.array([1.0, np.nan, 3.0, 4.0, 5.0], dtype=np.float32)
    copied = fill_rows(t, values, received, ~received, "linear")
    assert copied is not values and np.isnan(values[1]) and copied[1] == 2.0
    filled = fill_rows(t, values, received, ~received, "linear", copy=False)
    assert np.shares_memory(filled, values) and values[1] == 2.0


def test_a_row_whose_mac_was_garbage_is_kept_as_a_ping(tmp_path):
    t = 1.0 + 0.01 * np.arange(20)
    mac = np.array(["1a:2b:3c:4d:5e:6f"] * 20, dtype=object)
    mac[7] = "1a:2b:3c:4d:5e:6?"  # damaged in transit
    mac[12] = "aa:aa:aa:aa:aa:aa"  # another transmitter
    log = write_log(tmp_path / "c.csv", t, mac=mac)
    assert log.report.field_problems == {"bad_mac": 1}
    done = complete_csi(log, CompletionOptions(rate_hz=100.0))
    assert done.report.dropped["other_mac"] == 1
    assert done.report.received == 19 and done.report.lost == 1
    assert done.table["lost"].to_numpy().nonzero()[0].tolist() == [12]
