"""Facts of the paper's benchmark shared across layers (no imports, no I/O)."""

from __future__ import annotations

#: The twelve self-supervised ResNet-50s of Ericsson et al. (CVPR 2021), as used by PED,
#: under ssl-transfer's names.
SSL_MODELS: tuple[str, ...] = (
    "byol",
    "deepcluster-v2",
    "infomin",
    "insdis",
    "moco-v1",
    "moco-v2",
    "pcl-v1",
    "pcl-v2",
    "sela-v2",
    "simclr-v1",
    "simclr-v2",
    "swav",
)
