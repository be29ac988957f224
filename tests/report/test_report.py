"""``lofi report``: a runs folder becomes table2.md/.csv/.json and figures, with real numbers.

Each test writes run folders as ``python -m lofi.train`` does (``metrics.json`` whose test numbers
are computed from the ``predictions.parquet`` written beside it), runs ``lofi report`` in-process
and checks the printed cells against numpy over the seeds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lofi.cli import main

PNG = b"\x89PNG\r\n\x1a\n"
REGION = (1.8, 4.8)
#: (model, normalize, label source) -> how far its predictions lie from its target (m).
NOISE = {("gru", "window", "labels"): 0.5, ("gru", "global", "labels"): 0.7,
         ("lstm", "window", "labels"): 0.6, ("lstm", "global", "labels"): 0.8,
         ("gru", "window", "truth"): 0.3, ("mean", "window", "labels"): 1.2,
         ("knn", "window", "labels"): 1.0}  # fmt: skip


@pytest.fixture
def lofi(capsys):
    """``lofi(*args) -> (exit code, stdout, stderr)``, run in-process as the console script would."""

    def run(*args: str | Path) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _predictions(seed: int, noise: float, source: str, windows: int, truth: bool) -> pd.DataFrame:
    """Test windows of two sessions (s1: consecutive starts, s2: with a gap): label, truth, prediction."""
    rng = np.random.default_rng(1000 + seed)  # the same windows and labels for every model of a seed
    xy_true = rng.uniform((0, 0), REGION, size=(windows, 2))
    xy_label = xy_true + rng.normal(0, 0.15, size=(windows, 2))
    own = np.random.default_rng([seed, round(noise * 100), source == "truth"])
    target = xy_true if source == "truth" else xy_label
    xy_pred = target + own.normal(0, noise, size=(windows, 2))
    half = windows // 2
    starts = np.r_[np.arange(half) * 100, np.arange(windows - half) * 100 + 50_000]
    starts[-3:] += 100  # a gap in s2: the longest stretch lies in s1
    table = pd.DataFrame({"session": ["s1"] * half + ["s2"] * (windows - half), "start": starts,
                          "x_label": xy_label[:, 0], "y_label": xy_label[:, 1],
                          "x_true": xy_true[:, 0], "y_true": xy_true[:, 1],
                          "x_pred": xy_pred[:, 0], "y_pred": xy_pred[:, 1]})  # fmt: skip
    if not truth:
        table[["x_true", "y_true"]] = np.nan
    for n in (2, 4, 6):
        table[f"region{n}"] = rng.integers(0, n, windows)
        table[f"region{n}_pred"] = np.where(own.random(windows) < 0.6, table[f"region{n}"], 0)
    return table


def _metrics(table: pd.DataFrame) -> dict:
    """The test numbers training writes, computed from ``table``."""
    out = {"test/windows": float(len(table))}
    for target, prefix in (("label", "err"), ("true", "err_true")):
        err = np.hypot(table["x_pred"] - table[f"x_{target}"], table["y_pred"] - table[f"y_{target}"])
        finite = err[np.isfinite(err)]
        numbers = (
            (finite.mean(), finite.std(), np.median(finite), np.percentile(finite, 90))
            if len(finite)
            else [None] * 4
        )
        out |= {
            f"test/{prefix}_{k}": v for k, v in zip(("mean", "std", "median", "p90"), numbers, strict=True)
        }
    for n in (2, 4, 6):
        out[f"test/acc{n}"] = float((table[f"region{n}"] == table[f"region{n}_pred"]).mean())
    return out


def _run(root: Path, model: str, normalize: str, seed: int, source: str = "labels", windows: int = 40,
         truth: bool = True, **fields) -> dict:  # fmt: skip
    """Write one run folder (metrics.json, predictions.parquet); returns its metrics."""
    folder = root / f"{model}-{normalize}-{source}-seed{seed}"
    folder.mkdir(parents=True)
    table = _predictions(seed, NOISE[(model, normalize, source)], source, windows, truth)
    table.to_parquet(folder / "predictions.parquet", index=False)
    network = model not in ("mean", "knn")
    config = {"seed": seed, "run_name": folder.name, "model": {"name": model},
              "trainer": {"max_epochs": 20}, "data": {"dir": "/data", "length": 100, "normalize": normalize,
              "label_source": source, "region_m": list(REGION)}}  # fmt: skip
    metrics = {"status": "finished", "model": model, "experiment": model, "seed": seed, "task": "multitask",
               "split": "paper", "fold": 0, "normalize": normalize, "pretrained": "",
               "parameters": 103_000 if network else 0, "epochs": 12 + seed if network else 0,
               "train_seconds": 30.0 + seed, "peak_memory_mb": 500.0 + seed,
               "peak_memory_kind": "peak RSS (CPU)", "git_commit": "c0ffee", "dataset_sha256": "d" * 64,
               "settings_sha256": f"{model}-{normalize}-{source}", "config": config,
               "paper/err_mean": 0.4} | _metrics(table) | fields  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return metrics


def _rows(out: str) -> dict[str, dict[str, str]]:
    """The printed table: ``<model cell> <normalize cell>`` -> (header -> cell)."""
    lines = [line for line in out.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]
    rows = [dict(zip(cells[0], row, strict=True)) for row in cells[2:]]
    return {f"{row['model']} {row['normalize']}": row for row in rows}


def _folder(tmp_path: Path, truth: bool = True) -> Path:
    """3 seeds of gru and lstm in both normalisations, a truth-trained gru, both baselines, one failure."""
    runs = tmp_path / "runs"
    for seed in range(3):
        for model in ("gru", "lstm"):
            for normalize in ("window", "global"):
                _run(runs, model, normalize, seed, truth=truth)
        if truth:
            _run(runs, "gru", "window", seed, source="truth")
    _run(runs, "mean", "window", 0, truth=truth)
    _run(runs, "knn", "window", 0, truth=truth)
    _run(runs, "lstm", "window", 7, status="failed")
    return runs


def _seed_numbers(runs: Path, model: str, normalize: str, source: str, key: str) -> np.ndarray:
    """``key`` of the metrics.json of seeds 0, 1 and 2 of one setting."""
    folders = [runs / f"{model}-{normalize}-{source}-seed{seed}" for seed in range(3)]
    return np.array([json.loads((folder / "metrics.json").read_text())[key] for folder in folders])


def test_the_report_prints_seed_means_the_truth_gap_and_writes_every_output(lofi, tmp_path):
    runs, out = _folder(tmp_path), tmp_path / "results"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "label_error_map.png").write_bytes(PNG + b"label quality")  # another stage's figure
    code, printed, err = lofi("report", runs, "--out-dir", out)
    assert code == 0, err
    rows = _rows(printed)
    assert list(rows) == ["mean –", "knn window", "gru window", "gru (trained on truth) window", "gru global",
                          "lstm window", "lstm global"]  # fmt: skip
    for model, normalize in (("gru", "window"), ("lstm", "global")):
        errs = _seed_numbers(runs, model, normalize, "labels", "test/err_mean")
        truths = _seed_numbers(runs, model, normalize, "labels", "test/err_true_mean")
        row = rows[f"{model} {normalize}"]
        assert row["test error vs labels (m)"] == f"{errs.mean():.3f} ± {errs.std(ddof=1):.3f}"
        assert row["vs truth (m)"] == f"{truths.mean():.3f} ± {truths.std(ddof=1):.3f}"
        assert row["seeds"] == "3" and row["epochs"] == "12–14" and row["test windows"] == "40"
    medians = _seed_numbers(runs, "gru", "window", "labels", "test/err_median")
    p90s = _seed_numbers(runs, "gru", "window", "labels", "test/err_p90")
    assert rows["gru window"]["median / p90 vs labels (m)"] == f"{medians.mean():.3f} / {p90s.mean():.3f}"
    assert rows["gru window"]["reference protocol (m)"] == "0.400"
    assert rows["gru window"]["paper: error / acc6 / acc4 / acc2"] == "0.941 / 0.49 / 0.56 / 0.74"
    assert rows["gru window"]["peak memory"] == "502 MB RSS"  # the largest over seeds
    assert rows["gru (trained on truth) window"]["paper: error / acc6 / acc4 / acc2"] == "–"
    assert rows["mean –"]["params"] == "–" and rows["mean –"]["seeds"] == "1"

    labels = _seed_numbers(runs, "gru", "window", "labels", "test/err_true_mean").mean()
    truth = _seed_numbers(runs, "gru", "window", "truth", "test/err_true_mean").mean()
    (cost,) = [line for line in printed.splitlines() if line.startswith("- gru (window")]
    assert cost.startswith(
        f"- gru (window, paper): {labels - truth:+.3f} m = {labels:.3f} m (labels, 3 seeds)"
    )
    assert f"- {truth:.3f} m (truth, 3 seeds)" in cost

    assert "- commit: c0ffee (all 17 runs)" in printed
    assert "- epoch budget (trainer.max_epochs) of the networks: 20;" in printed
    assert (
        "- seeds: 0, 1, 2;" in printed
        and "not recorded by the runs; the machine running lofi report" in printed
    )
    assert "fewer than 100 (fewest 40)" in printed and "1/40 = 0.025" in printed
    assert "Not averaged (1 run):" in printed and "lstm-window-labels-seed7: status" in printed

    figures = out / "figures"
    for name in ("error_cdf", "trajectory", "error_by_position", "table2"):
        assert (figures / f"{name}.png").read_bytes()[:8] == PNG
        assert f"](figures/{name}.png)" in (out / "table2.md").read_text()
    assert (figures / "label_error_map.png").read_bytes() == PNG + b"label quality"  # left alone, linked
    assert "](figures/label_error_map.png)" in printed and "detectors_panel" not in printed
    assert (out / "table2.md").read_text() == printed[: printed.index("wrote: ")]

    document = json.loads((out / "table2.json").read_text())
    assert list(document["rows"]) == pd.read_csv(out / "table2.csv")["label"].tolist()  # keyed by label
    by_name = {(r["name"], r["normalize"]): r for r in document["rows"].values()}
    gru = by_name[("gru", "window")]
    errs = _seed_numbers(runs, "gru", "window", "labels", "test/err_mean")
    assert gru["err_mean"] == pytest.approx(errs.mean()) and gru["err_sd"] == pytest.approx(errs.std(ddof=1))
    assert gru["seeds"] == [0, 1, 2] and gru["runs"][0] == "gru-window-labels-seed0"
    assert by_name[("mean", "window")]["err_sd"] is None and by_name[("mean", "window")]["paper_err"] is None
    assert document["labels_cost"][0]["cost_m"] == pytest.approx(labels - truth)
    assert document["header"]["datasets"] == {"d" * 64: 17}
    _check_plot_data(out, document)
    csv = pd.read_csv(out / "table2.csv")
    assert len(csv) == 7 and csv.loc[csv["name"] == "gru", "err_mean"].iloc[0] == pytest.approx(
        errs.mean(), abs=1e-5
    )


def _check_plot_data(out, document) -> None:
    """plots/*.csv: the error CDF of every row with predictions (vs labels and truth, 101 shares each,
    rising), and the best row's error map cells (dvc plots reads both)."""
    from lofi.report.figures import CDF_SHARES

    cdf = pd.read_csv(out / "plots" / "error_cdf.csv")
    assert list(cdf.columns) == ["series", "row", "versus", "share", "error_m"]
    assert set(cdf["row"]) <= set(document["rows"]) and set(cdf["versus"]) == {"labels", "truth"}
    for _, curve in cdf.groupby("series"):
        assert np.allclose(curve["share"], CDF_SHARES) and curve["error_m"].is_monotonic_increasing
    cells = pd.read_csv(out / "plots" / "error_by_position.csv")
    assert list(cells.columns) == ["x_m", "y_m", "error_m", "windows", "versus", "row"]
    assert cells["row"].nunique() == 1 and cells["row"].iloc[0] in document["rows"]
    assert (
        (cells["windows"] > 0).all() and (cells["error_m"] >= 0).all() and set(cells["versus"]) == {"truth"}
    )


def test_without_truth_the_truth_columns_vanish(lofi, tmp_path):
    runs, out = _folder(tmp_path, truth=False), tmp_path / "results"
    for seed in range(3):  # 120 test windows: no note on few windows
        folder = runs / f"gru-window-labels-seed{seed}"
        for name in ("predictions.parquet", "metrics.json"):
            (folder / name).unlink()
        folder.rmdir()
        _run(runs, "gru", "window", seed, truth=False, windows=120)
    code, printed, err = lofi("report", runs, "--out-dir", out)
    assert code == 0, err
    header = next(line for line in printed.splitlines() if line.startswith("| model"))
    assert "truth" not in header and "nan" not in printed.lower()
    assert "truth: not known to any run" in printed and "What vision labels cost" not in printed
    assert "5 of 6 rows have fewer than 100" in printed  # the 40-window rows still say so
    document = json.loads((out / "table2.json").read_text())
    assert all(
        row["err_true_mean"] is None and row["err_true_sd"] is None for row in document["rows"].values()
    )
    assert (out / "figures" / "error_by_position.png").read_bytes()[:8] == PNG


def test_differing_commits_and_many_windows_are_said(lofi, tmp_path):
    runs = tmp_path / "runs"
    _run(runs, "gru", "window", 0, windows=150)
    _run(runs, "gru", "window", 1, windows=150, git_commit="beef")
    (runs / "gru-window-labels-seed1" / "predictions.parquet").unlink()
    code, printed, err = lofi("report", runs, "--out-dir", tmp_path / "out")
    assert code == 0, err
    assert "- commit: the runs differ: beef (1 runs), c0ffee (1 runs)" in printed
    assert "fewer than 100" not in printed and "- baselines: no finished run of mean or knn" in printed
    assert "no predictions.parquet, not in the figures: gru-window-labels-seed1" in printed
    assert "](figures/table2.png)" in printed  # a network on its own still gets its bar
    assert "](figures/error_cdf.png)" in printed  # from the seed that has predictions


def test_a_folder_of_failed_runs_is_a_clear_error(lofi, tmp_path):
    runs = tmp_path / "runs"
    _run(runs, "gru", "window", 0, status="failed")
    code, _, err = lofi("report", runs, "--out-dir", tmp_path / "out")
    assert code == 2 and "none of the 1 runs finished with a test error" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    code, _, err = lofi("report", runs, "--out-dir", runs)
    assert code == 2 and "is an input of `lofi report`" in err


def test_an_unreadable_predictions_file_is_named(lofi, tmp_path):
    runs = tmp_path / "runs"
    _run(runs, "gru", "window", 0)
    broken = runs / "gru-window-labels-seed0" / "predictions.parquet"
    pd.DataFrame({"session": ["s1"], "start": [0]}).to_parquet(broken)
    code, _, err = lofi("report", runs, "--out-dir", tmp_path / "out")
    assert code == 2 and f"{broken}: column 'x_label' missing" in err


def test_the_defaults_are_the_projects_results_folder(lofi, tmp_path):
    _run(tmp_path / "results" / "runs", "gru", "window", 0)
    code, _, err = lofi("--root", tmp_path, "report")
    assert code == 0, err
    assert "| gru | window |" in (tmp_path / "results" / "table2.md").read_text()
    assert (tmp_path / "results" / "figures" / "error_cdf.png").is_file()
