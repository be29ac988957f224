"""``python -m lofi.train experiment=table2_lstm``: one Hydra-configured run (``--multirun`` sweeps)."""

from __future__ import annotations

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

ROOT = Path(__file__).resolve().parents[3]
CONF = str(ROOT / "conf")
os.environ.setdefault("LOFI_ROOT", str(ROOT))  # paths resolve from the project, not the working directory
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@hydra.main(version_base="1.3", config_path=CONF, config_name="train")
def main(cfg: DictConfig) -> float:
    """Run ``cfg``; returns the best validation loss, the only number a sweeper may choose by."""
    from lofi.train.run import train

    metrics = train(cfg)
    print(
        f"{metrics['experiment']} seed {metrics['seed']}: test error {metrics['test/err_mean']:.3f} m "
        f"(vs truth {metrics.get('test/err_true_mean', float('nan')):.3f} m), "
        f"acc6 {metrics['test/acc6']:.3f}, "
        f"{metrics['parameters']:,} parameters, {metrics['epochs']} epochs, {metrics['train_seconds']:.0f} s"
    )
    return float(metrics["val/best_loss"])


if __name__ == "__main__":
    main()
