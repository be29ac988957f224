"""How well lost frames are recovered: hide received frames of the test split, fill, compare.

Packet loss is bursty (a Gilbert-Elliott channel), so frames are hidden in bursts: a
two-state chain with the requested share of hidden frames and mean burst length. The
hidden frames were measured, so their true amplitude is known; each fill method
(linear, spline, CSI-BERT) fills them from the frames still visible, and the error is
the mean absolute difference in amplitude units (the ESP32's int8 units).

:func:`refilled_source` gives the same damage as a whole :class:`WindowSource`, so a
trained model can be tested on windows with extra loss filled by each method (the
downstream effect of the fill).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
from omegaconf import ListConfig

from lofi.csi.fill import AmplitudeFiller, FillResult, fill_rows
from lofi.data.datamodule import WindowSource
from lofi.models.recovery import run_blocks

#: Fill methods compared: the classical ones of ``lofi csi`` and the learned one.
CLASSICAL = ("linear", "spline")


def bursty_hide(
    received: np.ndarray, share: float, mean_burst: float, rng: np.random.Generator
) -> np.ndarray:
    """Received rows to hide (bool), drawn from a two-state loss chain.

    The chain enters a burst with probability ``share / (mean_burst * (1 - share))`` and
    leaves it with ``1 / mean_burst`` per frame, so on average ``share`` of the frames are
    hidden, in bursts of ``mean_burst`` frames. Only received rows are hidden.
    """
    if not 0.0 < share < 1.0 or mean_burst < 1.0:
        raise ValueError(f"hide share must be in (0, 1) and mean burst >= 1 frame, got {share}, {mean_burst}")
    enter, leave = share / (mean_burst * (1.0 - share)), 1.0 / mean_burst
    if enter > 1.0:
        raise ValueError(f"hide share {share} is too high for bursts of {mean_burst} frames")
    draws = rng.random(len(received))
    hidden = np.zeros(len(received), dtype=bool)
    state = rng.random() < share
    for i, u in enumerate(draws):
        hidden[i] = state
        state = u >= leave if state else u < enter
    return hidden & received


def refill(
    amplitude: np.ndarray,
    hide: np.ndarray,
    received: np.ndarray,
    runs: np.ndarray,
    method: str,
    filler: AmplitudeFiller | None = None,
) -> FillResult:
    """``amplitude`` (rows x S) with the rows ``hide`` re-filled by ``method`` from the rows still seen.

    Methods: ``linear``, ``spline`` or ``csibert`` (needs ``filler``; rows it cannot recover keep
    the linear value and are counted in ``fallback_rows``). Rows are 10 ms apart within a run;
    no fill crosses a run boundary.
    """
    seen = received & ~hide
    out = np.array(amplitude, dtype=np.float32, copy=True)
    out[hide] = np.nan
    classical = "linear" if method == "csibert" else method
    for rows in run_blocks(runs):
        if hide[rows].any():
            t = np.arange(rows.stop - rows.start, dtype=np.float64)
            out[rows] = fill_rows(t, out[rows], seen[rows], hide[rows], classical)
    if method != "csibert":
        return FillResult(out, 0)
    if filler is None:
        raise ValueError("the csibert refill needs a CSI-BERT filler")
    return filler.fill(out, hide, seen, runs)


def recovery_errors(
    source: WindowSource,
    rows: np.ndarray,
    runs: np.ndarray,
    filler: AmplitudeFiller | None,
    share: float = 0.2,
    mean_bursts: tuple[float, ...] = (3.0,),
    seed: int = 0,
) -> dict[str, float]:
    """Amplitude MAE (int8 units) of each fill method on hidden received frames of ``rows`` (bool).

    For each mean burst length b (frames): ``recovery/burst<b>/mae_<method>`` for linear,
    spline and (with a filler) csibert, ``recovery/burst<b>/hidden_frames`` and, with a filler,
    ``recovery/burst<b>/csibert_fallback_frames`` (hidden frames CSI-BERT left at the linear value).
    """
    errors = {}
    methods = (*CLASSICAL, "csibert") if filler is not None else CLASSICAL
    for burst in mean_bursts:
        hide = bursty_hide(source.received & rows, share, burst, np.random.default_rng([seed, int(burst)]))
        if not hide.any():
            raise ValueError("no received frame to hide in the rows given")
        truth, key = source.amplitude[hide], f"recovery/burst{burst:g}"
        for method in methods:
            filled = refill(source.amplitude, hide, source.received, runs, method, filler)
            errors[f"{key}/mae_{method}"] = float(np.abs(filled.amplitude[hide] - truth).mean())
            if method == "csibert":
                errors[f"{key}/csibert_fallback_frames"] = float(filled.fallback_rows)
        errors[f"{key}/hidden_frames"] = float(hide.sum())
    return errors


def refilled_source(
    source: WindowSource,
    hide: np.ndarray,
    runs: np.ndarray,
    method: str,
    filler: AmplitudeFiller | None = None,
) -> WindowSource:
    """``source`` with the rows ``hide`` lost and re-filled by ``method`` (they count as not received)."""
    amplitude = refill(source.amplitude, hide, source.received, runs, method, filler).amplitude
    return replace(source, amplitude=amplitude, received=source.received & ~hide)


def mean_bursts(options: Mapping) -> tuple[float, ...]:
    """``mean_burst_frames`` of a ``recovery_eval`` config (one number or a list) as a tuple."""
    value = options.get("mean_burst_frames", 3.0)
    many = isinstance(value, Sequence | ListConfig) and not isinstance(value, str)
    values = tuple(float(v) for v in (value if many else [value]))
    if not values:
        raise ValueError("recovery_eval.mean_burst_frames is empty")
    return values
