"""MLflow: one SQLite store at the project root, created once before runs fan out.

Parallel first writes to a fresh SQLite store race on creating its tables, so
:func:`init_store` (``lofi mlflow-init``) creates the store and the experiment upstream, under a
file lock beside the store (two inits at once are safe); each run then logs its flattened config
as params, its tags, metrics and artifacts. Every MLflow failure is one line naming the URI
(:class:`ValueError` or :class:`OSError`), and quick: a server that cannot be reached fails
within seconds, not after MLflow's minutes of HTTP retries.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

DEFAULT_EXPERIMENT = "lofi-table2"
#: Seconds to wait for a tracking server to accept a connection before giving up on it.
CONNECT_TIMEOUT_S = 5.0
#: MLflow's HTTP settings while :func:`init_store` checks a server (unless the environment sets
#: them): a few quick retries, not MLflow's default of 7 with exponential backoff (minutes).
QUICK_HTTP = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
}
SQLITE_MAGIC = b"SQLite format 3\x00"
#: Files SQLite keeps beside a database while writing it.
SQLITE_SIDECARS = ("-journal", "-wal", "-shm")
#: Schemes MLflow itself builds a tracking store for (plugins may add more).
KNOWN_SCHEMES = ("sqlite", "http", "https", "file", "postgresql", "mysql", "mssql", "databricks", "uc")


def tracking_uri(root: str | Path = ".") -> str:
    """``$MLFLOW_TRACKING_URI``, else ``sqlite:///<root>/mlflow.db`` (never a bare ./mlruns)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(root).resolve() / 'mlflow.db'}"


def artifact_location(uri: str) -> str | None:
    """Artifacts of a SQLite store go beside it (``mlartifacts/``), never to ./mlruns of whatever
    folder a run starts in; other stores (a tracking server) choose their own."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    return (Path(uri[len(prefix) :]).resolve().parent / "mlartifacts").as_uri()


def server_command(uri: str, host: str = "127.0.0.1", port: int = 5000) -> list[str]:
    """The ``mlflow server`` command line serving store ``uri`` on ``host:port``: a SQLite store's
    artifacts are read beside it (:func:`artifact_location`). :class:`ValueError` for a URI MLflow
    has no store for."""
    import sys

    check_uri(uri)
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri]
    artifacts = artifact_location(uri)
    if artifacts:
        command += ["--default-artifact-root", artifacts]
    # one worker: a dashboard for one user starts in seconds (MLflow's default starts four)
    return [*command, "--host", host, "--port", str(int(port)), "--workers", "1"]


def init_store(uri: str, experiment: str = DEFAULT_EXPERIMENT) -> str:
    """Create the store (its tables) and the experiment if missing; returns the experiment id.

    A SQLite store is created under a lock (``<db>.lock``) and removed again if creating it
    failed (a full disk); a tracking server must accept a connection within seconds. Raises
    :class:`ValueError` or :class:`OSError`, one line naming ``uri``.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    scheme = check_uri(uri)
    db = sqlite_file(uri) if scheme == "sqlite" else None
    if db is None:
        if scheme in ("http", "https"):
            check_reachable(uri)
        with _quick_http(), mlflow_errors(uri):
            return _ensure_experiment(uri, experiment)
    with _store_lock(db, uri):
        check_sqlite_file(db, uri)
        with _removed_on_error(db), mlflow_errors(uri):
            return _ensure_experiment(uri, experiment)


def check_uri(uri: str) -> str:
    """The scheme of ``uri`` if MLflow has a store for it, else :class:`ValueError`. A bare path
    (no scheme) is refused too: MLflow would quietly make a folder of that name its store."""
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    known = _known_schemes()
    if scheme in known:
        return scheme
    expected = "sqlite:///PATH/mlflow.db, http(s)://HOST:PORT or file:///PATH"
    if not scheme:
        raise ValueError(f"MLflow tracking URI {uri!r} has no scheme; expected {expected}")
    raise ValueError(
        f"MLflow tracking URI {uri!r}: unknown scheme {scheme!r} (known: {', '.join(known)}); "
        f"expected {expected}"
    )


def _known_schemes() -> list[str]:
    """The schemes of MLflow's tracking-store registry (plugins included), else the built-in ones."""
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    found = getattr(_tracking_store_registry, "_registry", None)  # private: fall back if it moves
    return sorted(s for s in found if s) if isinstance(found, dict) else list(KNOWN_SCHEMES)


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:`` URI; ``None`` for an in-memory database."""
    from sqlalchemy.engine.url import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(uri).database
    except ArgumentError as err:
        raise ValueError(f"MLflow tracking URI {uri!r} is not a valid SQLite URI: {err}") from err
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


def check_sqlite_file(db: Path, uri: str) -> None:
    """:class:`ValueError` if ``db`` exists but is no SQLite database (an empty file is one)."""
    if db.is_dir():
        raise ValueError(f"MLflow store {uri}: {db} is a folder, not an SQLite database")
    if not db.is_file() or db.stat().st_size == 0:
        return
    with db.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        raise ValueError(f"MLflow store {uri}: {db} is not an SQLite database")


def check_reachable(uri: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """:class:`OSError` unless the server of an ``http(s)`` URI accepts a TCP connection within
    ``timeout`` seconds (skipped when a proxy stands between)."""
    parts = urllib.parse.urlsplit(uri)
    try:
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as err:  # a port that is no number, or out of range
        raise ValueError(f"MLflow tracking URI {uri!r}: {err}") from err
    if not host:
        raise ValueError(f"MLflow tracking URI {uri!r} names no host")
    if parts.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(host):
        return
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        reason = err.strerror or str(err) or type(err).__name__
        raise OSError(f"MLflow tracking server {uri} cannot be reached: {reason}") from err


@contextmanager
def mlflow_errors(uri: str) -> Iterator[None]:
    """Turn MLflow's exceptions (:func:`_mlflow_exceptions`) into one :class:`ValueError` line naming ``uri``,
    and an :class:`OSError` (a full disk) into one that names it."""
    try:
        yield
    except _mlflow_exceptions() as err:
        raise ValueError(f"MLflow store {uri}: {first_line(err)}") from err
    except OSError as err:
        if uri in str(err):
            raise
        raise _os_error(err, f"MLflow store {uri}") from err


def first_line(err: BaseException, limit: int = 300) -> str:
    """The first non-blank line of an exception's message (SQLAlchemy's: the driver's), cut at
    ``limit`` characters."""
    text = str(getattr(err, "orig", None) or getattr(err, "message", None) or err)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[0] if lines else type(err).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _os_error(err: OSError, what: str) -> OSError:
    """``err`` as ``OSError(errno, "<what>: <reason>")``: one line that names ``what``."""
    if err.errno is None:
        return OSError(f"{what}: {err}")
    return OSError(err.errno, f"{what}: {err.strerror or err}")


@contextmanager
def _store_lock(db: Path, uri: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<db>.lock`` (created beside the store, left there)."""
    lock = db.with_name(db.name + ".lock")
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        handle = lock.open("a")
    except OSError as err:
        raise _os_error(err, f"MLflow store {uri}: cannot create the lock file {lock}") from err
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _removed_on_error(db: Path) -> Iterator[None]:
    """Remove the database (and SQLite's files beside it) if the block fails and they did not
    exist before it: a failed creation (a full disk) leaves no empty or partial store."""
    created = [p for p in (db, *(Path(f"{db}{s}") for s in SQLITE_SIDECARS)) if not p.exists()]
    try:
        yield
    except BaseException:
        for path in created:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        raise


@contextmanager
def _quick_http() -> Iterator[None]:
    """Set :data:`QUICK_HTTP` for the block where the environment does not set them."""
    added = {k: v for k, v in QUICK_HTTP.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _ensure_experiment(uri: str, experiment: str) -> str:
    """The id of ``experiment``, created if missing, then read back (another process may have
    created it first on a server, where no lock is held)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        try:
            client.create_experiment(experiment, artifact_location=artifact_location(uri))
        except MlflowException as err:
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        found = client.get_experiment_by_name(experiment)
    if found is None:
        raise ValueError(f"MLflow store {uri}: experiment {experiment!r} was created but cannot be read back")
    if found.lifecycle_stage == "deleted":
        raise ValueError(
            f"MLflow store {uri}: experiment {experiment!r} (id {found.experiment_id}) is deleted; "
            "restore it (mlflow experiments restore) or remove it for good (mlflow gc)"
        )
    return found.experiment_id


def end_interrupted_runs(uri: str, experiment: str, name: str) -> list[str]:
    """Mark the runs named ``name`` still RUNNING in ``experiment`` as KILLED; returns their ids.

    A job killed outright (SIGKILL, a lost node) never ends its MLflow run; its rerun ends it
    first, so the store never shows a run as going on that is not.
    """
    from mlflow.tracking import MlflowClient

    with mlflow_errors(uri):
        client = MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(experiment)
        if found is None:
            return []
        running = client.search_runs([found.experiment_id], filter_string="attributes.status = 'RUNNING'")
        stale = [run.info.run_id for run in running if run.info.run_name == name]
        for run_id in stale:
            client.set_terminated(run_id, "KILLED")
    return stale


#: Environment variables the pipeline (Snakefile) sets for its jobs, and the MLflow tags they become.
PIPELINE_TAGS = {
    "LOFI_PIPELINE_CONFIG_SHA256": "pipeline_config_sha256",
    "LOFI_PIPELINE_ROOT": "pipeline_root",
}


def pipeline_tags() -> dict[str, str]:
    """Tags of a run started by the pipeline: the hash of its whole configuration and its root
    (from the environment, so a config edit renames no job and reruns nothing); none by hand."""
    return {tag: os.environ[name] for name, tag in PIPELINE_TAGS.items() if os.environ.get(name)}


def flat_params(cfg: DictConfig) -> dict[str, str]:
    """The resolved config as ``a.b.c -> value`` strings (MLflow params; 500 characters at most)."""
    flat: dict[str, str] = {}

    def walk(node: object, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
        else:
            flat[prefix] = str(node)[:500]

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return flat


@contextmanager
def failed_on_error(logger) -> Iterator[None]:
    """Mark the logger's MLflow run FAILED if the block raises: a baseline has no Trainer to do it,
    and a run left RUNNING reads as one still going. ``logger`` may be ``False`` (no tracking)."""
    try:
        yield
    except BaseException as err:
        _mark_failed(logger)
        uri = getattr(logger, "_tracking_uri", None) if logger else None
        if uri and _is_mlflow_error(err):  # MLflow failed mid-run (a server gone): one line
            raise ValueError(f"MLflow store {uri}: {first_line(err)}") from err
        raise


def _mark_failed(logger) -> None:
    """Mark the logger's run FAILED if it has one; MLflow's own failure to do so (the store gone)
    must neither hide the error that ended the run nor retry for minutes."""
    run_id = getattr(logger, "_run_id", None) if logger else None  # None: no run was started yet
    if run_id:
        with contextlib.suppress(Exception), _quick_http():
            logger.experiment.set_terminated(run_id, "FAILED")


def _is_mlflow_error(err: BaseException) -> bool:
    """Whether ``err`` is one of :func:`_mlflow_exceptions` (imported only if MLflow is in use)."""
    return isinstance(err, _mlflow_exceptions())


def _mlflow_exceptions() -> tuple[type[Exception], ...]:
    """What MLflow raises: its own exceptions, SQLAlchemy's (the store's database) and Alembic's
    (its schema migrations)."""
    from alembic.util.exc import CommandError
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    return MlflowException, SQLAlchemyError, CommandError


def log_run(
    logger, cfg: DictConfig, metrics: dict, out: Path, tags: dict[str, str], model_example=None
) -> None:
    """Params, tags, final metrics and the run folder's files, on the logger's MLflow run; with
    ``model_example`` (raw input windows), the run's model in MLflow's format
    (:mod:`lofi.train.mlflow_model`); then the run is marked finished."""
    from mlflow.entities import Metric, Param, RunTag

    client, run_id = logger.experiment, logger.run_id
    params = [Param(k, v) for k, v in flat_params(cfg).items()]
    numbers = [Metric(k, float(v), 0, 0) for k, v in metrics.items() if isinstance(v, int | float) and v == v]
    client.log_batch(run_id, metrics=numbers, params=params, tags=[RunTag(k, v) for k, v in tags.items()])
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.suffix in (".json", ".parquet", ".yaml", ".ckpt", ".pt", ".png"):
            folder = path.parent.relative_to(out)
            client.log_artifact(run_id, str(path), artifact_path=None if folder == Path(".") else str(folder))
    if model_example is not None:
        _log_model(logger, out, model_example)
    client.set_terminated(run_id, "FINISHED")  # baselines never fit, so no Trainer ends their run


def _log_model(logger, out: Path, example) -> None:
    """The run's model in MLflow's format, logged on the logger's run (MLflow's fluent API)."""
    import mlflow

    from lofi.train.mlflow_model import log_window_model

    mlflow.set_tracking_uri(logger._tracking_uri)
    with mlflow.start_run(run_id=logger.run_id):
        log_window_model(out, example)
