"""The ESP32 receiver: power and RSSI, AGC, device ripple, phase offsets, noise, int8.

Input is the complex channel H (rows x 52 subcarriers, relative to the transmitted
field); output is what the chip logs: int8 (imag, real) pairs in the esp-radar
104-value order (-26..-1, +1..+26), RSSI and noise floor in dBm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lofi.io.esp32.layouts import LLTF_USEFUL
from lofi.sim.channel import SUBCARRIER_SPACING_HZ

TARGET_RMS_COUNTS = 20.0  # median CSI magnitude after AGC, in int8 counts
EVM_FLOOR_DB = 30.0  # implementation noise: caps the SNR of the estimate
AGC_LEAK = 0.25  # share of received-power changes the AGC leaves in the amplitudes


@dataclass(frozen=True)
class ReceiverOutput:
    data: np.ndarray  # int8 (rows x 104), (imag, real) per subcarrier
    rssi_dbm: np.ndarray  # int (rows,)
    noise_floor_dbm: np.ndarray  # int (rows,)
    rx_power_dbm: np.ndarray  # float (rows,), before RSSI rounding


def device_ripple(seed: int) -> np.ndarray:
    """The fixed per-device response: an M-shaped +-1.2 dB ripple, ~3 dB edge roll-off, S-shaped phase."""
    rng = np.random.default_rng(seed)
    k = LLTF_USEFUL.astype(np.float64)
    shift = rng.uniform(-2, 2)
    gain_db = 1.2 * np.cos(2 * np.pi * (k + shift) / 18.0) - 3.0 * (np.abs(k) / 26.0) ** 6
    phase = 0.3 * np.sin(np.pi * k / 26.0) + rng.uniform(-0.05, 0.05)
    return 10 ** (gain_db / 20) * np.exp(1j * phase)


def receive(
    H: np.ndarray,
    tx_power_dbm: float,
    system_loss_db: float,
    noise_floor_dbm: int,
    ripple: np.ndarray,
    rng: np.random.Generator,
) -> ReceiverOutput:
    """Turn channel responses into logged CSI, RSSI and noise floor."""
    n, k = H.shape
    power = np.mean(np.abs(H) ** 2, axis=1)
    rx_dbm = tx_power_dbm - system_loss_db + 10 * np.log10(np.maximum(power, 1e-30))
    rssi = np.clip(np.round(rx_dbm + rng.normal(0, 0.6, n)), -100, -10).astype(np.int64)
    noise_floor = noise_floor_dbm - (rng.random(n) < 0.2).astype(np.int64)
    snr_db = np.minimum(rx_dbm - noise_floor, 60.0)
    noise_power = power * (10 ** (-snr_db / 10) + 10 ** (-EVM_FLOOR_DB / 10))
    noise = np.sqrt(noise_power / 2)[:, None] * (rng.normal(size=(n, k)) + 1j * rng.normal(size=(n, k)))
    normalised = (H + noise) / np.sqrt(power)[:, None]
    gain_db = _agc_residual_db(rx_dbm, rng)
    phase = rng.uniform(0, 2 * np.pi, n)[:, None]
    timing = rng.normal(0, 30e-9, n)[:, None]
    rotation = np.exp(1j * (phase - 2 * np.pi * LLTF_USEFUL[None, :] * SUBCARRIER_SPACING_HZ * timing))
    csi = normalised * ripple[None, :] * rotation * (TARGET_RMS_COUNTS * 10 ** (gain_db / 20))[:, None]
    return ReceiverOutput(quantize_int8(csi), rssi, noise_floor, rx_dbm)


def _agc_residual_db(rx_dbm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What the AGC leaves in the CSI level (dB).

    The gain moves in 1 dB steps, leaving a +-0.5 dB residue; a share of the
    received-power change leaks through; now and then (p = 0.002 per packet) the
    AGC re-acquires at a gain 1-3 dB off for a few tenths of a second.
    """
    n = len(rx_dbm)
    step_residue = np.round(rx_dbm) - rx_dbm
    offset = np.zeros(n)
    for start in np.flatnonzero(rng.random(n) < 0.002):
        length = int(rng.geometric(1 / 40))
        offset[start : start + length] = rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 3.0)
    return AGC_LEAK * (rx_dbm - np.median(rx_dbm)) + step_residue + offset


def quantize_int8(csi: np.ndarray) -> np.ndarray:
    """Complex CSI (rows x 52) -> int8 (rows x 104) as (imag, real) pairs."""
    out = np.empty((csi.shape[0], 2 * csi.shape[1]), dtype=np.int8)
    out[:, 0::2] = np.clip(np.round(csi.imag), -128, 127)
    out[:, 1::2] = np.clip(np.round(csi.real), -128, 127)
    return out
