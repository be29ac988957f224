"""Training: the LightningModule, ``train(cfg)`` and the Hydra entry point ``python -m lofi.train``."""

from lofi.train import naming  # noqa: F401  (registers the run-name resolver before any config is composed)
