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
- qdq_mlp_s8.onnx: the same MLP with int8 activations (ONNX Runtime's
  QInt8: zero points 128 less, the same real values), whose outputs are
  qdq_mlp.out.npy.
- qdq_cnn.onnx, qdq_cnn.in.npy, qdq_cnn.out.npy: a CNN in the same form
  (Conv with padding, Relu, MaxPool and Flatten between QuantizeLinear /
  DequantizeLinear pairs of one scale, weights per output channel along
  axis 0, a Gemm with transB), and qdq_cnn_s8.onnx with int8 activations.

The importer runs these on nnc's int8 kernels (onnx/qdqint8.go); the
reference evaluates ONNX's float arithmetic (in float64, rounded to
float32 after each op).
"""
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


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


def mlp_model(act=np.uint8, name="qdq_mlp"):
    """act is the activations' type: with int8 the zero points are 128
    less, the real values the same."""
    rng = np.random.default_rng(0)
    shift = 128 if act == np.int8 else 0
    dims = [12, 16, 4]
    x = rng.standard_normal((6, dims[0])).astype(np.float32)
    nodes, inits = [], []
    ref = x
    # The input's range, as calibration would find it.
    s_in, zp_in = np.float32((ref.max() - ref.min()) / 255), np.uint8(np.rint(-ref.min() / ((ref.max() - ref.min()) / 255)))
    inits += [numpy_helper.from_array(np.array(s_in), "x_scale"), numpy_helper.from_array(np.array(int(zp_in) - shift, act), "x_zero_point")]
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
                      numpy_helper.from_array(np.array(0 - shift, act), p + ".output_zero_point")]
            nodes += [helper.make_node("QuantizeLinear", [out, p + ".output_scale", p + ".output_zero_point"], [p + ".q"]),
                      helper.make_node("DequantizeLinear", [p + ".q", p + ".output_scale", p + ".output_zero_point"], [p + ".dq"])]
            h = dequantize(quantize(h.astype(np.float32), s_h, np.uint8(0)), s_h, np.uint8(0))
            out, s_cur = p + ".dq", s_h
        ref, cur = h.astype(np.float32), out
    nodes.append(helper.make_node("Identity", [cur], ["y"]))
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", dims[0]])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", dims[-1]])], inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), name + ".onnx")
    if name != "qdq_mlp":
        return
    np.save(os.path.join(HERE, "qdq_mlp.in.npy"), x)
    np.save(os.path.join(HERE, "qdq_mlp.out.npy"), ref)
    examples = os.path.join(HERE, "..", "..", "examples", "onnx")
    shutil.copy(os.path.join(HERE, "qdq_mlp.onnx"), examples)
    np.save(os.path.join(examples, "qdq_x.npy"), x)


def conv2d(x, w, b, pad):
    """Conv (NCHW, stride 1, pads alike) in float64, rounded to float32."""
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    oh, ow = h - k + 1, wd - k + 1
    y = np.zeros((n, o, oh, ow))
    for i in range(k):
        for j in range(k):
            y += np.einsum("nchw,oc->nohw", x[:, :, i:i + oh, j:j + ow], w[:, :, i, j].astype(np.float64))
    return (y + b.astype(np.float64).reshape(1, -1, 1, 1)).astype(np.float32)


def maxpool2(x):
    n, c, h, w = x.shape
    return x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def cnn_model(act=np.uint8, name="qdq_cnn"):
    """x [N, 2, 8, 8] -> Conv 4x3x3 pad 1 -> Relu -> MaxPool 2 -> Conv
    6x3x3 -> Relu -> Flatten -> Gemm 3 (transB): every activation between
    a QuantizeLinear and a DequantizeLinear, as ONNX Runtime writes QDQ."""
    rng = np.random.default_rng(1)
    shift = 128 if act == np.int8 else 0
    x = rng.standard_normal((5, 2, 8, 8)).astype(np.float32)
    nodes, inits = [], []

    def qdq(t, ref, p, lo=None, hi=None, scale=None, zp=None):
        """QuantizeLinear/DequantizeLinear of t (values ref) over the
        range [lo, hi] (else the given scale and u8 zero point)."""
        if scale is None:
            lo, hi = min(float(ref.min()), 0.0), max(float(ref.max()), 0.0)
            scale = np.float32((hi - lo) / 255)
            zp = int(np.clip(np.rint(-lo / scale), 0, 255))
        inits.extend([numpy_helper.from_array(np.array(scale, np.float32), p + "_scale"),
                      numpy_helper.from_array(np.array(zp - shift, act), p + "_zero_point")])
        nodes.extend([helper.make_node("QuantizeLinear", [t, p + "_scale", p + "_zero_point"], [p + "_q"]),
                      helper.make_node("DequantizeLinear", [p + "_q", p + "_scale", p + "_zero_point"], [p + "_dq"])])
        u8 = np.array(zp, np.uint8)
        return p + "_dq", dequantize(quantize(ref, scale, u8), scale, u8), scale, zp

    def weights(p, w, b, s_in):
        out = w.shape[0]
        ws = (np.abs(w.reshape(out, -1)).max(axis=1) / 127).astype(np.float32)
        wq = quantize(w, ws, np.zeros(out, np.int8), -127, 127, axis=0).astype(np.int8)
        bs = (np.float32(s_in) * ws).astype(np.float32)
        bq = np.rint(b / bs).astype(np.int32)
        inits.extend([numpy_helper.from_array(wq, p + ".weight_quantized"),
                      numpy_helper.from_array(ws, p + ".weight_scale"),
                      numpy_helper.from_array(np.zeros(out, np.int8), p + ".weight_zero_point"),
                      numpy_helper.from_array(bq, p + ".bias_quantized"),
                      numpy_helper.from_array(bs, p + ".bias_scale"),
                      numpy_helper.from_array(np.zeros(out, np.int32), p + ".bias_zero_point")])
        nodes.extend([helper.make_node("DequantizeLinear", [p + ".weight_quantized", p + ".weight_scale", p + ".weight_zero_point"], [p + ".weight"], axis=0),
                      helper.make_node("DequantizeLinear", [p + ".bias_quantized", p + ".bias_scale", p + ".bias_zero_point"], [p + ".bias"], axis=0)])
        return dequantize(wq, ws, np.zeros(out, np.int8), axis=0), dequantize(bq, bs, np.zeros(out, np.int32), axis=0)

    cur, ref, s, zp = qdq("x", x, "x")
    # conv1: 4 channels, 3x3, pads 1, Relu.
    w1, b1 = weights("conv1", (rng.standard_normal((4, 2, 3, 3)) / 4).astype(np.float32), (rng.standard_normal(4) * 0.1).astype(np.float32), s)
    nodes += [helper.make_node("Conv", [cur, "conv1.weight", "conv1.bias"], ["conv1.out"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["conv1.out"], ["conv1.relu"])]
    cur, ref, s, zp = qdq("conv1.relu", np.maximum(conv2d(ref, w1, b1, 1), 0), "conv1.relu")
    nodes.append(helper.make_node("MaxPool", [cur], ["pool"], kernel_shape=[2, 2], strides=[2, 2]))
    cur, ref, s, zp = qdq("pool", maxpool2(ref), "pool", scale=s, zp=zp)
    # conv2: 6 channels, 3x3, no padding, Relu.
    w2, b2 = weights("conv2", (rng.standard_normal((6, 4, 3, 3)) / 6).astype(np.float32), (rng.standard_normal(6) * 0.1).astype(np.float32), s)
    nodes += [helper.make_node("Conv", [cur, "conv2.weight", "conv2.bias"], ["conv2.out"], kernel_shape=[3, 3]),
              helper.make_node("Relu", ["conv2.out"], ["conv2.relu"])]
    cur, ref, s, zp = qdq("conv2.relu", np.maximum(conv2d(ref, w2, b2, 0), 0), "conv2.relu")
    nodes.append(helper.make_node("Flatten", [cur], ["flat"], axis=1))
    cur, ref, s, zp = qdq("flat", ref.reshape(ref.shape[0], -1), "flat", scale=s, zp=zp)
    # fc: Gemm with transB, the output float.
    w3, b3 = weights("fc", (rng.standard_normal((3, 24)) / 5).astype(np.float32), (rng.standard_normal(3) * 0.1).astype(np.float32), s)
    nodes.append(helper.make_node("Gemm", [cur, "fc.weight", "fc.bias"], ["y"], transB=1))
    y = (ref.astype(np.float64) @ w3.T.astype(np.float64) + b3).astype(np.float32)
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), name + ".onnx")
    if name == "qdq_cnn":
        np.save(os.path.join(HERE, "qdq_cnn.in.npy"), x)
        np.save(os.path.join(HERE, "qdq_cnn.out.npy"), y)


round_model()
mlp_model()
mlp_model(np.int8, "qdq_mlp_s8")
cnn_model()
cnn_model(np.int8, "qdq_cnn_s8")
