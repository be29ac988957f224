"""Model inputs from a window's CSI (SPEC §6): the amplitude series or its subcarrier correlation.

Every function takes arrays whose last two axes are (time rows, subcarriers), with any
leading batch axes, and returns float32.

Views (amplitude M: length x 52, int8 units):

* ``series``: M itself, (length, 52), for the recurrent and transformer models;
* ``correlation``: F = MᵀM / length, (52, 52), for the conv models (one channel).

Normalisation (applied to M before F is formed):

* ``window``: per window, each subcarrier standardised over time (zero mean, unit std;
  a constant subcarrier becomes zeros) — the reference's ``--norm``; F is then the
  subcarriers' correlation matrix;
* ``global``: each subcarrier standardised by the mean and std of the training split's
  label-valid rows (:func:`channel_stats`);
* ``none``: raw amplitude.

Extra channels (``extra``, in this order after the amplitude):

* ``phase`` (rad, sanitised), normalised like the amplitude: the series gains 52 columns,
  the correlation view a second 52 x 52 channel PᵀP / length;
* ``rssi`` (dBm): the series gains one more 52-column block, the RSSI normalised like the
  amplitude and repeated across the 52 columns (so every channel is 52 wide); the
  correlation view gains a constant 52 x 52 channel holding the window's mean RSSI,
  standardised by the training split's RSSI mean and std (``window`` and ``global``; a
  window standardised by itself would always give 0) or raw dBm (``none``).

Shapes, with C = 1 + len(extra) channels: series (length, 52 * C), amplitude columns first,
then phase, then RSSI; correlation (C, 52, 52) in the same channel order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VIEWS = ("series", "correlation")
NORMALIZE = ("window", "global", "none")
EXTRAS = ("phase", "rssi")
#: Standard deviations at or below this count as zero (the channel is constant).
_TINY = 1e-12


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else a ValueError naming the option."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}: expected one of {', '.join(choices)}")
    return str(value)


def check_extra(extra: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Extra channels as a tuple in the canonical order (phase, then rssi); unknown or repeated: error."""
    extra = tuple(str(e) for e in extra)
    for name in extra:
        check_choice("extra channel", name, EXTRAS)
    if len(set(extra)) != len(extra):
        raise ValueError(f"extra channels given twice: {extra}")
    return tuple(e for e in EXTRAS if e in extra)


@dataclass(frozen=True)
class ChannelStats:
    """Mean and std (float32, one per channel) used to standardise rows: (v - mean) / std."""

    mean: np.ndarray
    std: np.ndarray

    def apply(self, values: np.ndarray) -> np.ndarray:
        """``values`` (..., channels) standardised, float32."""
        return ((values - self.mean) / self.std).astype(np.float32, copy=False)


def channel_stats(rows: np.ndarray) -> ChannelStats:
    """Per-channel mean and std (population) of ``rows`` (rows x channels or rows); std 0 -> 1.

    NaN rows are an error: the statistics come from label-valid rows, which have CSI.
    """
    rows = np.asarray(rows, dtype=np.float64)
    if len(rows) == 0:
        raise ValueError("channel statistics need at least one row")
    if not np.isfinite(rows).all():
        raise ValueError("channel statistics: rows with NaN or infinite values")
    mean, std = rows.mean(axis=0), rows.std(axis=0)
    std = np.where(std > _TINY, std, 1.0)
    return ChannelStats(mean.astype(np.float32), std.astype(np.float32))


def standardize_window(m: np.ndarray) -> np.ndarray:
    """Each channel of ``m`` (..., length, channels) standardised over time (float32).

    Zero mean and unit (population) std per channel; a constant channel becomes zeros.
    """
    m = np.asarray(m, dtype=np.float64)
    centred = m - m.mean(axis=-2, keepdims=True)
    std = np.sqrt((centred**2).mean(axis=-2, keepdims=True))
    return (centred / np.where(std > _TINY, std, 1.0)).astype(np.float32)


def correlation(m: np.ndarray) -> np.ndarray:
    """F = MᵀM / length of ``m`` (..., length, channels): (..., channels, channels), float32, symmetric."""
    m = np.asarray(m, dtype=np.float32)
    f = np.swapaxes(m, -1, -2) @ m / np.float32(m.shape[-2])
    return ((f + np.swapaxes(f, -1, -2)) / 2).astype(np.float32)  # exactly symmetric


def needed_stats(view: str, normalize: str, extra: tuple[str, ...]) -> tuple[str, ...]:
    """Inputs (amplitude, phase, rssi) whose training-split statistics these features use."""
    if normalize == "global":
        return ("amplitude", *extra)
    if normalize == "window" and view == "correlation" and "rssi" in extra:
        return ("rssi",)
    return ()


@dataclass(frozen=True)
class FeatureSpec:
    """How windows become model inputs: view, normalisation, extra channels, training statistics.

    ``stats`` maps ``amplitude``, ``phase``, ``rssi`` to the training split's statistics;
    ``global`` normalisation needs them for every input used, the correlation view's ``rssi``
    channel needs ``rssi`` unless ``normalize`` is ``none``.
    """

    view: str = "series"
    normalize: str = "window"
    extra: tuple[str, ...] = ()
    stats: dict[str, ChannelStats] | None = None

    def __post_init__(self) -> None:
        check_choice("view", self.view, VIEWS)
        check_choice("normalize", self.normalize, NORMALIZE)
        object.__setattr__(self, "extra", check_extra(self.extra))
        have = self.stats or {}
        missing = [n for n in needed_stats(self.view, self.normalize, self.extra) if n not in have]
        if missing:
            raise ValueError(
                f"normalize={self.normalize!r} needs training statistics of {', '.join(missing)}"
            )

    def shape(self, length: int, width: int = 52) -> tuple[int, ...]:
        """Shape of one window's input (see the module docstring)."""
        if self.view == "series":
            return (length, width * (1 + len(self.extra)))
        return (1 + len(self.extra), width, width)

    def _normalized(self, name: str, values: np.ndarray) -> np.ndarray:
        if self.normalize == "window":
            return standardize_window(values)
        if self.normalize == "global":
            return self.stats[name].apply(values)  # type: ignore[index]
        return np.asarray(values, dtype=np.float32)

    def __call__(
        self, amplitude: np.ndarray, phase: np.ndarray | None = None, rssi: np.ndarray | None = None
    ) -> np.ndarray:
        """Input of window(s): amplitude and phase (..., length, 52), rssi (..., length) in dBm."""
        given = {"phase": phase, "rssi": rssi}
        absent = [name for name in self.extra if given[name] is None]
        if absent:
            raise ValueError(f"extra channel(s) {', '.join(absent)} requested but not given")
        inputs = [("amplitude", amplitude)] + [(name, given[name]) for name in self.extra]
        if self.view == "series":
            width = amplitude.shape[-1]
            parts = [self._series_block(n, v, width) for n, v in inputs]
            return np.concatenate(parts, axis=-1)
        channels = [correlation(self._normalized(n, v)) for n, v in inputs if n != "rssi"]
        if "rssi" in self.extra:
            channels.append(self._rssi_channel(np.asarray(rssi), amplitude.shape[-1]))
        return np.stack(channels, axis=-3)

    def _series_block(self, name: str, values: np.ndarray, width: int) -> np.ndarray:
        """One input's (..., length, width) block of the series: RSSI repeated across the columns."""
        if name != "rssi":
            return self._normalized(name, values)
        rssi = self._normalized(name, np.asarray(values)[..., None])
        return np.broadcast_to(rssi, (*rssi.shape[:-1], width))

    def _rssi_channel(self, rssi: np.ndarray, width: int) -> np.ndarray:
        """The correlation view's RSSI channel: the window's mean RSSI everywhere (..., width, width)."""
        mean = rssi.astype(np.float64).mean(axis=-1)
        if self.normalize != "none":
            stats = self.stats["rssi"]  # type: ignore[index]
            mean = (mean - stats.mean.reshape(())) / stats.std.reshape(())
        return np.broadcast_to(mean[..., None, None], (*mean.shape, width, width)).astype(np.float32)
