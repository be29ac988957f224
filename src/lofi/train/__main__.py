"""``python -m lofi.train experiment=table2_lstm``: one Hydra-configured run (``--multirun`` sweeps).

With ``hparams_search=optuna`` the Optuna sweeper runs trials and minimises the value this
returns: ``cfg.optimized_metric`` of the run's metrics (``val/best_loss`` by default).
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig


def project_root() -> Path:
    """The project folder: ``$LOFI_ROOT``, else the nearest folder at or above the working directory
    that holds ``conf/train.yaml`` (the checkout the command runs in), else the checkout this
    package was installed from."""
    if os.environ.get("LOFI_ROOT"):
        return Path(os.environ["LOFI_ROOT"]).expanduser().resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "conf" / "train.yaml").is_file():
            return folder
    return Path(__file__).resolve().parents[3]


ROOT = project_root()
CONF = str(ROOT / "conf")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
#: What a sweeper minimises when the config names no ``optimized_metric``: never a test number.
DEFAULT_METRIC = "val/best_loss"


@hydra.main(version_base="1.3", config_path=CONF, config_name="train")
def main(cfg: DictConfig) -> float:
    """Run ``cfg``; returns ``metrics[cfg.optimized_metric]`` (default the best validation loss)."""
    from lofi.train.run import train

    try:
        metrics = train(cfg)
    except (ValueError, OSError) as err:  # bad data, config or checkpoint: one clear line, exit 2
        if os.environ.get("LOFI_TRACEBACK"):  # debugging: the whole traceback, not one line
            raise
        print(f"lofi.train: error: {err}", file=sys.stderr)
        sys.exit(2)
    from lofi.train.fitting import is_global_zero

    if is_global_zero():  # DDP: one line, rank zero's (whose files the run folder holds)
        print(summary_line(metrics))
    return optimized_value(metrics, cfg.get("optimized_metric") or DEFAULT_METRIC)


def optimized_value(metrics: dict, key: str) -> float:
    """``metrics[key]`` as a float (NaN stays NaN: Optuna marks such a trial failed)."""
    if key not in metrics:
        known = ", ".join(sorted(metrics))
        raise KeyError(f"optimized_metric {key!r} is not among the run's metrics: {known}")
    value = metrics[key]
    return float("nan") if value is None else float(value)


def summary_line(metrics: dict) -> str:
    """One line for the console; metrics a run lacks (pre-training has no test/acc6) print as nan."""
    nan = math.nan
    if metrics.get("task") == "pretrain":
        maes = ", ".join(f"{k.removeprefix('recovery/')} {v:.3f}" for k, v in metrics.items() if "/mae_" in k)
        return (
            f"{metrics.get('experiment')} seed {metrics.get('seed')}: test recovery MSE "
            f"{metrics.get('test/loss', nan):.4f} (standardised); amplitude MAE of hidden frames: {maes}; "
            f"{metrics.get('epochs', 0)} epochs, {metrics.get('train_seconds', nan):.0f} s -> "
            f"{metrics.get('recovery_file')}"
        )
    return (
        f"{metrics.get('experiment')} seed {metrics.get('seed')}: "
        f"test error {metrics.get('test/err_mean', nan):.3f} m "
        f"(vs truth {metrics.get('test/err_true_mean', nan):.3f} m), "
        f"acc6 {metrics.get('test/acc6', nan):.3f}, "
        f"{metrics.get('parameters', 0):,} parameters, {metrics.get('epochs', 0)} epochs, "
        f"{metrics.get('train_seconds', nan):.0f} s"
    )


def run() -> None:
    """``python -m lofi.train``: one line and exit 2 without a config, exit 130 on Ctrl-C."""
    if not (Path(CONF) / "train.yaml").is_file():
        print(f"lofi.train: error: {CONF}/train.yaml: no such file; run from the project folder "
              "or set LOFI_ROOT to it", file=sys.stderr)  # fmt: skip
        sys.exit(2)
    os.environ["LOFI_ROOT"] = str(ROOT)  # conf/ and every path come from the same project folder
    trials = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("hydra.sweeper.n_trials=")]
    if trials and not (trials[-1].isdigit() and int(trials[-1]) >= 1):
        print(f"lofi.train: error: hydra.sweeper.n_trials={trials[-1]}: a search needs at least 1 trial",
              file=sys.stderr)  # fmt: skip
        sys.exit(2)
    try:
        main()
    except KeyboardInterrupt:
        if os.environ.get("LOFI_TRACEBACK"):
            raise
        print("lofi.train: interrupted; the run folder holds no metrics.json of it", file=sys.stderr)
        sys.exit(130)
    except Exception as err:  # a sweeper's own failure (runs fail with one line inside main)
        if os.environ.get("LOFI_TRACEBACK"):
            raise
        print(f"lofi.train: error: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    run()
