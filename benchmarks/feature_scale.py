"""Scale of the pooled features a new fine-tuning head reads, per candidate (issue 12).

For each model: the trainable module that fine-tuning starts from
(`ped.finetune.training.starting_module`) in train mode, on the first ``--items`` items of the
fine-tuning pool of ``--target`` preprocessed at ``--image-size`` px, as
`ped.finetune.protocol.prepare_pool` does. Prints the rms of the pooled features and the median
over feature dimensions of their standard deviation: a plain linear head on features of very
different scales needs very different learning rates, which is why the protocol's head reads
batch-normalised features (``head_norm="batchnorm"``)::

    python benchmarks/feature_scale.py zoo:craft-vgg16bn@s8 zoo:hed-vgg16@s8 zoo:mobilenetv2
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="Model specs with a trainable torch module.")
    parser.add_argument("--target", default="animal-mnist")
    parser.add_argument("--items", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args(argv)

    import torch

    from ped.data import load_dataset
    from ped.finetune.protocol import prepare_pool
    from ped.finetune.training import starting_module
    from ped.models import load_backbone

    torch.set_num_threads(1)
    dataset = load_dataset(args.target)
    print(f"{'model':28s} {'features':>8s} {'rms':>8s} {'median std':>10s}")
    for spec in args.models:
        backbone = load_backbone(spec, image_size=args.image_size)
        x, _ = prepare_pool(backbone, dataset, args.items)
        module = starting_module(backbone.module).train()
        with torch.no_grad():
            feats = module(x).flatten(1)
        rms = float(feats.pow(2).mean().sqrt())
        std = float(feats.std(0).median())
        print(f"{spec:28s} {feats.shape[1]:8d} {rms:8.3g} {std:10.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
