"""Bad input to ``lofi table2``: only like is pooled with like, and what is not averaged is named.

Each case writes run folders (``metrics.json`` as ``python -m lofi.train`` writes them: with
``settings_sha256``, ``config`` and ``status``, or without them as older runs), runs
``lofi table2 DIR`` and reads the printed table back, cell by cell.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

GRU = "a" * 16  # settings_sha256 of a GRU (normalize global, paper split)
DATA = "d" * 64


def _write(root: Path, name: str, raw: str | None = None, drop: tuple[str, ...] = (), **fields) -> Path:
    """A run folder ``root/name`` with a metrics.json of a finished GRU seed run, edited by ``fields``
    and without the keys in ``drop`` (or the text ``raw``)."""
    folder = root / name
    folder.mkdir(parents=True)
    config = {"seed": 0, "data": {"length": 100, "label": "mean", "extra": []}}
    metrics = {"model": "gru", "task": "multitask", "normalize": "global", "split": "paper", "fold": None,
               "seed": 0, "pretrained": "", "parameters": 103_000, "epochs": 10, "status": "finished",
               "settings_sha256": GRU, "dataset_sha256": DATA, "config": config,
               "test/err_mean": 0.5, "test/err_std": 0.2, "test/acc6": 0.5, "test/acc4": 0.6,
               "test/acc2": 0.8}  # fmt: skip
    metrics = {k: v for k, v in (metrics | fields).items() if k not in drop}
    (folder / "metrics.json").write_text(raw if raw is not None else json.dumps(metrics))
    return folder


def _rows(out: str) -> list[dict[str, str]]:
    """The table's rows (header -> cell, ``\\|`` kept as text) from the printed Markdown."""
    lines = [line for line in out.splitlines() if line.startswith("|")]
    split = [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]
    assert all(len(cells) == len(split[0]) for cells in split), "a cell broke the table"
    return [dict(zip(split[0], cells, strict=True)) for cells in split[2:]]


def _not_averaged(out: str) -> dict[str, str]:
    """Run folder name -> the reason it is listed as not averaged."""
    listed = [line[2:].split(": ", 1) for line in out.partition("Not averaged")[2].splitlines()[1:]]
    return {Path(run).name: why for run, why in listed}


def test_a_nan_seed_is_listed_and_not_counted(lofi, tmp_path):
    _write(tmp_path, "gru-0")
    _write(tmp_path, "gru-1", seed=1, **{"test/err_mean": 0.7})
    _write(tmp_path, "gru-2", seed=2, **{"test/err_mean": None})  # what training writes for NaN
    _write(tmp_path, "gru-3", raw='{"model": "gru", "seed": 3, "test/err_mean": NaN}')  # hand-made
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    (row,) = _rows(result.out)
    assert row["seeds"] == "2"
    assert row["test error (m) vs labels"] == "0.600 (0.141) ± 0.200"  # mean (std) of 0.5 and 0.7 only
    failed = _not_averaged(result.out)
    assert set(failed) == {"gru-2", "gru-3"}
    assert "test/err_mean is null" in failed["gru-2"] and "unreadable" in failed["gru-3"]


def test_failed_and_untrained_runs_are_never_averaged(lofi, tmp_path):
    _write(tmp_path, "gru-0")
    _write(tmp_path, "crashed", seed=1, status="failed", **{"test/err_mean": 9.0})
    _write(tmp_path, "zero-epochs", seed=2, epochs=0, **{"test/err_mean": 3.0})  # trainer.max_epochs=0
    _write(tmp_path, "no-epochs", seed=3, epochs=None, **{"test/err_mean": 3.0})
    _write(tmp_path, "mean", model="mean", parameters=0, epochs=0, settings_sha256="b" * 16,
           **{"test/err_mean": 1.0})  # fmt: skip  # a baseline has nothing to train: averaged
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    rows = {row["model"]: row for row in _rows(result.out)}
    assert rows["gru"]["seeds"] == "1" and rows["gru"]["test error (m) vs labels"].startswith("0.500 ±")
    assert rows["mean"]["seeds"] == "1" and rows["mean"]["epochs"] == "0"
    failed = _not_averaged(result.out)
    assert set(failed) == {"crashed", "zero-epochs", "no-epochs"}
    assert failed["crashed"].startswith('status "failed"')
    assert "untrained" in failed["zero-epochs"] and "epochs 0" in failed["zero-epochs"]
    assert "epochs null" in failed["no-epochs"]


def test_runs_of_two_data_sets_name_their_data_set(lofi, tmp_path):
    _write(tmp_path, "a-0")
    _write(tmp_path, "a-1", seed=1, **{"test/err_mean": 0.7})
    _write(tmp_path, "b-0", settings_sha256="c" * 16, dataset_sha256="e" * 64, **{"test/err_mean": 2.0})
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    rows = {row["data set"]: row for row in _rows(result.out)}
    assert set(rows) == {"d" * 8, "e" * 8}
    assert rows["d" * 8]["seeds"] == "2" and rows["e" * 8]["test error (m) vs labels"].startswith("2.000 ±")


def test_different_settings_are_separate_rows_told_apart(lofi, tmp_path):
    _write(tmp_path, "lr1-0")
    _write(tmp_path, "lr1-1", seed=1, **{"test/err_mean": 0.7})
    _write(tmp_path, "lr2-0", settings_sha256="f" * 16, **{"test/err_mean": 3.0})
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    rows = {row["settings"]: row for row in _rows(result.out)}
    assert rows["a" * 8]["seeds"] == "2" and rows["a" * 8]["test error (m) vs labels"].startswith("0.600 ")
    assert rows["f" * 8]["seeds"] == "1" and rows["f" * 8]["test error (m) vs labels"].startswith("3.000 ")
    assert "data set" not in rows["a" * 8]  # one data set: no column for it


def test_older_runs_are_told_apart_by_their_config(lofi, tmp_path):
    old = ("settings_sha256", "status")  # older metrics.json: no status, no settings hash
    for name, length, seed in (("w100-0", 100, 0), ("w100-1", 100, 1), ("w50-0", 50, 0)):
        config = {"data": {"length": length, "label": "mean", "extra": []}}
        error = 1.0 if length == 50 else 0.5 + seed
        _write(tmp_path, name, drop=old, seed=seed, config=config, **{"test/err_mean": error})
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    rows = _rows(result.out)
    assert sorted(row["seeds"] for row in rows) == ["1", "2"] and "settings" in rows[0]
    errors = sorted(row["test error (m) vs labels"].split(" ±")[0] for row in rows)
    assert errors == ["1.000", "1.000 (0.707)"]  # 100 frames: 0.5 and 1.5; 50 frames: 1.0 alone
    assert "Not averaged" not in result.out


def test_null_model_and_fold_are_shown(lofi, tmp_path):
    _write(tmp_path, "no-model", model=None, settings_sha256=None)
    _write(
        tmp_path, "no-fold", split="cross_subject", fold=None, settings_sha256=None, **{"test/err_mean": 2.0}
    )
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    rows = {row["split"]: row for row in _rows(result.out)}
    assert rows["paper"]["model"] == "?" and rows["paper"]["test error (m) vs labels"].startswith("0.500 ±")
    assert rows["cross_subject fold ?"]["test error (m) vs labels"].startswith("2.000 ±")


def test_runs_without_a_seed_are_never_merged(lofi, tmp_path):
    _write(tmp_path, "x", seed=None)
    _write(tmp_path, "y", seed=None, **{"test/err_mean": 0.7})
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    (row,) = _rows(result.out)
    assert row["seeds"] == "2" and row["test error (m) vs labels"].startswith("0.600 (0.141)")


def test_a_seed_run_twice_counts_once_the_newest(lofi, tmp_path):
    new = _write(tmp_path, "a-new", **{"test/err_mean": 0.9})
    old = _write(tmp_path, "b-old", **{"test/err_mean": 0.1})
    os.utime(old / "metrics.json", (1_000_000, 1_000_000))
    os.utime(new / "metrics.json", (2_000_000, 2_000_000))
    _write(tmp_path, "other-settings", settings_sha256="f" * 16, **{"test/err_mean": 5.0})  # seed 0 too
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    rows = {row["settings"]: row for row in _rows(result.out)}
    assert rows["a" * 8]["seeds"] == "1" and rows["a" * 8]["test error (m) vs labels"].startswith("0.900 ±")
    assert rows["f" * 8]["seeds"] == "1"  # the same seed of another setting is no repeat


def test_a_pipe_in_a_name_is_escaped(lofi, tmp_path):
    _write(tmp_path, "odd", model="g|ru", normalize="glo|bal", task="multi|task")
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    (row,) = _rows(result.out)  # _rows checks every line has as many cells as the header
    assert row["model"] == r"g\|ru [multi\|task]" and row["normalize"] == r"glo\|bal"


def test_only_failed_runs_print_an_empty_table_and_the_list(lofi, tmp_path):
    _write(tmp_path, "crashed", status="failed")
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    assert _rows(result.out) == [] and set(_not_averaged(result.out)) == {"crashed"}


def test_an_empty_folder_is_refused(lofi, tmp_path):
    lofi("table2", tmp_path).refused(str(tmp_path), "no training run")


def test_the_figure_leaves_failed_runs_out_and_refuses_mixed_settings(lofi, tmp_path):
    runs = tmp_path / "runs"
    _write(runs, "gru-0")
    _write(runs, "gru-1", seed=1, status="failed", **{"test/err_mean": 50.0})
    assert lofi("table2", runs, "--figure", tmp_path / "ok.png").code == 0
    assert (tmp_path / "ok.png").stat().st_size > 1000
    _write(runs, "gru-lr2", settings_sha256="f" * 16)
    lofi("table2", runs, "--figure", tmp_path / "mixed.png").refused(
        "gru (normalize=global)", "2 different settings"
    )
    assert not (tmp_path / "mixed.png").exists()


@pytest.mark.parametrize("value", ["", 12, ["x"]])
def test_a_malformed_settings_hash_falls_back_to_the_keys(lofi, tmp_path, value):
    _write(tmp_path, "a", settings_sha256=value)
    _write(tmp_path, "b", seed=1, settings_sha256=value, **{"test/err_mean": 0.7})
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    (row,) = _rows(result.out)
    assert row["seeds"] == "2"


def test_odd_types_in_names_are_shown_not_a_traceback(lofi, tmp_path):
    _write(tmp_path, "odd", model=["gru"], split="cross_subject", fold="two", settings_sha256=None, seed="0")
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    (row,) = _rows(result.out)
    assert row["model"] == '["gru"]' and row["split"] == "cross_subject fold two" and row["seeds"] == "1"


@pytest.mark.parametrize(
    ("field", "value"),
    [("test/acc6", 5.0), ("test/acc2", -1), ("test/err_std", -2), ("test/err_mean", -5.0),
     ("test/err_mean", 1e308), ("parameters", -5), ("test/err_true_mean", -2), ("test/acc4", "high")],
)  # fmt: skip
def test_a_number_no_run_can_record_is_listed_not_averaged(lofi, tmp_path, field, value):
    _write(tmp_path, "gru-0")
    _write(tmp_path, "gru-1", seed=1, **{field: value})
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    (row,) = _rows(result.out)
    assert row["seeds"] == "1" and field in _not_averaged(result.out)["gru-1"]
    report = lofi("report", tmp_path, "--out-dir", tmp_path.parent / "report")  # reads the same way
    assert report.code == 0, report.err
    table = report.out.partition("Not averaged")
    assert "| 1 |" in table[0] and "gru-1" in table[2] and field in table[2]


def test_seeds_that_start_from_their_own_pretraining_share_a_row(lofi, tmp_path):
    """Each seed of a fine-tune names its own pre-training's file: a path, not a setting."""
    for seed in (0, 1):
        config = {"seed": seed, "model": {"name": "csibert", "pretrained": f"runs/pre-seed{seed}/r.pt"},
                  "data": {"dir": f"/somewhere{seed}/lab", "length": 100}, "trainer": {"max_epochs": 5},
                  "recovery_eval": {"checkpoint": f"runs/pre-seed{seed}/r.pt"}}  # fmt: skip
        _write(tmp_path, f"csibert-{seed}", model="csibert", seed=seed, config=config,
               settings_sha256=f"recorded-{seed}", pretrained=config["model"]["pretrained"])  # fmt: skip
    result = lofi("table2", tmp_path)
    assert result.code == 0, result.err
    (row,) = _rows(result.out)
    assert row["seeds"] == "2"
