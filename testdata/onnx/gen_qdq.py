"""Builds the QDQ models the ONNX importer is tested on, with onnx.helper,
and their expected outputs from a numpy reference evaluator of ONNX's
QuantizeLinear / DequantizeLinear arithmetic.

Run with Debian's onnx and numpy (from the repository root):

    /usr/bin/python3 testdata/onnx/gen_qdq.py

It writes, all committed so that `go test ./onnx` needs no Python:

- qdq_round.onnx: x [8] -> QuantizeLinear (scale 0.5, int8 zero point 1)
  -> y, and DequantizeLinear(y) -> z: ties, saturation, an int8 type.
- qdq_mlp.onnx, qdq_mlp.in.npy, qdq_mlp.out.npy: an MLP in the QDQ form
  ONNX Runtime's static quantizer writes (activations uint8 per tensor,
  weights int8 symmetric per output channel with axis 1 for MatMul's
  [in, out] weight, int32 biases at input scale x weight scale through
  DequantizeLinear, a QuantizeLinear/DequantizeLinear pair after each
  layer), checked by onnx.checker; copied to examples/onnx as
  qdq_mlp.onnx and qdq_x.npy for the README.
"""
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)


def quantize(x, scale, zp, lo=0, hi=255, axis=None):
    """ONNX QuantizeLinear: saturate(round_half_even(x / scale) + zp)."""
    if axis is not None:
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    q = np.rint(x.astype(np.float32) / np.float32(scale)) + zp.astype(np.float32)
    return np.clip(q, lo, hi)


def dequantize(q, scale, zp, axis=None):
    """ONNX DequantizeLinear: (q - zp) * scale."""
    if axis is not None:
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return ((q.astype(np.float32) - zp.astype(np.float32)) * scale).astype(np.float32)


def save(model, name):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name))


def round_model():
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["y"]),
        helper.make_node("DequantizeLinear", ["y", "s", "zp"], ["z"]),
    ]
    inits = [
        numpy_helper.from_array(np.array(0.5, np.float32), "s"),
        numpy_helper.from_array(np.array(1, np.int8), "zp"),
    ]
    g = helper.make_graph(nodes, "qdq_round",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8])],
                          [helper.make_tensor_value_info("y", TensorProto.INT8, [8]),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, [8])], inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), "qdq_round.onnx")


def mlp_model():
    dims = [12, 16, 4]
    x = rng.standard_normal((6, dims[0])).astype(np.float32)
    nodes, inits = [], []
    ref = x
    # The input's range, as calibration would find it.
    s_in, zp_in = np.float32((ref.max() - ref.min()) / 255), np.uint8(np.rint(-ref.min() / ((ref.max() - ref.min()) / 255)))
    inits += [numpy_helper.from_array(np.array(s_in), "x_scale"), numpy_helper.from_array(np.array(zp_in), "x_zero_point")]
    nodes += [helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zero_point"], ["x_q"]),
              helper.make_node("DequantizeLinear", ["x_q", "x_scale", "x_zero_point"], ["x_dq"])]
    ref = dequantize(quantize(ref, s_in, zp_in), s_in, zp_in)
    cur, s_cur = "x_dq", s_in
    for i in range(len(dims) - 1):
        last = i == len(dims) - 2
        w = (rng.standard_normal((dims[i], dims[i + 1])) / np.sqrt(dims[i])).astype(np.float32)
        b = (rng.standard_normal(dims[i + 1]) * 0.1).astype(np.float32)
        ws = (np.abs(w).max(axis=0) / 127).astype(np.float32)
        wq = quantize(w, ws, np.zeros(dims[i + 1], np.int8), -127, 127, axis=1).astype(np.int8)
        bs = (s_cur * ws).astype(np.float32)
        bq = np.rint(b / bs).astype(np.int32)
        p = f"fc{i + 1}"
        inits += [numpy_helper.from_array(wq, p + ".weight_quantized"),
                  numpy_helper.from_array(ws, p + ".weight_scale"),
                  numpy_helper.from_array(np.zeros(dims[i + 1], np.int8), p + ".weight_zero_point"),
                  numpy_helper.from_array(bq, p + ".bias_quantized"),
                  numpy_helper.from_array(bs, p + ".bias_scale"),
                  numpy_helper.from_array(np.zeros(dims[i + 1], np.int32), p + ".bias_zero_point")]
        nodes += [helper.make_node("DequantizeLinear", [p + ".weight_quantized", p + ".weight_scale", p + ".weight_zero_point"], [p + ".weight"], axis=1),
                  helper.make_node("DequantizeLinear", [p + ".bias_quantized", p + ".bias_scale", p + ".bias_zero_point"], [p + ".bias"], axis=0),
                  helper.make_node("MatMul", [cur, p + ".weight"], [p + ".mm"]),
                  helper.make_node("Add", [p + ".mm", p + ".bias"], [p + ".out"])]
        h = ref @ dequantize(wq, ws, np.zeros(dims[i + 1], np.int8), axis=1) + dequantize(bq, bs, np.zeros(dims[i + 1], np.int32), axis=0)
        out = p + ".out"
        if not last:
            nodes.append(helper.make_node("Relu", [out], [p + ".relu"]))
            out, h = p + ".relu", np.maximum(h, 0)
            s_h = np.float32(h.max() / 255)
            inits += [numpy_helper.from_array(np.array(s_h), p + ".output_scale"),
                      numpy_helper.from_array(np.array(0, np.uint8), p + ".output_zero_point")]
            nodes += [helper.make_node("QuantizeLinear", [out, p + ".output_scale", p + ".output_zero_point"], [p + ".q"]),
                      helper.make_node("DequantizeLinear", [p + ".q", p + ".output_scale", p + ".output_zero_point"], [p + ".dq"])]
            h = dequantize(quantize(h.astype(np.float32), s_h, np.uint8(0)), s_h, np.uint8(0))
            out, s_cur = p + ".dq", s_h
        ref, cur = h.astype(np.float32), out
    nodes.append(helper.make_node("Identity", [cur], ["y"]))
    g = helper.make_graph(nodes, "qdq_mlp",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", dims[0]])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", dims[-1]])], inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), "qdq_mlp.onnx")
    np.save(os.path.join(HERE, "qdq_mlp.in.npy"), x)
    np.save(os.path.join(HERE, "qdq_mlp.out.npy"), ref)
    examples = os.path.join(HERE, "..", "..", "examples", "onnx")
    shutil.copy(os.path.join(HERE, "qdq_mlp.onnx"), examples)
    np.save(os.path.join(examples, "qdq_x.npy"), x)


round_model()
mlp_model()
