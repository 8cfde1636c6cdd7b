"""Smaller plain-torch networks of the larger zoo: MobileNetV2, the HED VGG16 and MTCNN's ONet.

* MobileNetV2 (Sandler et al., CVPR 2018, https://arxiv.org/abs/1801.04381) in
  torchvision's module layout, so torchvision's ImageNet checkpoint loads strictly.
* HED's VGG16 trunk (Xie & Tu, ICCV 2015, https://arxiv.org/abs/1504.06375), read from a
  Keras ``.weights.h5`` file with h5py (kernels HWIO -> OIHW).
* MTCNN's ONet (Zhang et al., "Joint Face Detection and Alignment Using Multitask Cascaded
  Convolutional Networks", IEEE SPL 2016, https://arxiv.org/abs/1604.02878), in the layout
  of the PyTorch port whose checkpoint keys are ``features.conv1`` ... ``features.conv5``.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ._vgg import HED_CONVS, hwio_to_oihw

__all__ = [
    "random_mobilenet_v2",
    "MobileNetV2",
    "HEDTrunk",
    "ONet",
    "MOBILENET_STAGE_ENDS",
    "HED_STAGE_ENDS",
]

# (expansion, channels, repeats, stride) of torchvision's MobileNetV2.
_MBV2 = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]
# Last ``features`` index at output stride 8, 16 and 32, and the 1280-channel head conv.
MOBILENET_STAGE_ENDS = {"s8": 6, "s16": 13, "s32": 17, "head": 18}


def _conv_bn_relu(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class _InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn_relu(cin, hidden, 1))
        layers += [
            _conv_bn_relu(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_res = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision-layout MobileNetV2; ``forward`` pools ``features[:depth + 1]``.

    Parameters
    ----------
    depth : int
        Index of the last ``features`` module to run (18: the 1280-channel head conv).
    num_classes : int
        Size of ``classifier[1]`` (used only through :attr:`head`).
    """

    def __init__(self, depth: int = 18, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn_relu(3, 32, 3, 2)]
        cin = 32
        for t, c, n, s in _MBV2:
            for i in range(n):
                layers.append(_InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(_conv_bn_relu(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))
        self.depth = depth
        chans = [32] + [c for _, c, n, _ in _MBV2 for _ in range(n)] + [1280]
        self.num_features = chans[depth]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, m in enumerate(self.features):
            x = m(x)
            if i == self.depth:
                break
        return x.mean(dim=(2, 3))

    def detach_classifier(self) -> nn.Sequential:
        """Remove ``classifier`` (never used by ``forward``) from the network and return it."""
        classifier = self.classifier
        del self.classifier
        return classifier

    def truncate(self) -> None:
        """Keep only ``features[:depth + 1]``, the layers ``forward`` runs."""
        self.features = self.features[: self.depth + 1]


class ScaledOutput(nn.Module):
    """A network followed by one fixed positive factor (a buffer, not trained)."""

    def __init__(self, net: nn.Module, factor: float) -> None:
        super().__init__()
        self.net = net
        self.num_features = net.num_features
        self.register_buffer("factor", torch.tensor(float(factor)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) * self.factor

    def for_finetuning(self) -> nn.Module:
        """The network without the factor, the module that fine-tuning starts from.

        The factor is measured on eval-mode activations; in train mode batch-norm layers
        normalise with the batch's own statistics, so the unscaled activations are already of
        unit order, and the factor (about 1e9 for the random MobileNetV2) would make the first
        loss about 1e20 and leave training at chance.
        """
        return self.net


def random_mobilenet_v2(depth: int = 18, *, seed: int = 0) -> ScaledOutput:
    """A MobileNetV2 at torchvision's documented random initialisation, in eval mode.

    torchvision's ``MobileNetV2.__init__`` draws convolutions from Kaiming-normal (fan out)
    and sets batch-norm weights to 1 and biases to 0; batch-norm running statistics start at
    mean 0 and variance 1, which is what eval mode uses. Nothing is fitted to data: this is
    the network fine-tuning would start from. The draws come from ``torch.manual_seed(seed)``
    inside a forked random state, so the caller's global state is untouched.

    At this initialisation the eval-mode activations shrink layer after layer (pooled
    features near 1e-9 on ImageNet-normalised images), below the absolute tolerances of
    probes and scores (``std + 1e-8``, ``np.allclose``). One fixed factor, the inverse RMS
    of the pooled output on a fixed batch of standard Gaussian noise, brings them to unit
    scale; a single positive factor changes nothing a linear probe or a scale-invariant
    score can see. Fine-tuning starts from the unscaled network
    (`ScaledOutput.for_finetuning`): in train mode batch-norm needs no factor.

    Parameters
    ----------
    depth : int
        Last ``features`` index to keep (18: the 1280-channel head conv).
    seed : int
        Seed of the draws (the noise batch uses the same seed).

    Returns
    -------
    ScaledOutput
        The truncated network (no classifier) and its factor, in eval mode.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = MobileNetV2(depth)
        for mod in net.modules():
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, mode="fan_out")
            elif isinstance(mod, nn.BatchNorm2d):
                nn.init.ones_(mod.weight)
                nn.init.zeros_(mod.bias)
    net.detach_classifier()
    net.truncate()
    net.eval()
    noise = torch.randn(8, 3, 64, 64, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        rms = float(net(noise).double().pow(2).mean().sqrt())
    return ScaledOutput(net, 1.0 / rms).eval()


# Convs (in HED_CONVS order) after which each depth level is read, and the pooled width.
HED_STAGE_ENDS = {"s8": (6, 256), "s16": (9, 512), "s32": (12, 512)}


class HEDTrunk(nn.Module):
    """HED's VGG16 trunk up to a given conv (ReLU after every conv, 2x2 max pools with
    "same" padding between blocks); ``forward`` returns the pooled activation."""

    def __init__(self, last_conv: int = 9) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(i, o, 3, padding=1) for _, i, o in HED_CONVS[: last_conv + 1]
        )
        self.pool_before = {2, 4, 7, 10}  # first conv of blocks 2-5
        self.num_features = HED_CONVS[last_conv][2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            if i in self.pool_before:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            x = F.relu(conv(x))
        return x.mean(dim=(2, 3))

    def load_h5(self, path: str | Path) -> None:
        """Load the Keras weights (``block<k>/layers/conv2d[_j]/vars/{0,1}``) with h5py."""
        import h5py

        blocks = {1: 2, 2: 2, 3: 3, 4: 3, 5: 3}
        names = []
        for b, n in blocks.items():
            for j in range(n):
                names.append(f"block{b}/layers/conv2d{'' if j == 0 else f'_{j}'}/vars")
        with h5py.File(path, "r") as f:
            for conv, name in zip(self.convs, names):
                kernel, bias = f[name]["0"][()], f[name]["1"][()]
                w = hwio_to_oihw(kernel)
                if tuple(w.shape) != tuple(conv.weight.shape):
                    raise ValueError(
                        f"Expected HED kernel {name} of shape {tuple(conv.weight.shape)}, "
                        f"got {tuple(w.shape)}."
                    )
                with torch.no_grad():
                    conv.weight.copy_(w)
                    conv.bias.copy_(torch.from_numpy(bias))


class ONet(nn.Module):
    """MTCNN's output network on 48x48 faces; ``forward`` returns the 256-d ``conv5`` layer
    (after its PReLU), and :meth:`face_prob` the face/non-face softmax."""

    num_features = 256

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Module()
        f = self.features
        f.conv1, f.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        f.conv2, f.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        f.conv3, f.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        f.conv4, f.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        f.conv5, f.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.conv6_1 = nn.Linear(256, 2)
        self.conv6_2 = nn.Linear(256, 4)
        self.conv6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features
        x = F.max_pool2d(f.prelu1(f.conv1(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(f.prelu2(f.conv2(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(f.prelu3(f.conv3(x)), 2, 2, ceil_mode=True)
        x = f.prelu4(f.conv4(x))
        x = x.transpose(3, 2).contiguous().flatten(1)  # the Caffe weights are (W, H) ordered
        return f.prelu5(f.conv5(x))

    def face_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Probability that each 48x48 input is a face."""
        return torch.softmax(self.conv6_1(self.forward(x)), dim=1)[:, 1]

    def drop_heads(self) -> None:
        """Remove the face, box and landmark layers (``conv6_*``), which ``forward`` never
        runs, so that every remaining parameter takes part in ``forward``."""
        del self.conv6_1, self.conv6_2, self.conv6_3
