"""Table II from run folders: rows in the paper's order, seeds pooled, pre-training left out."""

from __future__ import annotations

import json

import pytest

from lofi.cli import main
from lofi.report.table2 import collect_runs, table2_markdown


def _run(root, name: str, **metrics) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    base = {"model": "gru", "normalize": "global", "split": "paper", "seed": 0, "task": "multitask",
            "test/err_mean": 0.5, "test/err_std": 0.2, "test/err_true_mean": 0.45, "test/acc6": 0.5,
            "test/acc4": 0.6, "test/acc2": 0.8, "parameters": 103_000, "epochs": 10}  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(base | metrics))


def test_seeds_are_pooled_and_rows_follow_the_paper(tmp_path):
    _run(tmp_path, "gru-0")
    _run(tmp_path, "gru-1", seed=1, **{"test/err_mean": 0.7})
    _run(tmp_path, "mean", model="mean", normalize="window", parameters=0, epochs=0, **{"test/err_mean": 1.0})
    _run(tmp_path, "pre", model="csibert", task="pretrain")
    _run(tmp_path / "optuna" / "table2_gru", "trial0", **{"test/err_mean": 9.0})  # a search trial
    _run(tmp_path, "classify", task="classify", **{"test/err_mean": 3.0})  # another task: its own row
    runs = collect_runs(tmp_path)
    assert len(runs) == 4  # neither the pre-training run nor the trial is a Table II row
    lines = table2_markdown(runs).splitlines()
    assert lines[2].startswith("| mean |") and lines[3].startswith("| gru | global | paper | 2 |")
    assert "0.600 (0.141) ± 0.200" in lines[3]  # mean of seeds (std over seeds) ± per-window std
    assert "0.941 / 0.49 / 0.56 / 0.74" in lines[3]  # the paper's GRU beside it
    assert lines[4].startswith("| gru [classify] | global | paper | 1 | 3.000")


def test_cross_subject_folds_are_rows_of_their_own(tmp_path):
    for fold in (1, 0):
        _run(tmp_path, f"xs{fold}", split="cross_subject", fold=fold, **{"test/err_mean": 1.0 + fold})
    _run(tmp_path, "paper")
    lines = table2_markdown(collect_runs(tmp_path)).splitlines()[2:]
    splits = [line.split(" | ")[2] for line in lines]
    assert splits == ["paper", "cross_subject fold 0", "cross_subject fold 1"]  # the paper's split first
    assert "| 1.000 ±" in lines[1] and "| 2.000 ±" in lines[2]


def test_a_seed_run_twice_counts_once(tmp_path):
    _run(tmp_path, "first", **{"test/err_mean": 0.9})
    _run(tmp_path, "again", **{"test/err_mean": 0.5})
    runs = collect_runs(tmp_path)
    averaged = runs[runs["failure"] == ""]
    assert len(averaged) == 1 and averaged["err"].iloc[0] == 0.5  # the newest
    older = runs[runs["failure"] != ""]
    assert len(older) == 1 and "replaced by the newest" in older["failure"].iloc[0]
    assert "replaced by the newest" in table2_markdown(runs)  # listed, not dropped without a word


def test_the_command_prints_and_writes_the_table(tmp_path, capsys):
    _run(tmp_path / "runs", "a")
    assert main(["table2", str(tmp_path / "runs"), "--out", str(tmp_path / "t.md")]) == 0
    assert "| gru |" in capsys.readouterr().out and (tmp_path / "t.md").read_text().count("| gru |") == 1


def test_a_folder_without_runs_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no training run"):
        collect_runs(tmp_path)


def test_the_figure_draws_one_data_set_and_one_split(tmp_path):
    from lofi.report.table2_figure import _bars, figure_runs, save_table2_figure

    _run(tmp_path, "gru-0", dataset_sha256="aaaa")
    _run(tmp_path, "gru-1", seed=1, dataset_sha256="aaaa", **{"test/err_mean": 0.7})
    _run(tmp_path, "gru-window", normalize="window", dataset_sha256="aaaa", **{"test/err_mean": 0.9})
    _run(tmp_path, "mean", model="mean", dataset_sha256="aaaa", **{"test/err_mean": 1.0})
    _run(tmp_path, "xs", split="cross_subject", dataset_sha256="aaaa", **{"test/err_mean": 5.0})
    _run(tmp_path, "bert", model="csibert", dataset_sha256="aaaa", **{"test/err_mean": 0.5})
    _run(
        tmp_path,
        "bert-ft",
        model="csibert",
        pretrained="p.pt",
        dataset_sha256="aaaa",
        **{"test/err_mean": 0.9},
    )
    runs = collect_runs(tmp_path)
    chosen = figure_runs(runs)
    assert set(chosen["split"]) == {"paper"} and len(chosen) == 6
    names = ["gru", "lstm", "csibert", "csibert (pre-trained)"]
    means, spreads = _bars(chosen, names, "global")
    assert means[0] == pytest.approx(0.6) and spreads[0] == pytest.approx(0.1414, abs=1e-3)
    assert all(v != v for v in (means[1], spreads[1]))  # no LSTM run: NaN, no bar
    assert means[2:] == [0.5, 0.9]  # pre-trained and from scratch are not pooled
    path = save_table2_figure(runs, tmp_path / "fig" / "table2.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _run(tmp_path, "other", seed=2, dataset_sha256="bbbb")
    with pytest.raises(ValueError, match="2 data sets"):
        figure_runs(collect_runs(tmp_path))
    with pytest.raises(ValueError, match="no multi-task network run on the 'other' split"):
        figure_runs(runs, split="other")
    baselines_only = runs[runs["model"] == "mean"]
    with pytest.raises(ValueError, match="no multi-task network run"):
        figure_runs(baselines_only)


def test_the_command_draws_the_figure_on_request(tmp_path, capsys):
    _run(tmp_path / "runs", "a")
    assert main(["table2", str(tmp_path / "runs"), "--figure", str(tmp_path / "t.png")]) == 0
    assert "figure:" in capsys.readouterr().out and (tmp_path / "t.png").stat().st_size > 1000


def test_the_figure_draws_finished_runs_only_and_pools_folds_of_one_setting(tmp_path):
    from lofi.report.table2_figure import _bars, figure_runs

    _run(tmp_path, "gru-0", settings_sha256="a" * 16)
    _run(tmp_path, "gru-1", seed=1, settings_sha256="a" * 16, status="failed", **{"test/err_mean": 50.0})
    _run(tmp_path, "gru-2", seed=2, settings_sha256="a" * 16, epochs=0, **{"test/err_mean": 40.0})
    runs = collect_runs(tmp_path)
    assert list(runs["failure"] != "") == [False, True, True]
    chosen = figure_runs(runs)
    assert list(chosen["run"].map(lambda r: r.rsplit("/", 1)[-1])) == ["gru-0"]
    assert _bars(chosen, ["gru"], "global")[0] == [0.5]
    for fold in (0, 1):  # cross_subject: each fold its own setting hash, one bar over the folds
        _run(tmp_path, f"xs{fold}", split="cross_subject", fold=fold, settings_sha256=f"{fold}" * 16)
    assert len(figure_runs(collect_runs(tmp_path), split="cross_subject")) == 2
    _run(tmp_path, "xs0-lr2", split="cross_subject", fold=0, settings_sha256="f" * 16)
    with pytest.raises(ValueError, match="2 different settings"):
        figure_runs(collect_runs(tmp_path), split="cross_subject")
