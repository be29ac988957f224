"""Convolution-based models (paper Fig. 3, left): they read the subcarrier correlation F = MᵀM.

Input: (B, C, S, S) float32, S = 52 subcarriers, C = 1 (amplitude) or more channels.
Output: the :class:`~lofi.models.heads.MultiTaskHead` dict.
"""

from __future__ import annotations

import torch
from torch import nn

from lofi.models.heads import LocalizationModel, MultiTaskHead


def _conv_block(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
    """3x3 conv (same padding) -> BatchNorm -> ReLU [-> 2x2 max-pool]."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class CNN(LocalizationModel):
    """Four-layer CNN (paper: ~23 K parameters).

    Four 3x3 conv blocks (``channels`` wide, default 16-32-32-32; BatchNorm after each, so
    the raw scale of F, which grows with amplitude² x frames, does not matter), 2x2
    max-pooling after the first three (52 -> 26 -> 13 -> 6), adaptive average pooling
    to a 2x2 grid (keeps which quadrant of F — which subcarrier pairs — responded),
    then the head on the 4 x channels[-1] features.

    Input (B, C, S, S); output dict with ``xy`` in metres.
    """

    input_view = "correlation"

    def __init__(
        self,
        in_channels: int = 1,
        channels: tuple[int, ...] | list[int] = (16, 32, 32, 32),
        grid: int = 2,
        head_hidden: tuple[int, ...] | list[int] = (),
    ) -> None:
        super().__init__()
        widths = [in_channels, *channels]
        blocks = [
            _conv_block(widths[i], widths[i + 1], pool=i < len(channels) - 1) for i in range(len(channels))
        ]
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(grid), nn.Flatten())
        self.head = MultiTaskHead(channels[-1] * grid * grid, head_hidden)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x (B, C, S, S) correlation matrices -> output dict."""
        return self.head(self.features(x))


class ResNet18(LocalizationModel):
    """torchvision's ResNet-18, randomly initialised (never downloads weights).

    The first conv takes ``in_channels`` channels (7x7, stride 2, as the original) and
    the 1000-class ``fc`` is replaced by the multi-task head on the 512 pooled features.
    Paper: ~11 M parameters. Input (B, C, S, S); output dict with ``xy`` in metres.
    """

    input_view = "correlation"

    def __init__(self, in_channels: int = 1, head_hidden: tuple[int, ...] | list[int] = ()) -> None:
        super().__init__()
        from torchvision.models import resnet18  # imported here: torchvision takes ~1 s to import

        backbone = resnet18(weights=None)
        backbone.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        width = backbone.fc.in_features
        backbone.fc = nn.Identity()
        self.backbone = backbone
        self.head = MultiTaskHead(width, head_hidden)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x (B, C, S, S) correlation matrices -> output dict."""
        return self.head(self.backbone(x))
