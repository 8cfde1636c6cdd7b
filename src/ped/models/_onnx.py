"""ONNX helpers: expose an inner tensor as a graph output and open an onnxruntime session."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UnknownModelError

__all__ = ["OnnxGraph", "open_graph"]

logger = logging.getLogger(__name__)


class OnnxGraph:
    """An ONNX model prepared to return one chosen tensor.

    Parameters
    ----------
    path : Path
        The ``.onnx`` file.
    tensor : str or None
        Name of the tensor to read (any node output, or a graph output); None reads the
        first graph output.
    spec : str
        The spec being loaded (for error messages).
    """

    def __init__(self, path: Path, tensor: str | None, *, spec: str) -> None:
        import onnx

        model = onnx.load(str(path))
        outputs = [o.name for o in model.graph.output]
        if tensor is None or tensor == "":
            tensor = outputs[0]
        if tensor not in outputs:
            produced = [o for n in model.graph.node for o in n.output if o]
            if tensor not in produced:
                sample = ", ".join(repr(t) for t in (outputs + produced[-8:])[:10])
                raise UnknownModelError(
                    f"The ONNX model {path} of spec {spec!r} has no tensor named {tensor!r}; "
                    f"its tensors include {sample}: name one of them after '#'."
                )
            model.graph.output.append(onnx.ValueInfoProto(name=tensor))
        self.path = Path(path)
        self.tensor = tensor
        self.model_bytes = model.SerializeToString()
        inp = [
            i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}
        ]
        self.input_name = inp[0].name
        self.input_shape: list[int | str | None] = [
            (d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
            for d in inp[0].type.tensor_type.shape.dim
        ]
        self.inputs = [i.name for i in inp]

    def session(self, providers: Sequence[str] = ("CPUExecutionProvider",)) -> Any:
        """An ``onnxruntime.InferenceSession`` over the prepared graph."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        available = set(ort.get_available_providers())
        chosen = [p for p in providers if (p[0] if isinstance(p, tuple) else p) in available] or [
            "CPUExecutionProvider"
        ]
        if list(chosen) != list(providers):
            logger.info("onnxruntime providers %s not available; using %s", providers, chosen)
        return ort.InferenceSession(self.model_bytes, sess_options=opts, providers=chosen)

    def fixed_hw(self) -> tuple[int | None, int | None]:
        """The input's fixed height and width (None where the graph leaves it free)."""
        shape = self.input_shape
        if len(shape) != 4:
            return None, None

        def fixed(v: Any) -> int | None:
            return v if isinstance(v, int) and v > 0 else None

        return fixed(shape[2]), fixed(shape[3])

    def batch_one(self) -> bool:
        """True when the graph's batch axis is fixed at 1."""
        return bool(self.input_shape) and self.input_shape[0] == 1


def open_graph(path: str | Path, tensor: str | None, *, spec: str) -> OnnxGraph:
    """Prepare ``path`` to return ``tensor``; see :class:`OnnxGraph`."""
    return OnnxGraph(Path(path), tensor, spec=spec)
