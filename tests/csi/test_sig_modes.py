"""Which sig_mode sub-streams are pings (``--keep-sig-modes``): beacons by timing, not sig_mode alone."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lofi.cli import main
from lofi.csi.beacons import choose_sig_modes
from lofi.csi.choices import parse_keep_sig_modes
from lofi.csi.complete import CompletionOptions, complete_csi
from lofi.io.esp32.reader import read_csi_log
from tests.conftest import CSI_TOOL_LOG, CSIKIT_LOG, ESP_CSI_LOG

from .logs import write_log

N = 3000  # 30 s of pings at 100 Hz


def _pings(rng: np.random.Generator, n: int = N, period: float = 0.01, jitter: float = 0.0008) -> np.ndarray:
    """Device times (s) of a ping stream with receive-time jitter."""
    return 1.0 + period * np.arange(n) + rng.normal(0, jitter, n)


def _beacons(duration_s: float, offset_s: float = 0.0037) -> np.ndarray:
    """A router's beacons: every 102.4 ms (100 TU), offset from the ping slots."""
    return 1.0 + offset_s + 0.1024 * np.arange(int(duration_s / 0.1024))


def _log(tmp_path, t: np.ndarray, sig_mode: np.ndarray, name: str = "c.csv"):
    order = np.argsort(t, kind="stable")
    return write_log(tmp_path / name, t[order], sig_mode=np.asarray(sig_mode)[order])


def _complete(log, setting: str = "auto", **options):
    return complete_csi(log, CompletionOptions(keep_sig_modes=setting, **options))


def _stream(report, sig_mode: int) -> dict:
    return next(s for s in report.sig_modes["streams"] if s["sig_mode"] == sig_mode)


@pytest.mark.parametrize("rate_hz", [None, 100.0], ids=["estimated_rate", "given_rate"])
def test_beacons_between_the_pings_are_dropped_as_beacons(tmp_path, rate_hz):
    rng = np.random.default_rng(1)
    pings = _pings(rng)
    received = rng.random(N) > 0.1  # 10 % of the pings lost
    beacons = _beacons(30.0)
    log = _log(
        tmp_path,
        np.r_[pings[received], beacons],
        np.r_[np.ones(received.sum(), int), np.zeros(len(beacons), int)],
    )
    done = _complete(log, rate_hz=rate_hz)
    report = done.report
    assert report.dropped["beacon"] == len(beacons) and report.dropped["other_sig_mode"] == 0
    assert report.received == received.sum()
    first, last = np.flatnonzero(received)[[0, -1]]
    assert report.lost == np.count_nonzero(~received[first : last + 1])  # eq. 4 finds exactly the lost pings
    beacon = _stream(report, 0)
    assert (beacon["decision"], beacon["rule"]) == ("beacon", "beacon_interval")
    assert beacon["median_interval_ms"] == pytest.approx(102.4, abs=0.1)
    assert report.sig_modes["kept"] == [1]


def test_beacons_among_10_hz_pings_are_frames_between_slots(tmp_path):
    rng = np.random.default_rng(2)
    pings = _pings(rng, 300, period=0.1, jitter=0.003)
    beacons = _beacons(29.0, offset_s=0.031)
    log = _log(tmp_path, np.r_[pings, beacons], np.r_[np.ones(300, int), np.zeros(len(beacons), int)])
    report = _complete(log).report
    assert report.dropped["beacon"] == len(beacons) and report.received == 300 and report.lost == 0
    assert _stream(report, 0)["rule"] == "between_slots"  # not ~10 times slower than the pings


@pytest.mark.parametrize(
    "pattern", ["alternating", "runs", "every_tenth"], ids=["alternating", "in_runs", "every_tenth"]
)
@pytest.mark.parametrize("jitter", [0.0008, 0.002])
def test_sig_modes_of_one_ping_stream_are_all_kept_with_no_loss(tmp_path, pattern, jitter):
    rng = np.random.default_rng(3)
    t = (
        _pings(rng, jitter=jitter)
        if jitter < 0.002
        else 1.0 + 0.01 * np.arange(N) + rng.uniform(-2e-3, 2e-3, N)
    )
    if pattern == "alternating":
        sig_mode = np.arange(N) % 2
    elif pattern == "runs":
        sig_mode = np.repeat(np.arange(400) % 2, rng.integers(3, 40, 400))[:N]
    else:  # every tenth ping at another rate: a ~10 Hz sub-stream, on the ping slots
        sig_mode = (np.arange(N) % 10 != 3).astype(int)
    done = _complete(_log(tmp_path, t, sig_mode), rate_hz=100.0)
    report = done.report
    assert report.received == N and report.lost == 0 and report.loss_pct == 0.0
    assert report.dropped["beacon"] == report.dropped["other_sig_mode"] == 0
    assert sorted(report.sig_modes["kept"]) == [0, 1]
    minority = next(s for s in report.sig_modes["streams"] if s["sig_mode"] != report.sig_modes["dominant"])
    assert minority["rule"] == "fills_slots" and minority["fills"] >= 0.7 * minority["rows"]
    assert len(done.table) == N and not done.table["filled"].any()


def test_an_alternating_stream_with_loss_reports_the_true_loss(tmp_path):
    rng = np.random.default_rng(4)
    received = rng.random(N) > 0.15
    t, sig_mode = _pings(rng)[received], (np.arange(N) % 2)[received]
    report = _complete(_log(tmp_path, t, sig_mode)).report
    first, last = np.flatnonzero(received)[[0, -1]]
    assert report.received == received.sum()
    assert report.lost == np.count_nonzero(~received[first : last + 1])
    dominant_only = _complete(_log(tmp_path, t, sig_mode, "d.csv"), "dominant").report
    assert dominant_only.received < 0.6 * report.received  # what the old rule threw away


def test_dominant_reproduces_the_old_rule_all_and_lists_keep_those(tmp_path):
    rng = np.random.default_rng(5)
    sig_mode = (np.arange(N) % 3 == 0).astype(int)  # 1 in 3 rows sig_mode 1, on the ping slots
    log = _log(tmp_path, _pings(rng), sig_mode)
    dominant = _complete(log, "dominant", rate_hz=100.0).report
    assert dominant.dropped["other_sig_mode"] == N // 3 and dominant.dropped["beacon"] == 0
    assert dominant.received == N - N // 3 and dominant.lost == N // 3 - 1  # the old loss: invented fill
    assert _stream(dominant, 1)["rule"] == "dominant"
    for setting in ("all", "0,1", "1,0"):
        report = _complete(log, setting, rate_hz=100.0).report
        assert report.received == N and report.lost == 0
    only = _complete(log, "1", rate_hz=10 * 100 / 30).report  # sig_mode 1 alone: every third ping
    assert only.received == N // 3 and only.dropped["other_sig_mode"] == N - N // 3
    assert _stream(only, 0)["rule"] == "not_listed"


def test_a_sub_stream_of_two_rows_is_too_few_to_time(tmp_path):
    t = 1.0 + 0.01 * np.arange(50)
    sig_mode = np.ones(50, dtype=int)
    sig_mode[[10, 30]] = 0
    report = _complete(_log(tmp_path, t, sig_mode), rate_hz=100.0).report
    assert report.dropped["other_sig_mode"] == 2
    assert _stream(report, 0)["rule"] == "too_few_rows"


@pytest.mark.parametrize(
    ("text", "value"),
    [("auto", "auto"), ("ALL", "all"), (" dominant ", "dominant"), ("1,0,1", "0,1"), ("3", "3")],
)
def test_keep_sig_modes_values_are_normalised(text, value):
    assert parse_keep_sig_modes(text) == value
    assert CompletionOptions(keep_sig_modes=text).keep_sig_modes == value


@pytest.mark.parametrize("text", ["7x", "", "0,,1", "9", "-1", "dominant,0"])
def test_bad_keep_sig_modes_values_are_refused(text):
    with pytest.raises(ValueError, match="sig_mode setting"):
        CompletionOptions(keep_sig_modes=text)


def test_rows_without_a_sig_mode_are_kept():
    choice = choose_sig_modes(np.arange(5) * 0.01, np.array([1, np.nan, 1, 0, 1]), "dominant")
    assert choice.keep.tolist() == [True, True, True, False, True]
    assert choice.dropped == {"other_sig_mode": 1}


def test_the_stage_report_says_what_was_dropped_and_why(tmp_path, capsys):
    rng = np.random.default_rng(6)
    beacons = _beacons(30.0)
    _log(
        tmp_path, np.r_[_pings(rng), beacons], np.r_[np.ones(N, int), np.zeros(len(beacons), int)], "csi.csv"
    )
    out = tmp_path / "csi.parquet"
    assert main(["csi", str(tmp_path / "csi.csv"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "beacon" in printed and "beacon_interval" in printed
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["options"]["keep_sig_modes"] == "auto"
    assert report["dropped"]["beacon"] == len(beacons) and report["loss_pct"] == 0.0
    assert report["sig_modes"]["setting"] == "auto" and report["sig_modes"]["dropped"] == {
        "beacon": len(beacons)
    }
    assert [s["rule"] for s in report["sig_modes"]["streams"]] == ["dominant", "beacon_interval"]
    assert main(["csi", str(tmp_path / "csi.csv"), "--out", str(out), "--keep-sig-modes", "all"]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["dropped"]["beacon"] == 0 and report["received"] == N + len(beacons)


# -- the real logs (tests/fixtures/real_csi) ------------------------------------------------------------


@pytest.mark.parametrize("path", [CSIKIT_LOG, ESP_CSI_LOG], ids=["csikit", "esp_csi"])
def test_real_logs_with_one_sig_mode_lose_no_row_to_it(path):
    log = read_csi_log(path)
    assert log.table["sig_mode"].nunique() == 1
    reports = [_complete(log, setting).report for setting in ("auto", "dominant", "all")]
    for report in reports:
        assert report.dropped["beacon"] == report.dropped["other_sig_mode"] == 0
        assert report.received == reports[0].received and report.lost == reports[0].lost


def test_the_real_log_with_one_non_ht_row_keeps_the_old_choice():
    """ESP32-CSI-Tool's example: 12 HT rows (len 384) and one non-HT row (len 128) of the same MAC:
    one row cannot be timed, so auto drops it as dominant does; all keeps it."""
    log = read_csi_log(CSI_TOOL_LOG)
    auto, dominant, everything = (_complete(log, s).report for s in ("auto", "dominant", "all"))
    assert auto.dropped["other_sig_mode"] == dominant.dropped["other_sig_mode"] == 1
    assert _stream(auto, 0)["rule"] == "too_few_rows"
    assert auto.received == dominant.received == everything.received - 1 == len(log.table) - 1
    assert everything.dropped["other_sig_mode"] == everything.dropped["beacon"] == 0
