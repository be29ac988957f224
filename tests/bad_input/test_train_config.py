"""Training settings are validated before any data is read; paths, commit and data-set hash are the project's.

Most cases compose the real configs in-process (fast) and call ``train``; a few run
``python -m lofi.train`` as a user would, for the exit code and the one-line message.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lofi.train.config import ConfigError
from lofi.train.run import train
from lofi.train.run_folder import RunFolderError
from tests.bad_input.test_training import run_train
from tests.train.conftest import config, tiny_dataset  # noqa: F401  (a fixture)


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("trainer.max_epochs=0", ["trainer.max_epochs=0", "an integer in [1,"]),
        ("trainer.max_epochs=-1", ["trainer.max_epochs=-1"]),
        ("seed=1.5", ["seed=1.5", "an integer"]),
        ("seed=abc", ["seed='abc'", "an integer"]),
        ("region_weights=[1,-1,1]", ["region_weights=[1, -1, 1]", "finite number"]),
        ("region_weights=[1,nan,1]", ["region_weights", "finite number"]),
        ("region_weights=[0,0,0]", ["not all zero"]),
        ("data.train_windows_per_epoch=1e9", ["data.train_windows_per_epoch=1000000000.0", "an integer"]),
        ("data.train_windows_per_epoch=1000000000", ["data.train_windows_per_epoch", "10000000"]),
        ("model.lr=abc", ["model.lr='abc'", "finite number"]),
        ("model.lr=inf", ["model.lr=inf"]),
        ("trainer.threads=0", ["trainer.threads=0"]),
        ("callbacks.monitor=bogus", ["callbacks.monitor='bogus'", "val/loss"]),
        ("data.length=abc", ["data.length='abc'", "an integer"]),
        ("data.label=middle", ["data.label='middle'", "mean"]),
        ("trainer.deterministic=maybe", ["trainer.deterministic='maybe'", "true or false"]),
        ("+data.lenght=50", ["data.lenght: not a setting of data/"]),
        ("+trainer.max_epoch=5", ["trainer.max_epoch: not a setting of Lightning's Trainer"]),
        ("run_name=../escape", ["run_name='../escape'", "plain folder name"]),
        ("experiment=table2_gru model=cnn", ["experiment_name=table2_gru names model gru", "model.name=cnn"]),
        ("trainer.precision=16", ["trainer.precision=16 on trainer.accelerator=cpu", "needs a GPU"]),
        ("trainer.precision=7", ["trainer.precision=7", "one of 16, 32, 64, 16-mixed"]),
    ],
)
def test_bad_settings_are_refused_before_data_is_read(tmp_path, override, fragments):
    missing = tmp_path / "no_such_data"  # never reached: the settings are checked first
    with pytest.raises((ConfigError, ValueError)) as caught:
        train(config(missing, tmp_path / "run", *override.split()))
    assert "no such data set" not in str(caught.value)
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_options_error_names_the_model(tiny_dataset, tmp_path):  # noqa: F811
    with pytest.raises(ValueError, match="not arguments of model lstm"):
        train(config(tiny_dataset, tmp_path / "run", "+model.options.hiden=8"))


def test_a_gpu_is_refused_where_torch_has_none(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        train(config(tmp_path / "x", tmp_path / "run", "trainer=gpu"))


@pytest.mark.parametrize(
    ("override", "fragment"),
    [("trainer.max_epochs=0", "trainer.max_epochs=0"), ("seed=1.5", "seed=1.5")],
)
def test_the_command_prints_one_line_and_exits_2(tiny_dataset, tmp_path, override, fragment):  # noqa: F811
    result = run_train(
        f"data.dir={tiny_dataset}", f"paths.output_dir={tmp_path / 'run'}", override, cwd=tmp_path
    )
    errors = [line for line in result.stderr.splitlines() if line.startswith("lofi.train: error:")]
    assert result.returncode == 2 and len(errors) == 1 and "Traceback" not in result.stderr
    assert fragment in errors[0]
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_a_run_folder_with_another_run_is_refused_unless_overwrite(tiny_dataset, tmp_path):  # noqa: F811
    out = tmp_path / "run"
    first = train(config(tiny_dataset, out, "model=gru", "trainer.max_epochs=1"))
    before = (out / "metrics.json").read_bytes()
    with pytest.raises(RunFolderError, match="already holds a run"):
        train(config(tiny_dataset, out, "model=rnn", "trainer.max_epochs=1"))
    assert (out / "metrics.json").read_bytes() == before
    (out / "checkpoints" / "stale.ckpt").write_bytes(b"another run's")
    second = train(config(tiny_dataset, out, "model=rnn", "trainer.max_epochs=1", "overwrite=true"))
    assert second["model"] == "rnn" != first["model"]
    assert not (out / "checkpoints" / "stale.ckpt").exists()


def test_a_relative_data_dir_resolves_from_the_project_folder(tiny_dataset, tmp_path, monkeypatch):  # noqa: F811
    project = tmp_path / "project"
    shutil.copytree(tiny_dataset, project / "data" / "tiny")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("LOFI_ROOT", str(project))
    metrics = train(config(Path("data/tiny"), tmp_path / "run", "model=mean"))
    # it found the data only the project holds, and records the path relative to the project
    assert metrics["config"]["data"]["dir"] == "data/tiny" and metrics["config"]["paths"]["root_dir"] == "."


def test_the_commit_is_the_projects_own_or_none(tiny_dataset, tmp_path, monkeypatch):  # noqa: F811
    """A project folder inside another git repository records no commit (not the other's HEAD)."""
    outer = tmp_path / "outer"
    (outer / "project").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(outer)], check=True)
    subprocess.run(["git", "-C", str(outer), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q",
                    "--allow-empty", "-m", "other"], check=True)  # fmt: skip
    monkeypatch.setenv("LOFI_ROOT", str(outer / "project"))
    metrics = train(config(tiny_dataset, tmp_path / "run", "model=mean"))
    assert metrics["git_commit"] is None
    subprocess.run(["git", "init", "-q", str(outer / "project")], check=True)
    subprocess.run(["git", "-C", str(outer / "project"), "-c", "user.email=a@b", "-c", "user.name=a",
                    "commit", "-q", "--allow-empty", "-m", "own"], check=True)  # fmt: skip
    head = subprocess.run(["git", "-C", str(outer / "project"), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    again = train(config(tiny_dataset, tmp_path / "run2", "model=mean"))
    assert again["git_commit"] == head
    tracked = outer / "project" / "code.py"
    tracked.write_text("a = 1\n")
    git = ["git", "-C", str(outer / "project"), "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "add", "code.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "code"], check=True)
    tracked.write_text("a = 2\n")  # the code the run ran is not the commit's
    dirty = train(config(tiny_dataset, tmp_path / "run3", "model=mean"))
    assert dirty["git_commit"].endswith("-dirty") and dirty["git_commit"] != head


def test_metrics_record_the_resolved_settings(tiny_dataset, tmp_path):  # noqa: F811
    """Two runs that differ only in window length have different settings; seeds share them."""
    runs = {
        (length, seed): train(config(tiny_dataset, tmp_path / f"r{length}-{seed}", "model=mean",
                                     f"data.length={length}", f"seed={seed}"))
        for length, seed in ((50, 0), (50, 1), (100, 0))
    }  # fmt: skip
    assert runs[(50, 0)]["length"] == 50 and runs[(100, 0)]["length"] == 100
    assert runs[(50, 0)]["settings_sha256"] == runs[(50, 1)]["settings_sha256"]
    assert runs[(50, 0)]["settings_sha256"] != runs[(100, 0)]["settings_sha256"]
    assert runs[(50, 0)]["config_sha256"] != runs[(50, 1)]["config_sha256"]
    saved = json.loads((tmp_path / "r50-0" / "metrics.json").read_text())
    assert saved["config"]["data"]["length"] == 50 and saved["status"] == "finished"


def test_a_search_without_trials_is_refused(tmp_path):
    result = run_train("-m", "hparams_search=optuna_lr", "hydra.sweeper.n_trials=0", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "hydra.sweeper.n_trials=0: a search needs at least 1 trial" in result.stderr


def test_a_run_folder_in_a_recording_or_in_its_data_set_is_refused(tiny_dataset, tmp_path):  # noqa: F811
    recording = tmp_path / "raw" / "walk"
    recording.mkdir(parents=True)
    (recording / "session.yaml").write_text("id: walk\n")
    for out, fragment in ((recording, "raw session folder"), (tiny_dataset, "its input"),
                          (tiny_dataset / "run", "its input")):  # fmt: skip
        before = sorted(p.name for p in out.parent.rglob("*"))
        with pytest.raises(RunFolderError, match=fragment):
            train(config(tiny_dataset, out, "model=mean"))
        assert sorted(p.name for p in out.parent.rglob("*")) == before


def test_ctrl_c_during_training_is_one_line_exit_130_and_leaves_no_run(tiny_dataset, tmp_path):  # noqa: F811
    import os
    import signal
    import sys
    import time

    out = tmp_path / "run"
    command = [sys.executable, "-m", "lofi.train", "trainer=cpu", "trainer.threads=1", "logger=none",
               "trainer.max_epochs=1000", "callbacks.patience=1000", f"data.dir={tiny_dataset}",
               f"hydra.run.dir={out}", "data.train_windows_per_epoch=64", "model=gru"]  # fmt: skip
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    # as from a terminal: Ctrl-C delivered (a shell's background job, as `make test &`, ignores SIGINT,
    # and so would this child: it inherits the ignored signal)
    reset = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                               cwd=tmp_path, preexec_fn=reset)  # fmt: skip
    deadline = time.monotonic() + 240
    while not (out / "checkpoints").is_dir() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)  # training has begun once the first checkpoint is written
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "lofi.train: interrupted" in err and "Traceback" not in err
    assert not (out / "checkpoints").exists() and not (out / "metrics.json").exists()
