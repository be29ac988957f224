"""CSI-BERT pre-training by masked-frame recovery (``experiment=csibert_pretrain``, ``task: pretrain``).

Each training window hides a random 10-70 % of its frames behind the mask token
(:func:`lofi.models.csibert.random_frame_mask`), and also every frame that was not received
(the csi stage filled it), as the fill will; the loss is the mean squared error of the
recovered amplitudes on the randomly hidden frames that were really received. With
``window`` standardisation the window is standardised by its *visible* frames only
(:func:`lofi.models.csibert.standardize_visible`), exactly as when filling: standardising
over all frames would leak the hidden ones into the input (their mean is minus the sum of
the visible ones). Validation and test hide the same frames every time (a generator seeded
per batch). With ``adversarial_weight > 0`` a small discriminator
learns to tell recovered frames from measured ones and the recovery is also trained to
fool it (CSI-BERT's adversarial option).

The run writes ``csibert_recovery.pt`` (:mod:`lofi.io.recovery_checkpoint`): fine-tuning
starts from it (``model.pretrained=``) and ``lofi csi --fill csibert --checkpoint`` fills
lost frames with it. ``metrics.json`` also holds the recovery error of CSI-BERT, linear
and spline fill on bursts of received test frames (:mod:`lofi.train.recovery_eval`).
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn

from lofi.models.csibert import (
    MASK_RATIO,
    CSIBert,
    masked_recovery_loss,
    random_frame_mask,
    standardize_visible,
)


class PretrainModule(pl.LightningModule):
    """Masked-frame recovery for a :class:`CSIBert` (Adam with weight decay).

    Args:
        model: the CSI-BERT to pre-train.
        lr, weight_decay: Adam's.
        mask_ratio: share of frames hidden per window, drawn uniformly in this range.
        adversarial_weight: weight of the discriminator term (0: off).
        gradient_clip_val: norm clipping with the adversarial option (manual optimisation).
        seed: seed of the validation and test masks.
        standardize_visible: the batches hold raw amplitudes; standardise each window by its
            visible frames (``window`` normalisation). False: they are already standardised.
    """

    def __init__(
        self,
        model: CSIBert,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        mask_ratio: tuple[float, float] = MASK_RATIO,
        adversarial_weight: float = 0.0,
        gradient_clip_val: float | None = 3.0,
        seed: int = 0,
        standardize_visible: bool = True,
    ) -> None:
        super().__init__()
        self.model = model
        self.save_hyperparameters(ignore=["model"], logger=False)
        self.discriminator = _discriminator(model.encoder.n_features) if adversarial_weight > 0 else None
        self.automatic_optimization = self.discriminator is None

    def _step(
        self, batch: dict, hide: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Recovered frames, the inputs' frames, the target frames and the recovery MSE.

        ``hide`` (B, T): the random pre-training mask. Frames not received are hidden too;
        targets are hidden frames that were received (in windows with >= 2 visible frames).
        """
        received = batch["received"].to(torch.bool)
        mask = hide | ~received
        x = batch["x"]
        target = hide & received
        if self.hparams.standardize_visible:
            _, shift, scale, count = standardize_visible(x, ~mask)
            x = (x - shift) / scale
            target = target & (count >= 2)[:, None]
        recovered = self.model.recover(x, mask)
        if not target.any():  # every hidden frame had been filled: nothing to learn from this batch
            return recovered, x, target, recovered.sum() * 0.0
        return recovered, x, target, masked_recovery_loss(recovered, x, target)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        n, length = batch["x"].shape[:2]
        hide = random_frame_mask(n, length, tuple(self.hparams.mask_ratio), device=batch["x"].device)
        recovered, x, target, loss = self._step(batch, hide)
        if self.discriminator is not None and target.any():  # no target frame: nothing to judge
            self._adversarial_step(x, recovered, target, loss)
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=max(int(target.sum()), 1))
        return loss

    def _adversarial_step(self, x: torch.Tensor, recovered: torch.Tensor, target: torch.Tensor, mse) -> None:
        """One step of the recovery (MSE + fooling the discriminator), then one of the discriminator."""
        opt_model, opt_disc = self.optimizers()
        bce = nn.functional.binary_cross_entropy_with_logits
        fake = recovered[target]
        fooled = bce(self.discriminator(fake), torch.ones(len(fake), 1, device=x.device))
        opt_model.zero_grad()
        self.manual_backward(mse + self.hparams.adversarial_weight * fooled)
        self._clip(opt_model)
        opt_model.step()
        real_logits, fake_logits = self.discriminator(x[target]), self.discriminator(fake.detach())
        disc = bce(real_logits, torch.ones_like(real_logits)) + bce(
            fake_logits, torch.zeros_like(fake_logits)
        )
        opt_disc.zero_grad()
        self.manual_backward(disc)
        self._clip(opt_disc)
        opt_disc.step()
        self.log("train/disc_loss", disc, on_step=False, on_epoch=True, batch_size=len(x))

    def _clip(self, optimizer) -> None:
        if self.hparams.gradient_clip_val:
            self.clip_gradients(optimizer, self.hparams.gradient_clip_val, "norm")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "test")

    def _evaluate(self, batch: dict, batch_idx: int, split: str) -> None:
        """Recovery MSE and MAE (standardised units) under a mask fixed by (seed, split, batch)."""
        n, length = batch["x"].shape[:2]
        generator = torch.Generator().manual_seed(_mask_seed(self.hparams.seed, split, batch_idx))
        hide = random_frame_mask(n, length, tuple(self.hparams.mask_ratio), generator, batch["x"].device)
        recovered, x, target, loss = self._step(batch, hide)
        size = int(target.sum())
        if size:  # a batch without target frames says nothing about the recovery
            self.log(f"{split}/loss", loss, on_step=False, on_epoch=True, batch_size=size)
            mae = (recovered[target] - x[target]).abs().mean()
            self.log(f"{split}/mae", mae, on_step=False, on_epoch=True, batch_size=size)

    def configure_optimizers(self):
        adam = torch.optim.Adam
        model = adam(self.model.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        if self.discriminator is None:
            return model
        return model, adam(self.discriminator.parameters(), lr=self.hparams.lr)


def _discriminator(n_features: int, hidden: int = 64) -> nn.Module:
    """Frame (S values) -> logit that the frame was measured rather than recovered."""
    return nn.Sequential(nn.Linear(n_features, hidden), nn.GELU(), nn.Linear(hidden, 1))


def _mask_seed(seed: int, split: str, batch_idx: int) -> int:
    return (int(seed) * 1_000_003 + (0 if split == "val" else 500_009) + batch_idx) % 2**63
