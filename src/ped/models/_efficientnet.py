"""EfficientNet-Lite in plain torch, built from the shapes of a lukemelas-style state dict.

EfficientNet-Lite (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019, https://arxiv.org/abs/1905.11946; Lite variants from the TensorFlow
TPU repository) is EfficientNet without squeeze-and-excitation, with ReLU6 instead of swish,
and with the stem (32 channels) and head (1280 channels) kept fixed across sizes. Convolutions
use TensorFlow's "SAME" padding, which pads asymmetrically for stride 2; batch norm uses
TensorFlow's epsilon of 1e-3.

The block list (which blocks expand, kernel sizes, channel counts) is read off the state
dict; strides follow the fixed EfficientNet stage layout (stride 2 at the first block of
stages 2, 3, 4 and 6 of 7).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["EfficientNetLite", "build_efficientnet_lite", "STAGE_STRIDES"]

# Stride of the first block of each of the seven EfficientNet stages.
STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)
_BN_EPS = 1e-3


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow "SAME" padding (extra pixel at the bottom/right)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.kernel_size
        sh, sw = self.stride
        pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excite (expand 1x1, depthwise kxk, project 1x1).

    Attribute names follow the lukemelas ``EfficientNet-PyTorch`` checkpoints.
    """

    def __init__(self, cin: int, cmid: int, cout: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.has_expand = cmid != cin
        if self.has_expand:
            self._expand_conv = Conv2dSame(cin, cmid, 1, bias=False)
            self._bn0 = _bn(cmid)
        self._depthwise_conv = Conv2dSame(cmid, cmid, kernel, stride, groups=cmid, bias=False)
        self._bn1 = _bn(cmid)
        self._project_conv = Conv2dSame(cmid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite feature network: ``forward`` returns pooled features.

    Parameters
    ----------
    blocks : list of (cin, cmid, cout, kernel, stride)
        The MBConv blocks in order.
    stem : int
        Stem channels.
    head : int
        Channels of the final 1x1 convolution.
    num_classes : int
        Classifier outputs (the classifier ``_fc`` is not used by ``forward``).
    stop_after : int or None
        Index of the last block to run; the pooled output of that block is returned and the
        head convolution is skipped. None runs the whole network including the head conv.
    """

    def __init__(
        self,
        blocks: list[tuple[int, int, int, int, int]],
        *,
        stem: int = 32,
        head: int = 1280,
        num_classes: int = 1000,
        stop_after: int | None = None,
    ) -> None:
        super().__init__()
        self._conv_stem = Conv2dSame(3, stem, 3, 2, bias=False)
        self._bn0 = _bn(stem)
        self._blocks = nn.ModuleList(MBConv(*b) for b in blocks)
        self._conv_head = Conv2dSame(blocks[-1][2], head, 1, bias=False)
        self._bn1 = _bn(head)
        self._fc = nn.Linear(head, num_classes)
        self.stop_after = stop_after
        if stop_after is None:
            self.num_features = head
        else:
            self.num_features = blocks[stop_after][2]

    def detach_classifier(self) -> nn.Linear:
        """Remove the ImageNet classifier ``_fc`` from the network and return it.

        ``forward`` never uses it: kept inside, its weights would be trained (and decayed)
        without a gradient when the network is fine-tuned.
        """
        fc = self._fc
        del self._fc
        return fc

    def truncate(self) -> None:
        """Drop the blocks after ``stop_after`` and the head conv that a depth variant never
        runs, so that every remaining parameter takes part in ``forward``."""
        if self.stop_after is None:
            return
        self._blocks = self._blocks[: self.stop_after + 1]
        del self._conv_head, self._bn1

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        """The spatial feature map before pooling."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for i, block in enumerate(self._blocks):
            x = block(x)
            if self.stop_after is not None and i == self.stop_after:
                return x
        return F.relu6(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_map(x).mean(dim=(2, 3))


def _block_specs(state: Mapping[str, torch.Tensor]) -> list[tuple[int, int, int, int, int]]:
    indices = sorted({int(m.group(1)) for k in state if (m := re.match(r"_blocks\.(\d+)\.", k))})
    blocks = []
    prev_out = None
    stage = -1
    for i in indices:
        dw = state[f"_blocks.{i}._depthwise_conv.weight"]
        proj = state[f"_blocks.{i}._project_conv.weight"]
        cmid, kernel = int(dw.shape[0]), int(dw.shape[-1])
        cout = int(proj.shape[0])
        expand = state.get(f"_blocks.{i}._expand_conv.weight")
        cin = int(expand.shape[1]) if expand is not None else cmid
        if cout != prev_out:  # a new stage starts where the output width changes
            stage += 1
            stride = STAGE_STRIDES[stage] if stage < len(STAGE_STRIDES) else 1
        else:
            stride = 1
        blocks.append((cin, cmid, cout, kernel, stride))
        prev_out = cout
    if stage != len(STAGE_STRIDES) - 1:
        raise ValueError(
            f"Expected {len(STAGE_STRIDES)} EfficientNet stages in the state dict, got {stage + 1}."
        )
    return blocks


def stage_ends(blocks: list[tuple[int, int, int, int, int]]) -> list[int]:
    """Index of the last block of each stage."""
    ends = []
    for i, b in enumerate(blocks):
        if i + 1 == len(blocks) or blocks[i + 1][2] != b[2]:
            ends.append(i)
    return ends


def build_efficientnet_lite(
    state: Mapping[str, torch.Tensor], *, stop_after_stage: int | None = None
) -> EfficientNetLite:
    """Build an EfficientNet-Lite from a lukemelas-style state dict and load it strictly.

    Parameters
    ----------
    state : mapping of str to Tensor
        ``_conv_stem.*``, ``_bn0.*``, ``_blocks.<i>.*``, ``_conv_head.*``, ``_bn1.*``, ``_fc.*``.
    stop_after_stage : int or None
        Return pooled features at the end of this stage (0-6) instead of after the head.

    Returns
    -------
    EfficientNetLite
        In eval mode.
    """
    blocks = _block_specs(state)
    stop_after = None
    if stop_after_stage is not None:
        stop_after = stage_ends(blocks)[stop_after_stage]
    net = EfficientNetLite(
        blocks,
        stem=int(state["_conv_stem.weight"].shape[0]),
        head=int(state["_conv_head.weight"].shape[0]),
        num_classes=int(state["_fc.weight"].shape[0]),
        stop_after=stop_after,
    )
    net.load_state_dict(state, strict=True)
    return net.eval()
