"""MLflow: one SQLite store at the project root, created once before runs fan out.

Parallel first writes to a fresh SQLite store race on creating its tables, so
:func:`init_store` (``lofi mlflow-init``) creates the store and the experiment upstream;
each run then logs its flattened config as params, its tags, metrics and artifacts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

DEFAULT_EXPERIMENT = "lofi-table2"


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


def init_store(uri: str, experiment: str = DEFAULT_EXPERIMENT) -> str:
    """Create the store (its tables) and the experiment if missing; returns the experiment id."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found:
        return found.experiment_id
    return client.create_experiment(experiment, artifact_location=artifact_location(uri))


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
    except BaseException:
        run_id = getattr(logger, "_run_id", None) if logger else None  # None: no run was started yet
        if run_id:
            logger.experiment.set_terminated(run_id, "FAILED")
        raise


def log_run(logger, cfg: DictConfig, metrics: dict, out: Path, tags: dict[str, str]) -> None:
    """Params, tags, final metrics and the run folder's files, on the logger's MLflow run; then
    the run is marked finished."""
    from mlflow.entities import Metric, Param, RunTag

    client, run_id = logger.experiment, logger.run_id
    params = [Param(k, v) for k, v in flat_params(cfg).items()]
    numbers = [Metric(k, float(v), 0, 0) for k, v in metrics.items() if isinstance(v, int | float) and v == v]
    client.log_batch(run_id, metrics=numbers, params=params, tags=[RunTag(k, v) for k, v in tags.items()])
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.suffix in (".json", ".parquet", ".yaml", ".ckpt", ".pt", ".png"):
            folder = path.parent.relative_to(out)
            client.log_artifact(run_id, str(path), artifact_path=None if folder == Path(".") else str(folder))
    client.set_terminated(run_id, "FINISHED")  # baselines never fit, so no Trainer ends their run
