"""Rates and clocks that contradict the CSI log: ``lofi csi`` refuses them, naming both sides.

Each case builds a small log (esp-radar layout) whose packets leave every 1/98.4 s with bursty
loss, runs ``lofi csi`` as a user would and checks the exit code, the message (the file, both
numbers, where a given rate came from), that the inputs are unchanged and that nothing was written.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from lofi.csi.clock import MAX_DRIFT_PPM
from lofi.csi.loss import MAX_RATE_RATIO
from tests.conftest import ESP_CSI_LOG
from tests.csi.logs import HOST_START, write_log

RATE_HZ = 98.4  # the log's own rate: packets every 10.163 ms
SENT = 994
LOST = np.r_[100:130, 300:340, 600:656]  # 126 packets lost in three bursts (0.3-0.6 s)


def device_times(rate_hz: float = RATE_HZ, sent: int = SENT, lost: np.ndarray = LOST) -> np.ndarray:
    """Device times (s) of the received packets: every 1/rate_hz s from 1 s, ``lost`` removed."""
    return np.delete(1.0 + np.arange(sent) / rate_hz, lost)


def make_session(folder: Path, yaml_text: str = "id: walk\n", **log: np.ndarray) -> Path:
    """A raw session: csi.csv from ``write_log(**log)`` (default: the bursty 98.4 Hz log) and session.yaml."""
    folder.mkdir(parents=True)
    write_log(folder / "csi.csv", log.pop("t_device_s", device_times()), **log)
    (folder / "session.yaml").write_text(yaml_text)
    return folder


def hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file in ``folder``."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def refused(lofi, tmp_path: Path, session: Path, *args: str, fragments: list[str]) -> str:
    """Run ``lofi csi``; check the refusal, unchanged inputs and no output; return stderr."""
    before = hashes(session)
    out = tmp_path / "out"
    result = lofi("csi", session, *args, "--out", out / "csi.parquet")
    result.refused(str(session / "csi.csv"), *fragments)
    assert hashes(session) == before
    assert not out.exists() or not list(out.iterdir())
    return result.err


def completed(lofi, tmp_path: Path, session: Path, *args: str) -> dict:
    """Run ``lofi csi``, which must succeed; return its report."""
    out = tmp_path / "out" / "csi.parquet"
    result = lofi("csi", session, *args, "--out", out)
    assert result.code == 0, result.err
    return json.loads(out.with_suffix(".json").read_text())


def set_counter(csv: Path, values: dict[int, int]) -> None:
    """Overwrite ``local_timestamp`` of data rows (0 = the first row under the header) as text."""
    lines = csv.read_bytes().splitlines(keepends=True)
    column = lines[0].decode().split(",").index("local_timestamp")
    for row, value in values.items():
        fields = lines[row + 1].split(b",", column + 1)
        fields[column] = str(value).encode()
        lines[row + 1] = b",".join(fields)
    csv.write_bytes(b"".join(lines))


# -- a given rate the log's median interval contradicts ------------------------------------------


@pytest.mark.parametrize(
    ("rate", "faster"),
    [("0.001", False), ("1", False), ("60", False), ("150", True), ("200", True)],
)
def test_a_rate_option_the_log_contradicts_is_refused(lofi, tmp_path, rate, faster):
    session = make_session(tmp_path / "walk")
    err = refused(lofi, tmp_path, session, "--rate-hz", rate, fragments=[f"f2 = {rate} Hz from --rate-hz"])
    assert "median packet interval, 10.16 ms, gives 98.4 Hz" in err
    assert ("times faster" if faster else "times slower") in err
    assert f"at most {MAX_RATE_RATIO:g} times either way" in err


@pytest.mark.parametrize("rate", ["1", "200"])
def test_a_session_yaml_rate_the_log_contradicts_names_the_file(lofi, tmp_path, rate):
    session = make_session(tmp_path / "walk", f"id: walk\ncsi_rate_hz: {rate}\n")
    refused(
        lofi,
        tmp_path,
        session,
        fragments=[f"f2 = {rate} Hz from csi_rate_hz in {session / 'session.yaml'}", "gives 98.4 Hz"],
    )


@pytest.mark.parametrize("rate", ["66", "98.4", "100", "147"])
def test_a_rate_within_half_again_of_the_log_is_used(lofi, tmp_path, rate):
    session = make_session(tmp_path / "walk", f"csi_rate_hz: {rate}\n")
    report = completed(lofi, tmp_path, session)
    assert report["rate_hz"] == float(rate) and report["rate_source"] == "given"
    if rate == "98.4":
        assert (report["received"], report["lost"]) == (SENT - len(LOST), len(LOST))


def test_the_simulators_loss_and_outages_do_not_move_the_median(lofi, tmp_path):
    """10 % of the packets lost in bursts plus 0.2-2 s outages: the given 100 Hz still agrees."""
    rng = np.random.default_rng(5)
    sent = 1.0 + np.arange(6000) / 100.0
    lost = np.zeros(len(sent), dtype=bool)
    for start in rng.choice(len(sent) - 20, 60, replace=False):
        lost[start : start + rng.integers(2, 20)] = True  # bursts
    for start, seconds in ((1000, 0.2), (3000, 2.0), (4500, 1.1)):
        lost[start : start + int(seconds * 100)] = True  # outages
    session = make_session(tmp_path / "walk", "csi_rate_hz: 100\n", t_device_s=sent[~lost])
    report = completed(lofi, tmp_path, session)
    assert report["received"] == int((~lost).sum()) and report["lost"] == int(
        lost[: np.flatnonzero(~lost)[-1]].sum()
    )


# -- clocks that contradict each other or do not run ----------------------------------------------


@pytest.mark.parametrize("speed", [2.0, 1.005, 0.5], ids=["twice_real_time", "5000_ppm", "half_real_time"])
@pytest.mark.parametrize("yaml_text", ["id: walk\n", "csi_rate_hz: 98.4\n"], ids=["no_rate", "rate"])
def test_a_device_counter_off_the_host_clock_is_refused(lofi, tmp_path, speed, yaml_text):
    t = device_times(sent=2000)  # ~19 s
    device = 1.0 + (t - 1.0) * speed
    session = make_session(tmp_path / "walk", yaml_text, t_device_s=device, t_host_s=HOST_START + t)
    err = refused(lofi, tmp_path, session, fragments=["local_timestamp", "host clock", "fitted drift of"])
    host_s = t[-1] - t[0]
    assert f"advanced {host_s * speed:.4g} s while the host clock advanced {host_s:.4g} s" in err
    ppm = float(re.search(r"drift of ([-+][\d,]+) ppm", err).group(1).replace(",", ""))
    assert ppm == pytest.approx((1 / speed - 1) * 1e6, abs=5)
    assert f"+-{MAX_DRIFT_PPM:g} ppm" in err


def test_a_crystal_drift_and_a_short_noisy_log_are_accepted(lofi, tmp_path):
    t = device_times(sent=3000)
    session = make_session(tmp_path / "a", t_device_s=t, t_host_s=HOST_START + t * (1 + 40e-6))
    assert completed(lofi, tmp_path / "out_a", session)["host_fit"]["drift_ppm"] == pytest.approx(40, abs=2)
    t = device_times(sent=20, lost=np.array([], dtype=int))  # 0.2 s, host times to the ms: a noisy slope
    jitter = np.random.default_rng(1).uniform(0, 0.004, len(t))
    session = make_session(tmp_path / "b", t_device_s=t, t_host_s=HOST_START + t + jitter)
    assert completed(lofi, tmp_path / "out_b", session)["received"] == 20


@pytest.mark.parametrize(("first", "last"), [(1, SENT - len(LOST)), (300, 600)], ids=["all", "a_stretch"])
def test_a_counter_that_does_not_advance_is_refused(lofi, tmp_path, first, last):
    t = device_times()
    stuck = t.copy()
    stuck[first:last] = t[first - 1]  # the counter stops; host times run on
    session = make_session(tmp_path / "walk", t_device_s=stuck, t_host_s=HOST_START + t)
    err = refused(lofi, tmp_path, session, fragments=["local_timestamp", "does not advance", "stuck"])
    assert f"{last - first:,} of {len(t):,} rows repeat an earlier value" in err
    assert f"{last - first + 1:,} rows read {round(t[first - 1] * 1e6)} us" in err


def test_a_few_rows_sharing_a_device_time_are_dropped_and_counted(lofi, tmp_path):
    t = device_times()
    twice = np.sort(np.r_[t, t[::100]])  # 9 packets logged twice, their host times 2 ms apart
    host = HOST_START + twice + np.r_[0.0, np.diff(twice) == 0] * 0.002
    report = completed(lofi, tmp_path, make_session(tmp_path / "walk", t_device_s=twice, t_host_s=host))
    assert report["dropped"]["duplicate_device_time"] == len(t[::100]) and report["received"] == len(t)


# -- negative device counter values ----------------------------------------------------------------


def test_negative_counter_glitches_are_dropped_and_counted(lofi, tmp_path):
    session = make_session(tmp_path / "walk")
    set_counter(session / "csi.csv", {10: -5, 400: -1_000_000, 401: -999_990, 700: -(2**40)})
    report = completed(lofi, tmp_path, session, "--rate-hz", "98.4")
    assert report["dropped"]["negative_local_timestamp"] == 4
    assert (report["received"], report["lost"]) == (SENT - len(LOST) - 4, len(LOST) + 4)
    assert (report["segments"], report["clock_jumps"], report["reboots"]) == (1, 0, 0)


def test_a_negative_glitch_without_host_times_invents_no_gap(lofi, tmp_path):
    csv = tmp_path / "csi.csv"
    csv.write_bytes(ESP_CSI_LOG.read_bytes())
    clean = completed(lofi, tmp_path / "clean", csv)
    set_counter(csv, {50: -5})
    report = completed(lofi, tmp_path / "glitch", csv)
    assert report["host_fit"] is None and report["dropped"]["negative_local_timestamp"] == 1
    assert report["received"] == clean["received"] - 1 and report["lost"] == clean["lost"] + 1


@pytest.mark.parametrize("start_s", [2140.0, 2150.0], ids=["crosses_2**31_us", "starts_past_2**31_us"])
def test_a_counter_printed_signed_past_35_minutes_is_kept(lofi, tmp_path, start_s):
    """ESP-IDF's examples print the 32-bit counter with %d: from 2**31 us of uptime it reads negative."""
    t = start_s + device_times() - 1.0
    session = make_session(tmp_path / "walk", "csi_rate_hz: 98.4\n", t_device_s=t, t_host_s=HOST_START + t)
    counter = np.round(t * 1e6).astype(np.int64)
    signed = np.where(counter >= 2**31, counter - 2**32, counter)
    assert (signed < 0).any()
    set_counter(session / "csi.csv", {row: int(v) for row, v in enumerate(signed) if v < 0})
    report = completed(lofi, tmp_path, session)
    assert report["dropped"].get("negative_local_timestamp", 0) == 0
    assert (report["received"], report["lost"], report["segments"]) == (len(t), len(LOST), 1)


@pytest.mark.parametrize("rows", [2, 3, 10, 20, 50])
def test_a_short_log_reports_no_drift_rather_than_an_impossible_one(lofi, tmp_path, rows):
    """A few rows of ms-resolution host times give a slope of pure jitter (+1 490 427 ppm from 2 rows)."""
    t = device_times(sent=rows, lost=np.array([], dtype=int))
    jitter = np.random.default_rng(rows).uniform(0, 0.004, len(t))
    session = make_session(tmp_path / "walk", t_device_s=t, t_host_s=HOST_START + t + jitter)
    fit = completed(lofi, tmp_path / "out", session)["host_fit"]
    assert fit["drift_ppm"] is None and fit["slope"] == 1.0
