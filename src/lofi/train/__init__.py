"""Training: the LightningModule, ``train(cfg)`` and the Hydra entry point ``python -m lofi.train``."""
