"""True positions at each CSI row of a synthetic session, from its ``truth/pings.parquet``.

For evaluation only (never a model input). The simulator writes, per sent ping, its
32-bit device counter ``local_timestamp`` (us), whether it was ``lost``, its logged host
time ``t_host`` and the true position ``x_m, y_m`` (m, region frame).

Matching (:func:`truth_at_rows`):

1. the ping clock: ``local_timestamp`` unwrapped past 32-bit wraps (us);
2. each received CSI row (``lost`` False) is matched to the logged ping whose
   ``local_timestamp`` equals its device time modulo 2**32 us (``t_device`` is the
   unwrapped counter of the log); if several pings share that value (a session longer
   than a wrap, ~71.6 min) the one whose host time is nearest the row's ``t_host_raw``;
   a received row whose device time matches no ping (its clock re-based by a jump repair)
   is matched by its logged host time instead, when exactly one logged ping has it
   (within :data:`HOST_TOL_S`);
3. each matched row gives the offset between the two unwrapped clocks; every other row
   (the inserted rows of lost pings) takes the offset of the nearest matched row of its
   segment;
4. the truth is interpolated linearly in the ping clock at the row's device time minus that
   offset: exactly the ping's position for a matched row, a position between the
   neighbouring pings for an inserted row. Rows outside the pings' time span are NaN.

A segment without a matched row is NaN; if fewer than :data:`MIN_MATCHED` of the received
rows match, the pings belong to another recording and every row is NaN.
"""

from __future__ import annotations

import numpy as np

from lofi.io.esp32.reader import unwrap_us_counter

WRAP_US = 1 << 32
#: Least fraction of received rows that must match a ping for the truth to be used.
MIN_MATCHED = 0.5
#: Host times (s) this close count as the same logged time.
HOST_TOL_S = 5e-7
#: Columns of ``truth/pings.parquet`` the matching reads (``t_host`` is optional).
PING_COLUMNS = ("local_timestamp", "lost", "x_m", "y_m")


def _nan(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full(n, np.nan), np.full(n, np.nan)


def _match_received(
    row_us: np.ndarray, row_host: np.ndarray, ping_key: np.ndarray, ping_host: np.ndarray
) -> np.ndarray:
    """For each row, the index into the pings with key ``row_us mod 2**32`` (nearest host time), or -1."""
    order = np.argsort(ping_key, kind="stable")
    keys = ping_key[order]
    wanted = np.mod(row_us, WRAP_US)
    lo, hi = np.searchsorted(keys, wanted, "left"), np.searchsorted(keys, wanted, "right")
    best, best_dt = np.where(hi > lo, lo, -1), np.full(len(row_us), np.inf)
    for j in range(int((hi - lo).max(initial=0))):
        at = lo + j
        has = at < hi
        dt = np.abs(row_host - ping_host[order[np.minimum(at, len(keys) - 1)]])
        better = has & (np.nan_to_num(dt, nan=np.inf) < best_dt)
        best, best_dt = np.where(better, at, best), np.where(better, dt, best_dt)
    return np.where(best >= 0, order[np.maximum(best, 0)], -1)


def _match_host(row_host: np.ndarray, ping_host: np.ndarray) -> np.ndarray:
    """For each row, the index of the one ping logged at its host time, or -1 (none, or several)."""
    order = np.argsort(ping_host, kind="stable")
    hosts = ping_host[order]
    lo = np.searchsorted(hosts, row_host - HOST_TOL_S, "left")
    hi = np.searchsorted(hosts, row_host + HOST_TOL_S, "right")
    unique = (hi - lo == 1) & np.isfinite(row_host)
    return np.where(unique, order[np.minimum(lo, len(order) - 1)], -1)


def _nearest_fill(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``values`` at the ``known`` rows spread to every row from the nearest known row (ties: earlier)."""
    where = np.flatnonzero(known)
    right = np.clip(np.searchsorted(where, np.arange(len(values))), 0, len(where) - 1)
    left = np.clip(right - 1, 0, len(where) - 1)
    rows = np.arange(len(values))
    use_left = np.abs(rows - where[left]) <= np.abs(where[right] - rows)
    return values[np.where(use_left, where[left], where[right])]


def truth_at_rows(
    t_device_s: np.ndarray,
    lost: np.ndarray,
    segment: np.ndarray,
    t_host_raw: np.ndarray,
    pings: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """True x and y (m, float64, NaN where unknown) at each CSI row of one session.

    Args:
        t_device_s: device time of each row (s), ``csi.parquet``'s ``t_device``.
        lost: rows inserted for lost pings.
        segment: the rows' CSI segments.
        t_host_raw: host time as logged (s; NaN for lost rows), to tell repeated counters apart.
        pings: columns of ``truth/pings.parquet`` (:data:`PING_COLUMNS`, optionally ``t_host``).
    """
    n = len(t_device_s)
    key = np.asarray(pings["local_timestamp"], dtype=np.int64)
    if n == 0 or len(key) == 0:
        return _nan(n)
    ping_us = unwrap_us_counter(key)
    order = np.argsort(ping_us, kind="stable")
    ping_us, key = ping_us[order], key[order]
    px, py = (np.asarray(pings[c], dtype=np.float64)[order] for c in ("x_m", "y_m"))
    logged = ~np.asarray(pings["lost"], dtype=bool)[order]
    host = np.asarray(pings.get("t_host", np.full(len(key), np.nan)), dtype=np.float64)[order]
    row_us = np.round(np.asarray(t_device_s, dtype=np.float64) * 1e6).astype(np.int64)
    received = ~np.asarray(lost, dtype=bool)
    match = np.full(n, -1)
    idx = np.flatnonzero(logged)
    row_host = np.asarray(t_host_raw, np.float64)[received]
    found = _match_received(row_us[received], row_host, key[idx], host[idx])
    missed = found < 0
    if missed.any() and len(idx):
        found[missed] = _match_host(row_host[missed], host[idx])
    match[received] = np.where(found >= 0, idx[np.maximum(found, 0)], -1)
    if (match >= 0).sum() < MIN_MATCHED * received.sum() or not (match >= 0).any():
        return _nan(n)
    offset = np.where(match >= 0, row_us - ping_us[np.maximum(match, 0)], 0)
    at_us = np.full(n, np.nan)
    segment = np.asarray(segment)
    for seg in np.unique(segment):
        rows = np.flatnonzero(segment == seg)
        known = match[rows] >= 0
        if known.any():
            at_us[rows] = (row_us[rows] - _nearest_fill(offset[rows], known)).astype(np.float64)
    return _interp(at_us, ping_us.astype(np.float64), px), _interp(at_us, ping_us.astype(np.float64), py)


def _interp(at: np.ndarray, t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``v(t)`` interpolated linearly at ``at``; NaN outside ``t``'s span or where ``at`` is NaN."""
    out = np.full(len(at), np.nan)
    inside = np.isfinite(at) & (at >= t[0]) & (at <= t[-1])
    out[inside] = np.interp(at[inside], t, v)
    return out
