"""Time reading a paper-scale (210 000-row) esp-radar CSI log.

Writes a synthetic 28-column esp-radar CSV (104 int8 values per row, 100 Hz, 10 %
packet loss) to a temporary folder, reads it back with ``lofi.io.read_csi_log``
and prints rows/s (best of ``--repeat`` runs). Target: >= 200 000 rows/s on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from lofi.io import read_csi_log, write_esp_radar_csv

TARGET_ROWS_PER_S = 200_000


def make_log(path: Path, n_rows: int, seed: int = 0) -> None:
    """Write an ``n_rows``-row esp-radar log with random-walk CSI and ~10 % loss."""
    rng = np.random.default_rng(seed)
    ticks = np.cumsum(rng.geometric(0.9, size=n_rows)) * 10_000 + rng.integers(-300, 300, n_rows)
    base = rng.integers(-40, 40, size=(1, 104))
    data = np.clip(base + rng.integers(-6, 7, size=(n_rows, 104)), -128, 127).astype(np.int8)
    write_esp_radar_csv(
        path,
        data,
        {
            "t_host": 1.7e9 + ticks / 1e6 + 0.004,
            "local_timestamp": ticks + 123_456_789,
            "rssi": rng.integers(-70, -40, n_rows),
            "mac": "aa:bb:cc:dd:ee:ff",
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=210_000, help="rows to write (default: paper scale)")
    parser.add_argument("--repeat", type=int, default=3, help="timed reads; the best is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "csi.csv"
        t0 = time.perf_counter()
        make_log(path, args.rows)
        write_s = time.perf_counter() - t0
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            log = read_csi_log(path)
            best = min(best, time.perf_counter() - t0)
        size_mb = path.stat().st_size / 1e6
    assert len(log) == args.rows, f"read {len(log)} rows, wrote {args.rows}"
    rate = args.rows / best
    verdict = "meets" if rate >= TARGET_ROWS_PER_S else "MISSES"
    print(f"csi write: {args.rows} rows ({size_mb:.1f} MB) in {write_s:.2f} s")
    print(
        f"csi read:  {args.rows} rows in {best:.3f} s = {rate:,.0f} rows/s "
        f"({verdict} the {TARGET_ROWS_PER_S:,} rows/s target)"
    )


if __name__ == "__main__":
    main()
