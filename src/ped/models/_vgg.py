"""VGG16 feature stacks in plain torch (torchvision's ``features`` layout).

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
ICLR 2015 (https://arxiv.org/abs/1409.1556). Two pretrained networks of the zoo use them:

* CRAFT (Baek et al., "Character Region Awareness for Text Detection", CVPR 2019,
  https://arxiv.org/abs/1904.01941) has a VGG16-BN backbone; its checkpoint keys
  ``module.basenet.slice1..4.<i>.*`` use the indices of torchvision's ``vgg16_bn().features``
  up to conv5_2 (``features[:40]``).
* HED (Xie & Tu, "Holistically-Nested Edge Detection", ICCV 2015,
  https://arxiv.org/abs/1504.06375) is a VGG16 (no batch norm) tuned for edges.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

__all__ = ["VGGFeatures", "vgg16_bn_features", "craft_state_dict", "CRAFT_STAGE_ENDS"]

_VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]

# Index one past the ReLU that ends conv3_3, conv4_3 and conv5_2 in vgg16_bn().features
# (strides 4, 8 and 16).
CRAFT_STAGE_ENDS = {"conv3": 23, "conv4": 33, "conv5": 40}


def _layers(batch_norm: bool) -> list[nn.Module]:
    layers: list[nn.Module] = []
    cin = 3
    for v in _VGG16:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        layers.append(nn.Conv2d(cin, v, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        cin = v
    return layers


class VGGFeatures(nn.Module):
    """The first ``depth`` modules of a VGG16 feature stack, then global average pooling.

    Parameters
    ----------
    depth : int
        Number of modules of ``features`` to keep (40 for CRAFT's conv5_2 with batch norm).
    batch_norm : bool
        VGG16-BN instead of VGG16.
    """

    def __init__(self, depth: int, *, batch_norm: bool = True) -> None:
        super().__init__()
        self.features = nn.Sequential(*_layers(batch_norm)[:depth])
        convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
        self.num_features = convs[-1].out_channels

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before pooling."""
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))


def vgg16_bn_features(depth: int = 40) -> VGGFeatures:
    """An untrained VGG16-BN stack of ``depth`` modules."""
    return VGGFeatures(depth, batch_norm=True)


def craft_state_dict(state: Mapping[str, torch.Tensor], depth: int) -> dict[str, torch.Tensor]:
    """Map CRAFT's ``module.basenet.sliceK.<i>.*`` keys onto ``features.<i>.*``.

    Only the modules below ``depth`` are kept; the rest of CRAFT (slice5, the U-net
    upsampling and the region/affinity head) is dropped.
    """
    out = {}
    for k, v in state.items():
        m = re.match(r"(?:module\.)?basenet\.slice[1-4]\.(\d+)\.(.+)$", k)
        if m and int(m.group(1)) < depth:
            out[f"features.{m.group(1)}.{m.group(2)}"] = v
    return out


# HED: the VGG16 conv layers as named in the Keras weights file, in order.
HED_CONVS = [
    ("block1_conv1", 3, 64),
    ("block1_conv2", 64, 64),
    ("block2_conv1", 64, 128),
    ("block2_conv2", 128, 128),
    ("block3_conv1", 128, 256),
    ("block3_conv2", 256, 256),
    ("block3_conv3", 256, 256),
    ("block4_conv1", 256, 512),
    ("block4_conv2", 512, 512),
    ("block4_conv3", 512, 512),
    ("block5_conv1", 512, 512),
    ("block5_conv2", 512, 512),
    ("block5_conv3", 512, 512),
]


def hwio_to_oihw(kernel: np.ndarray) -> torch.Tensor:
    """Keras/TensorFlow conv kernel ``(H, W, in, out)`` to torch ``(out, in, H, W)``."""
    return torch.from_numpy(np.ascontiguousarray(np.transpose(kernel, (3, 2, 0, 1))))
