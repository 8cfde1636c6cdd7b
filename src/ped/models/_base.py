"""The `Backbone` interface and its torch, ONNX and callable-based implementations.

A backbone turns items (PIL images or strings) into fixed-size feature vectors, and, where
the pretrained network has a classifier over its source classes (ImageNet), into source-class
probabilities as well. The feature extraction loop (``ped.features``) uses only this
interface::

    batch = backbone.collate([backbone.transform(item) for item in items])
    features, source_probs = backbone.forward(batch)
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ._digest import files_digest, text_digest
from ._specs import parse_preprocessing, parse_spec, with_query
from ._transforms import ImagePipeline

__all__ = ["Backbone", "TorchImageBackbone", "OnnxImageBackbone", "resolve_device"]

logger = logging.getLogger(__name__)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Turn a device argument into a ``torch.device``; None means the CPU."""
    if device is None:
        return torch.device("cpu")
    return torch.device(device)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


class Backbone:
    """A pretrained network that maps items to features (and source-class probabilities).

    Attributes
    ----------
    spec : str
        Canonical spec; ``load_backbone(backbone.spec)`` builds the same backbone.
    modality : {"image", "text"}
        What items it takes: PIL RGB images or strings.
    feature_dim : int
        Length of one feature vector.
    num_source_classes : int or None
        Number of source classes of the pretrained classifier (1000 for ImageNet), or None
        when the network has no classifier.
    module : torch.nn.Module or None
        A trainable torch module mapping ``collate()`` output to ``(B, feature_dim)``
        features (for fine-tuning); None for static models and for ONNX graphs that do not
        convert to torch.
    module_note : str
        Why ``module`` is None, when it is ("" otherwise).
    """

    spec: str
    modality: str
    feature_dim: int
    num_source_classes: int | None = None
    module: nn.Module | None = None
    module_note: str = ""

    def __init__(
        self,
        spec: str,
        *,
        modality: str,
        feature_dim: int,
        num_source_classes: int | None = None,
        weight_files: Sequence[str | Path] = (),
        digest_text: str | None = None,
    ) -> None:
        self.spec = spec
        self.modality = modality
        self.feature_dim = int(feature_dim)
        self.num_source_classes = num_source_classes
        self.weight_files = tuple(Path(p) for p in weight_files)
        self._digest_text = digest_text
        self._digest: str | None = None
        self.device = torch.device("cpu")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(spec={self.spec!r}, modality={self.modality!r}, "
            f"feature_dim={self.feature_dim}, num_source_classes={self.num_source_classes})"
        )

    def digest(self) -> str:
        """Content digest of the weights: sha256 hex of the weight file(s).

        Computed once per backbone (and once per file per process). A backbone without a
        weight file (a control such as raw pixels) digests a text that fixes it.
        """
        if self._digest is None:
            if self.weight_files:
                d = files_digest(self.weight_files)
                if self._digest_text:  # e.g. which inner tensor of the same file is read
                    d = text_digest(d + "\n" + self._digest_text)
            else:
                d = text_digest(self._digest_text or self.spec)
            self._digest = d
        return self._digest

    def preprocess_id(self) -> str:
        """A string describing the eval preprocessing (part of the feature-cache key)."""
        raise NotImplementedError

    def transform(self, item: Any) -> Any:
        """Eval preprocessing of one item (a PIL RGB image or a string)."""
        raise NotImplementedError

    def train_transform(self, item: Any, *, generator: torch.Generator | None = None) -> Any:
        """Augmented preprocessing of one item for fine-tuning (images: random resized crop
        with scale 0.08-1 and ratio 3/4-4/3, bicubic, then a horizontal flip at p=0.5)."""
        return self.transform(item)

    def collate(self, items: Sequence[Any]) -> Any:
        """Stack transformed items into one model input."""
        raise NotImplementedError

    def forward(self, batch: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """Features and source-class probabilities of one collated batch.

        Parameters
        ----------
        batch
            Output of :meth:`collate`.

        Returns
        -------
        features : ndarray of shape (n_items, feature_dim), float32
        source_probs : ndarray of shape (n_items, num_source_classes), float32, or None
            Softmax over the source classes; None when ``num_source_classes`` is None.
        """
        raise NotImplementedError

    def to(self, device: str | torch.device) -> Backbone:
        """Move the backbone to ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``); returns self."""
        self.device = torch.device(device)
        return self

    def with_image_size(self, image_size: int) -> Backbone:
        """The same model at another input size (a new backbone, on the same device, with the
        same ``mean``, ``std`` and ``grey`` options)."""
        from . import load_backbone

        kind, name, options = parse_spec(self.spec)
        pre = dataclasses.replace(parse_preprocessing(self.spec, options), size=None)
        spec = with_query(f"{kind}:{name}", pre.query())
        return load_backbone(spec, device=self.device, image_size=image_size)


class TorchImageBackbone(Backbone):
    """An image backbone whose network is a torch module.

    Parameters
    ----------
    spec : str
        Canonical spec.
    module : torch.nn.Module
        Maps a ``(B, 3, H, W)`` float tensor to ``(B, feature_dim)`` features.
    pipeline : ImagePipeline
        Eval preprocessing (the train preprocessing derives from it).
    feature_dim : int
        Feature length.
    head : torch.nn.Module or None
        Maps features to source-class logits; None when there is no classifier.
    num_source_classes : int or None
        Output size of ``head``.
    weight_files : sequence of path
        Files hashed by :meth:`digest`.
    digest_text : str or None
        Extra text mixed into the digest (or the whole digest when there is no file).
    """

    def __init__(
        self,
        spec: str,
        module: nn.Module,
        pipeline: ImagePipeline,
        *,
        feature_dim: int,
        head: nn.Module | None = None,
        num_source_classes: int | None = None,
        weight_files: Sequence[str | Path] = (),
        digest_text: str | None = None,
    ) -> None:
        super().__init__(
            spec,
            modality="image",
            feature_dim=feature_dim,
            num_source_classes=num_source_classes if head is not None else None,
            weight_files=weight_files,
            digest_text=digest_text,
        )
        self.module = module.eval()
        self.head = head.eval() if head is not None else None
        self.pipeline = pipeline

    def preprocess_id(self) -> str:
        return self.pipeline.describe()

    def transform(self, item: Any) -> torch.Tensor:
        return torch.from_numpy(self.pipeline(item))

    def train_transform(
        self, item: Any, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return torch.from_numpy(self.pipeline.train(item, generator=generator))

    def collate(self, items: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.stack([torch.as_tensor(x) for x in items])

    def forward(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.inference_mode():
                x = torch.as_tensor(batch).to(self.device, torch.float32)
                feats = self.module(x)
                probs = None
                if self.head is not None:
                    probs = torch.softmax(self.head(feats).float(), dim=1)
                    probs = probs.cpu().numpy().astype(np.float32)
                feats = feats.float().cpu().numpy().astype(np.float32)
        finally:
            self.module.train(was_training)
        return feats, probs

    def to(self, device: str | torch.device) -> TorchImageBackbone:
        self.device = torch.device(device)
        self.module.to(self.device)
        if self.head is not None:
            self.head.to(self.device)
        return self


def pool_tensor(x: np.ndarray) -> np.ndarray:
    """Pool an inner activation to one vector per item.

    ``(B, D)`` is kept; ``(B, C, H, W)`` is averaged over H and W; ``(B, T, D)`` over T;
    anything else is flattened after the batch axis.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        return x
    if x.ndim == 4:
        return x.mean(axis=(2, 3))
    if x.ndim == 3:
        return x.mean(axis=1)
    return x.reshape(x.shape[0], -1)


class OnnxImageBackbone(Backbone):
    """An image backbone run by onnxruntime, reading one (inner or output) tensor.

    Parameters
    ----------
    spec : str
        Canonical spec.
    session : onnxruntime.InferenceSession
        A session whose outputs include ``output_name``.
    input_name, output_name : str
        The graph input fed and the tensor read.
    pipeline : ImagePipeline
        Eval preprocessing.
    feature_dim : int
        Length of the pooled tensor.
    pool : callable
        Maps the raw tensor ``(B, ...)`` to ``(B, feature_dim)``.
    batch_one : bool
        The graph's batch axis is fixed at 1: items are run one at a time.
    weight_files, digest_text
        As for :class:`Backbone`.
    session_factory : callable or None
        Makes a new session for a list of onnxruntime providers (used by :meth:`to`).
    module_factory : callable or None
        Builds the trainable torch module (the graph converted to torch) on first access of
        :attr:`module`; None, or a factory returning None: the graph has no torch form.
    module_note : str
        Why :attr:`module` is None, when it is.
    """

    def __init__(
        self,
        spec: str,
        session: Any,
        *,
        input_name: str,
        output_name: str,
        pipeline: ImagePipeline,
        feature_dim: int,
        pool: Callable[[np.ndarray], np.ndarray] = pool_tensor,
        batch_one: bool = False,
        weight_files: Sequence[str | Path] = (),
        digest_text: str | None = None,
        session_factory: Callable[[Sequence[str]], Any] | None = None,
        module_factory: Callable[[], nn.Module | None] | None = None,
        module_note: str = "",
    ) -> None:
        super().__init__(
            spec,
            modality="image",
            feature_dim=feature_dim,
            num_source_classes=None,
            weight_files=weight_files,
            digest_text=digest_text,
        )
        self._module_factory = module_factory
        self._module: nn.Module | None = None
        self._module_built = module_factory is None
        self.module_note = module_note or (
            "" if module_factory else "an ONNX graph has no trainable torch module"
        )
        self.session = session
        self.input_name = input_name
        self.output_name = output_name
        self.pipeline = pipeline
        self.pool = pool
        self.batch_one = batch_one
        self._session_factory = session_factory

    def preprocess_id(self) -> str:
        return self.pipeline.describe()

    def transform(self, item: Any) -> np.ndarray:
        return self.pipeline(item)

    def train_transform(self, item: Any, *, generator: torch.Generator | None = None) -> np.ndarray:
        return self.pipeline.train(item, generator=generator)

    @property  # type: ignore[override]
    def module(self) -> nn.Module | None:
        """The graph converted to a trainable torch module (built on first access, on the
        backbone's device), or None when it has no torch form (:attr:`module_note` says why)."""
        if not self._module_built:
            self._module = self._module_factory()  # type: ignore[misc]
            self._module_built = True
            if self._module is None:
                self.module_note = self.module_note or "the graph does not convert to torch"
            else:
                self._module.to(self.device)
        return self._module

    def collate(self, items: Sequence[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack([np.asarray(x, dtype=np.float32) for x in items]))

    def _run(self, x: np.ndarray) -> np.ndarray:
        (out,) = self.session.run([self.output_name], {self.input_name: x})
        return self.pool(out)

    def forward(self, batch: np.ndarray) -> tuple[np.ndarray, None]:
        if isinstance(batch, torch.Tensor):
            batch = batch.detach().cpu().numpy()
        x = np.ascontiguousarray(np.asarray(batch, dtype=np.float32))
        if self.batch_one:
            feats = np.concatenate([self._run(x[i : i + 1]) for i in range(len(x))], axis=0)
        else:
            feats = self._run(x)
        return feats.astype(np.float32, copy=False), None

    def to(self, device: str | torch.device) -> OnnxImageBackbone:
        dev = torch.device(device)
        if self._session_factory is not None and dev.type != self.device.type:
            providers = ["CPUExecutionProvider"]
            if dev.type == "cuda":
                options = {"device_id": dev.index or 0}
                providers = [("CUDAExecutionProvider", options), "CPUExecutionProvider"]
            self.session = self._session_factory(providers)
        self.device = dev
        if self._module is not None:
            self._module.to(dev)
        return self
