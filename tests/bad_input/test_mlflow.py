"""MLflow failures are one line and quick: ``lofi mlflow-init`` and training name the URI or file.

Two inits at once on a fresh store agree (a lock beside the store); a server that cannot be
reached fails in seconds, not after MLflow's minutes of HTTP retries; a garbage URI or a store
file that is no database is refused; a full disk leaves no empty ``mlflow.db`` and no truncated
``checkpoints/best.ckpt`` at their final paths.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from lofi.train.fitting import AtomicCheckpointIO
from lofi.train.tracking import failed_on_error, init_store
from tests.train.conftest import tiny_dataset  # noqa: F401  (a fixture)

ENV = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}


def free_port() -> int:
    """A local port nothing listens on (connecting to it is refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mlflow_init(uri: str, **popen) -> subprocess.Popen:
    """``lofi mlflow-init --uri URI`` as its own process, started, not waited for."""
    command = [sys.executable, "-m", "lofi", "mlflow-init", "--uri", uri]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.Popen(command, text=True, env=ENV, **pipes, **popen)


def test_two_inits_at_once_on_a_fresh_store_agree(tmp_path):
    """The race ``mlflow-init`` exists to prevent ("duplicate column name: step") cannot happen."""
    for round_ in range(3):
        uri = f"sqlite:///{tmp_path / str(round_) / 'mlflow.db'}"
        results = [(*p.communicate(timeout=120), p.returncode) for p in [mlflow_init(uri), mlflow_init(uri)]]
        assert [code for _, _, code in results] == [0, 0], [err[-1500:] for _, err, _ in results]
        outs = [out for out, _, _ in results]
        assert outs[0] == outs[1] and "has id" in outs[0], outs


def test_an_unreachable_server_fails_within_seconds(lofi, monkeypatch):
    uri = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # the default URI of mlflow-init
    start = time.monotonic()
    outcome = lofi("mlflow-init")
    assert time.monotonic() - start < 20
    outcome.refused(f"MLflow tracking server {uri} cannot be reached")
    assert len(outcome.err.strip().splitlines()) == 1


def test_a_server_that_does_not_answer_times_out_naming_it(lofi, monkeypatch):
    def silent(address, timeout=None):
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", silent)
    lofi("mlflow-init", "--uri", "https://mlflow.example:5000").refused(
        "MLflow tracking server https://mlflow.example:5000 cannot be reached: timed out"
    )


def test_training_with_an_unreachable_server_fails_within_seconds(tiny_dataset, tmp_path):  # noqa: F811
    uri = f"http://127.0.0.1:{free_port()}"
    out = tmp_path / "run"
    command = [sys.executable, "-m", "lofi.train", "trainer=smoke", "trainer.threads=1", "logger=mlflow",
               f"logger.tracking_uri={uri}", f"data.dir={tiny_dataset}",
               f"paths.output_dir={out}"]  # fmt: skip
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=300, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert time.monotonic() - start < 60  # Hydra and the data set load first; MLflow's retries took minutes
    errors = [line for line in result.stderr.splitlines() if line.startswith("lofi.train: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert f"MLflow tracking server {uri} cannot be reached" in errors[0]
    assert not (out / "metrics.json").exists() and not (out / "checkpoints").exists()


@pytest.mark.parametrize(
    ("uri", "fragments"),
    [
        ("foo://bar", ["MLflow tracking URI 'foo://bar': unknown scheme 'foo'", "sqlite"]),
        ("not a uri", ["MLflow tracking URI 'not a uri' has no scheme", "sqlite:///PATH/mlflow.db"]),
        ("http://:5000", ["MLflow tracking URI 'http://:5000' names no host"]),
        ("http://host:port", ["MLflow tracking URI 'http://host:port'", "Port"]),
    ],
)
def test_a_garbage_uri_is_refused_in_one_line(lofi, tmp_path, monkeypatch, uri, fragments):
    monkeypatch.chdir(tmp_path)
    lofi("mlflow-init", "--uri", uri).refused(*fragments)
    assert list(tmp_path.iterdir()) == []  # no store made of a bare path


def test_a_store_file_that_is_no_database_is_refused_and_kept(lofi, tmp_path):
    db = tmp_path / "mlflow.db"
    db.write_text("these are notes, not a database\n")
    lofi("mlflow-init", "--uri", f"sqlite:///{db}").refused(f"{db} is not an SQLite database")
    assert db.read_text() == "these are notes, not a database\n"


def test_a_store_path_that_is_a_folder_is_refused(lofi, tmp_path):
    (tmp_path / "mlflow.db").mkdir()
    lofi("mlflow-init", "--uri", f"sqlite:///{tmp_path / 'mlflow.db'}").refused("is a folder, not an SQLite")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE: writes past it fail (EFBIG)")
def test_a_full_disk_leaves_no_store_behind(tmp_path):
    """A write limit (like a full disk) mid-creation: exit 2, one line, no mlflow.db at all."""
    import resource

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))  # the tables need ~1 MB

    db = tmp_path / "mlflow.db"
    process = mlflow_init(f"sqlite:///{db}", preexec_fn=limited)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2, err[-1500:]
    errors = [line for line in err.splitlines() if line.startswith("lofi mlflow-init: error:")]
    assert len(errors) == 1 and "Traceback" not in err and f"sqlite:///{db}" in errors[0], err[-1500:]
    assert not db.exists() and not Path(f"{db}-journal").exists()


def test_a_failed_creation_removes_only_the_store_it_created(lofi, tmp_path, monkeypatch):
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert lofi("mlflow-init", "--uri", uri, "--experiment", "kept").code == 0
    monkeypatch.setattr(SqlAlchemyStore, "create_experiment", no_space)
    lofi("mlflow-init", "--uri", uri, "--experiment", "other").refused(uri, "No space left on device")
    assert (tmp_path / "mlflow.db").stat().st_size > 0  # it existed before: not removed

    fresh = f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}"
    lofi("mlflow-init", "--uri", fresh).refused(fresh, "No space left on device")
    assert not (tmp_path / "fresh" / "mlflow.db").exists()


def test_a_deleted_experiment_is_named(lofi, tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    MlflowClient(uri).delete_experiment(init_store(uri, "gone"))
    lofi("mlflow-init", "--uri", uri, "--experiment", "gone").refused("experiment 'gone'", "is deleted")


def test_the_training_logger_names_an_unreachable_server(tmp_path):
    from lofi.train.outputs import mlflow_logger

    uri = f"http://127.0.0.1:{free_port()}"
    cfg = OmegaConf.create({"logger": {"tracking_uri": uri, "experiment": "x"}, "run_name": "r"})
    with pytest.raises(OSError, match=f"MLflow tracking server {uri} cannot be reached"):
        mlflow_logger(cfg)


def test_mlflow_failing_mid_run_is_one_line():
    from mlflow.exceptions import MlflowException

    class Logger:  # an MLFlowLogger whose run has not started
        _tracking_uri, _run_id = "http://mlflow.example:5000", None

    expected = r"^MLflow store http://mlflow.example:5000: gone$"
    with pytest.raises(ValueError, match=expected), failed_on_error(Logger()):
        raise MlflowException("gone\nmore detail")


def test_a_checkpoint_on_a_full_disk_leaves_no_file(tmp_path, monkeypatch):
    """The write fails half-way: the final path keeps what it had (here: the previous best)."""
    target = tmp_path / "checkpoints" / "best.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"epoch": 1}, target)
    before = target.read_bytes()

    def half_then_full(obj, handle):
        handle.write(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", half_then_full)
    with pytest.raises(OSError, match=f"cannot write checkpoint {target}: No space left on device"):
        io.save_checkpoint({"epoch": 2}, target)
    assert target.read_bytes() == before and sorted(p.name for p in target.parent.iterdir()) == ["best.ckpt"]
    target.unlink()
    with pytest.raises(OSError) as failed:
        io.save_checkpoint({"epoch": 3}, target)
    assert failed.value.errno == errno.ENOSPC and not target.exists()


def test_training_checkpoints_through_the_atomic_writer(tiny_dataset, tmp_path, monkeypatch):  # noqa: F811
    """A full disk while a run checkpoints: one OSError naming best.ckpt, no file there."""
    from lofi.train.run import train
    from tests.train.conftest import config

    def no_space(obj, handle):
        handle.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", no_space)
    target = tmp_path / "checkpoints" / "best.ckpt"
    with pytest.raises(OSError, match=f"cannot write checkpoint {target}"):
        train(config(tiny_dataset, tmp_path, "model=gru"))
    assert not target.exists() and list(target.parent.iterdir()) == []
