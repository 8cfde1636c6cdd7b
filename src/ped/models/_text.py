"""Text backbones: a torch BERT, an ONNX BERT, GloVe word vectors and a static embedding.

Every text backbone takes strings: ``transform`` is the identity on ``str`` and ``collate``
makes the model input (token ids and mask for the BERTs, the strings themselves for the
bag-of-vectors models).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._base import Backbone

__all__ = [
    "BertTextBackbone",
    "OnnxBertTextBackbone",
    "WordVectorBackbone",
    "StaticEmbeddingBackbone",
    "load_tokenizer",
]


def load_tokenizer(path: str | Path, *, max_length: int) -> Any:
    """A ``tokenizers.Tokenizer`` from ``tokenizer.json``, padding to the longest in a batch."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    pad_id = tok.token_to_id("[PAD]")
    tok.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
    tok.enable_truncation(max_length=max_length)
    return tok


def _check_text(item: Any) -> str:
    if not isinstance(item, str):
        raise TypeError(f"Expected a str item for a text backbone, got {type(item).__name__}.")
    return item


class _TextBackbone(Backbone):
    def __init__(self, spec: str, *, feature_dim: int, weight_files: Sequence[Path], pid: str):
        super().__init__(spec, modality="text", feature_dim=feature_dim, weight_files=weight_files)
        self._pid = pid

    def preprocess_id(self) -> str:
        return self._pid

    def transform(self, item: Any) -> str:
        return _check_text(item)

    def train_transform(self, item: Any, *, generator: torch.Generator | None = None) -> str:
        return _check_text(item)


class BertTextBackbone(_TextBackbone):
    """A torch BERT sentence encoder (mean-pooled); ``module`` is trainable.

    ``collate`` returns a dict of ``input_ids``, ``attention_mask`` and ``token_type_ids``
    (int64 tensors, padded to the longest item), which ``module`` takes as its one argument.
    """

    def __init__(
        self,
        spec: str,
        module: torch.nn.Module,
        tokenizer: Any,
        *,
        feature_dim: int,
        weight_files: Sequence[Path],
        max_length: int,
    ) -> None:
        super().__init__(
            spec,
            feature_dim=feature_dim,
            weight_files=weight_files,
            pid=f"bert-wordpiece-uncased;max_length={max_length};mean-pool",
        )
        self.module = module.eval()
        self.tokenizer = tokenizer

    def collate(self, items: Sequence[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer.encode_batch([_check_text(s) for s in items])
        return {
            "input_ids": torch.tensor([e.ids for e in enc], dtype=torch.long),
            "attention_mask": torch.tensor([e.attention_mask for e in enc], dtype=torch.long),
            "token_type_ids": torch.tensor([e.type_ids for e in enc], dtype=torch.long),
        }

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[np.ndarray, None]:
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.inference_mode():
                feats = self.module({k: v.to(self.device) for k, v in batch.items()})
        finally:
            self.module.train(was_training)
        return feats.float().cpu().numpy().astype(np.float32), None

    def to(self, device: str | torch.device) -> BertTextBackbone:
        self.device = torch.device(device)
        self.module.to(self.device)
        return self


class OnnxBertTextBackbone(_TextBackbone):
    """A BERT sentence encoder exported to ONNX; features are its last hidden state
    mean-pooled under the attention mask."""

    module = None

    def __init__(
        self,
        spec: str,
        session: Any,
        tokenizer: Any,
        *,
        hidden_name: str,
        feature_dim: int,
        weight_files: Sequence[Path],
        max_length: int,
    ) -> None:
        super().__init__(
            spec,
            feature_dim=feature_dim,
            weight_files=weight_files,
            pid=f"bert-wordpiece-uncased;max_length={max_length};mean-pool",
        )
        self.session = session
        self.tokenizer = tokenizer
        self.hidden_name = hidden_name
        self.input_names = [i.name for i in session.get_inputs()]

    def collate(self, items: Sequence[str]) -> dict[str, np.ndarray]:
        enc = self.tokenizer.encode_batch([_check_text(s) for s in items])
        batch = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }
        return batch

    def forward(self, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, None]:
        feed = {k: np.asarray(batch[k], dtype=np.int64) for k in self.input_names}
        (hidden,) = self.session.run([self.hidden_name], feed)
        m = np.asarray(batch["attention_mask"], dtype=np.float32)[:, :, None]
        feats = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        return feats.astype(np.float32), None


_WORD = re.compile(r"[a-z0-9]+(?:[-'.][a-z0-9]+)*|[^\sa-z0-9]")


class WordVectorBackbone(_TextBackbone):
    """Mean of pretrained word vectors (GloVe) over the words of a text.

    Text is lower-cased and split into words and single punctuation marks; words missing
    from the vocabulary are skipped, and a text with no known word gets the zero vector.

    Parameters
    ----------
    vectors : ndarray of shape (n_words, dim)
        The word vectors (may be a memory map).
    lookup : callable
        Maps a list of tokens to their row indices (-1 for unknown).
    """

    module = None

    def __init__(
        self,
        spec: str,
        vectors: np.ndarray,
        lookup: Callable[[list[str]], np.ndarray],
        *,
        weight_files: Sequence[Path],
    ) -> None:
        super().__init__(
            spec,
            feature_dim=int(vectors.shape[1]),
            weight_files=weight_files,
            pid="lowercase-word-split;mean-of-known-words",
        )
        self.vectors = vectors
        self.lookup = lookup

    @staticmethod
    def tokenize(text: str) -> list[str]:
        """Lower-case and split into words and punctuation marks."""
        return _WORD.findall(text.lower())

    def collate(self, items: Sequence[str]) -> list[str]:
        return [_check_text(s) for s in items]

    def forward(self, batch: Sequence[str]) -> tuple[np.ndarray, None]:
        out = np.zeros((len(batch), self.feature_dim), dtype=np.float32)
        for i, text in enumerate(batch):
            idx = self.lookup(self.tokenize(text))
            idx = idx[idx >= 0]
            if idx.size:
                out[i] = np.asarray(self.vectors[np.sort(idx)], dtype=np.float32).mean(axis=0)
        return out, None


class StaticEmbeddingBackbone(_TextBackbone):
    """A static (Model2Vec-style) embedding: weighted mean of per-token vectors, L2-normed.

    The vector of token ``t`` is ``embeddings[mapping[t]] * weights[t]`` (a quantised
    vocabulary shares rows); the text vector is their mean over the tokens, normalised to
    unit length, as the model's config asks.
    """

    module = None

    def __init__(
        self,
        spec: str,
        tokenizer: Any,
        embeddings: np.ndarray,
        mapping: np.ndarray | None,
        weights: np.ndarray | None,
        *,
        normalize: bool,
        weight_files: Sequence[Path],
        max_length: int = 512,
    ) -> None:
        super().__init__(
            spec,
            feature_dim=int(embeddings.shape[1]),
            weight_files=weight_files,
            pid=f"unigram;max_length={max_length};weighted-mean" + (";l2" if normalize else ""),
        )
        self.tokenizer = tokenizer
        self.embeddings = np.asarray(embeddings, dtype=np.float32)
        self.mapping = mapping
        self.weights = weights
        self.normalize = normalize
        self.max_length = max_length

    def collate(self, items: Sequence[str]) -> list[str]:
        return [_check_text(s) for s in items]

    def forward(self, batch: Sequence[str]) -> tuple[np.ndarray, None]:
        out = np.zeros((len(batch), self.feature_dim), dtype=np.float32)
        for i, enc in enumerate(self.tokenizer.encode_batch(list(batch))):
            ids = np.asarray(enc.ids[: self.max_length], dtype=np.int64)
            if ids.size == 0:
                continue
            rows = self.mapping[ids] if self.mapping is not None else ids
            v = self.embeddings[rows]
            if self.weights is not None:
                v = v * self.weights[ids, None]
            x = v.mean(axis=0)
            if self.normalize:
                n = float(np.linalg.norm(x))
                x = x / n if n > 0 else x
            out[i] = x
        return out, None
