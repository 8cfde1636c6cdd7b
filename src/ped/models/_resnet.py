"""ResNet-50 in plain torch with torchvision's module layout, and checkpoint loading.

He et al., "Deep Residual Learning for Image Recognition", CVPR 2016
(https://arxiv.org/abs/1512.03385). Parameter names match ``torchvision.models.resnet50``
(``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer1.0.downsample.0``, ...), which is the layout
of the ssl-transfer checkpoints (Ericsson et al., "How Well Do Self-Supervised Models
Transfer?", CVPR 2021, https://arxiv.org/abs/2011.13377). The classifier ``fc`` is left out:
``forward`` returns the 2048-d global-average-pooled features.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

__all__ = ["ResNet50", "clean_state_dict"]

_PREFIXES = ("module.", "backbone.", "encoder.", "model.", "encoder_q.", "net.")


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride here, as torchvision's "ResNet v1.5") -> 1x1, with a skip."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + identity)


class ResNet50(nn.Module):
    """ResNet-50 without the classifier; ``forward`` gives ``(B, 2048)`` pooled features."""

    num_features = 2048

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (width, blocks, stride) in enumerate(
            [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], start=1
        ):
            layers = []
            for j in range(blocks):
                layers.append(Bottleneck(cin, width, stride if j == 0 else 1))
                cin = width * Bottleneck.expansion
            setattr(self, f"layer{i}", nn.Sequential(*layers))

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        """The ``(B, 2048, H/32, W/32)`` map of ``layer4``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_map(x).mean(dim=(2, 3))


def clean_state_dict(obj: object) -> dict[str, torch.Tensor]:
    """Pull the tensor dict out of a checkpoint and strip wrapper prefixes.

    Checkpoints nest the weights under ``state_dict`` or ``model`` (sometimes both) and
    prefix keys with ``module.`` (DataParallel), ``backbone.`` or ``encoder.``; each such
    prefix shared by the keys is removed, repeatedly.

    Parameters
    ----------
    obj : object
        What ``torch.load`` returned.

    Returns
    -------
    dict of str to Tensor
    """
    for _ in range(3):
        if isinstance(obj, Mapping):
            for key in ("state_dict", "model", "network", "net"):
                inner = obj.get(key)
                if isinstance(inner, Mapping) and inner:
                    obj = inner
                    break
    if not isinstance(obj, Mapping):
        raise TypeError(f"Expected a state dict, got {type(obj).__name__} instead.")
    state = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    changed = True
    while changed and state:
        changed = False
        for prefix in _PREFIXES:
            n = sum(k.startswith(prefix) for k in state)
            if n and n >= len(state) / 2:  # a prefix most keys share wraps the network
                state = {
                    k[len(prefix) :] if k.startswith(prefix) else k: v for k, v in state.items()
                }
                changed = True
    return state
