"""A BERT encoder in plain torch, reading Hugging Face ``BertModel`` weights, and a
safetensors reader that needs neither ``transformers`` nor ``safetensors``.

Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding", NAACL 2019 (https://arxiv.org/abs/1810.04805). Used for all-MiniLM-L6-v2
(Wang et al., "MiniLM", NeurIPS 2020, https://arxiv.org/abs/2002.10957, tuned as a sentence
encoder by sentence-transformers): 6 layers, hidden size 384, 12 heads, GELU (erf) MLP.
Sentence features are the mean of the last hidden states under the attention mask.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BertEncoder", "MeanPooledBert", "read_safetensors"]

_ST_DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Read a ``.safetensors`` file into numpy arrays (no code is executed).

    The format is an 8-byte little-endian header length, a JSON header mapping each name
    to its dtype, shape and byte offsets, then the raw little-endian tensor bytes.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    dict of str to ndarray
        Arrays backed by one read of the file (copy them before writing).
    """
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _ST_DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"Unsupported safetensors dtype {info['dtype']!r} for {name!r}.")
        start, end = info["data_offsets"]
        arr = np.frombuffer(
            raw, dtype=np.dtype(dtype).newbyteorder("<"), count=-1, offset=base + start
        )[: (end - start) // np.dtype(dtype).itemsize]
        out[name] = arr.reshape(info["shape"])
    return out


class _Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.inter = nn.Linear(hidden, intermediate)
        self.out = nn.Linear(intermediate, hidden)
        self.out_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.heads

        def split(z: torch.Tensor) -> torch.Tensor:
            return z.view(b, t, h, d // h).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // h) + bias
        ctx = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = self.attn_norm(x + self.attn_out(ctx))
        return self.out_norm(x + self.out(F.gelu(self.inter(x))))


class BertEncoder(nn.Module):
    """BERT embeddings plus transformer layers; ``forward`` returns the last hidden states.

    Parameters
    ----------
    vocab_size, hidden, layers, heads, intermediate, max_positions, type_vocab : int
        Sizes from the model's ``config.json``.
    eps : float
        Layer-norm epsilon.
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        hidden: int,
        layers: int,
        heads: int,
        intermediate: int,
        max_positions: int = 512,
        type_vocab: int = 2,
        eps: float = 1e-12,
    ) -> None:
        super().__init__()
        self.word = nn.Embedding(vocab_size, hidden)
        self.position = nn.Embedding(max_positions, hidden)
        self.token_type = nn.Embedding(type_vocab, hidden)
        self.emb_norm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(_Layer(hidden, heads, intermediate, eps) for _ in range(layers))
        self.hidden = hidden
        self.max_positions = max_positions

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        t = input_ids.shape[1]
        pos = torch.arange(t, device=input_ids.device)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word(input_ids) + self.position(pos)[None] + self.token_type(token_type_ids)
        x = self.emb_norm(x)
        mask = attention_mask.to(x.dtype)
        bias = ((1.0 - mask) * torch.finfo(x.dtype).min)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        return x

    @classmethod
    def from_hf(cls, config: Mapping, state: Mapping[str, np.ndarray]) -> BertEncoder:
        """Build from a Hugging Face BERT ``config.json`` dict and its weights.

        Keys may carry a ``bert.`` prefix; the pooler (unused) is ignored.
        """
        net = cls(
            vocab_size=int(config["vocab_size"]),
            hidden=int(config["hidden_size"]),
            layers=int(config["num_hidden_layers"]),
            heads=int(config["num_attention_heads"]),
            intermediate=int(config["intermediate_size"]),
            max_positions=int(config.get("max_position_embeddings", 512)),
            type_vocab=int(config.get("type_vocab_size", 2)),
            eps=float(config.get("layer_norm_eps", 1e-12)),
        )
        src = {k[5:] if k.startswith("bert.") else k: v for k, v in state.items()}
        names = {
            "word.weight": "embeddings.word_embeddings.weight",
            "position.weight": "embeddings.position_embeddings.weight",
            "token_type.weight": "embeddings.token_type_embeddings.weight",
            "emb_norm.weight": "embeddings.LayerNorm.weight",
            "emb_norm.bias": "embeddings.LayerNorm.bias",
        }
        per_layer = {
            "query": "attention.self.query",
            "key": "attention.self.key",
            "value": "attention.self.value",
            "attn_out": "attention.output.dense",
            "attn_norm": "attention.output.LayerNorm",
            "inter": "intermediate.dense",
            "out": "output.dense",
            "out_norm": "output.LayerNorm",
        }
        for i in range(len(net.layers)):
            for ours, theirs in per_layer.items():
                for p in ("weight", "bias"):
                    names[f"layers.{i}.{ours}.{p}"] = f"encoder.layer.{i}.{theirs}.{p}"
        missing = [theirs for theirs in names.values() if theirs not in src]
        if missing:
            raise KeyError(f"BERT weights lack {len(missing)} tensors, e.g. {missing[:3]}.")
        net.load_state_dict(
            {ours: torch.from_numpy(np.array(src[theirs])) for ours, theirs in names.items()},
            strict=True,
        )
        return net.eval()


class MeanPooledBert(nn.Module):
    """BERT followed by mean pooling under the attention mask.

    ``forward`` takes the mapping made by the text backbone's ``collate``
    (``input_ids``, ``attention_mask``, optional ``token_type_ids``) and returns
    ``(B, hidden)`` sentence features.
    """

    def __init__(self, encoder: BertEncoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.num_features = encoder.hidden

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        mask = batch["attention_mask"]
        hidden = self.encoder(batch["input_ids"], mask, batch.get("token_type_ids"))
        m = mask.to(hidden.dtype).unsqueeze(-1)
        return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp_min(1e-9)
