"""Surveyed-point sessions for the tests: one esp-csi log per marked floor point, no video.

The esp-csi layout (25 columns) has no host timestamp column, so every row's ``t_host`` is NaN
and only the device clock (``local_timestamp``, us) times the rows. The CSI of a point is a
fixed pattern that depends on the point, plus noise, so a model can tell points apart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lofi.cli import main
from lofi.io.esp32.layouts import ESP_CSI_HEADER
from lofi.io.session import write_yaml

#: The 24 fields before the data array of an esp-csi row (sig_mode 1, HT20, 128 values).
ESP_CSI_FIELDS = "CSI_DATA,{seq},aa:bb:cc:dd:ee:ff,-50,11,1,0,0,0,0,0,0,0,0,-95,0,6,0,{tick},0,100,0,128,0,"
RATE_HZ = 100.0
#: Four points inside the default 1.8 x 4.8 m region (m, region frame).
POINTS = ((0.45, 1.2), (1.35, 1.2), (0.45, 3.6), (1.35, 3.6))


def point_values(point: tuple[float, float], rows: int, rng: np.random.Generator) -> np.ndarray:
    """int8 buffer (rows x 128: 64 subcarriers as imag, real) of a person standing at ``point`` (m)."""
    k = np.arange(64)
    pattern = 25.0 + 12.0 * np.sin(0.2 * k * (1.0 + point[0]) + point[1])
    real = np.clip(np.round(pattern + rng.normal(0.0, 2.0, (rows, 64))), -128, 127)
    values = np.zeros((rows, 128), dtype=np.int8)
    values[:, 1::2] = real.astype(np.int8)
    values[:, 0::2] = 3
    return values


def write_esp_csi_log(path: Path, t_device_s: np.ndarray, values: np.ndarray) -> None:
    """An esp-csi log (header + one row per device time, s): no host timestamps at all."""
    ticks = np.round(1_000_000 + np.asarray(t_device_s) * 1e6).astype(np.int64)
    rows = [
        ESP_CSI_FIELDS.format(seq=seq, tick=tick) + '"[' + ",".join(map(str, row)) + ']"'
        for seq, (tick, row) in enumerate(zip(ticks, values.tolist(), strict=True))
    ]
    path.write_text(ESP_CSI_HEADER + "\n" + "\n".join(rows) + "\n")


def make_point_session(
    folder: Path,
    point: tuple[float, float] | None,
    seconds: float = 12.0,
    seed: int = 0,
    gap_s: tuple[float, float] | None = None,
) -> Path:
    """A raw surveyed-point session: ``csi.csv`` (esp-csi, 100 Hz) and ``session.yaml`` with
    ``position_m: point`` (none when ``point`` is None). ``gap_s``: device times (s) with no rows."""
    folder.mkdir(parents=True)
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    if gap_s is not None:
        t = t[(t < gap_s[0]) | (t >= gap_s[1])]
    rng = np.random.default_rng(seed)
    write_esp_csi_log(folder / "csi.csv", t, point_values(point or (0.0, 0.0), len(t), rng))
    meta: dict = {"id": folder.name, "subjects": ["S1"], "csi_rate_hz": RATE_HZ}
    if point is not None:
        meta["position_m"] = list(point)
    write_yaml(folder / "session.yaml", meta)
    return folder


def csi_and_align(raw: Path, interim: Path, *align_args: str) -> Path:
    """``lofi csi`` then ``lofi align`` (with ``align_args``) into ``interim``; returns ``interim``."""
    assert main(["csi", str(raw), "--out", str(interim / "csi.parquet")]) == 0
    args = ["--csi", str(interim / "csi.parquet"), "--out", str(interim / "aligned.parquet")]
    assert main(["align", str(raw), *args, *align_args]) == 0
    return interim


def surveyed_interim(root: Path, sessions_per_point: int = 2, seconds: float = 12.0) -> list[Path]:
    """Sessions at every point of :data:`POINTS`, completed and aligned; their interim folders."""
    folders = []
    for p, point in enumerate(POINTS):
        for r in range(sessions_per_point):
            name = f"p{p}_r{r}"
            raw = make_point_session(root / "raw" / name, point, seconds, seed=10 * p + r)
            folders.append(csi_and_align(raw, root / "interim" / name))
    return folders
