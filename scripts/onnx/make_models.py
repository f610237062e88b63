#!/usr/bin/env python3
"""Writes the ONNX test models for vseg's importer and oracle tests.

Uses only `onnx` and `numpy`: every weight is drawn from a seeded generator,
so the files are identical on every run. Usage:

    .venv/bin/python scripts/onnx/make_models.py [OUT_DIR]     (default .fixtures/onnx)

Models (all NCHW float32, batch 1):
  fcn_resnet18        d2l FCN: ResNet-18 trunk with BN, 1x1 conv to 21 classes,
                      ConvTranspose k=64 s=32 p=16 initialised as bilinear upsampling; 1x3x320x480; opset 17
  unet                small U-Net, skip concats, 2x2 transposed convs, softmax; 1x3x256x256; opset 13
  unet_external       the U-Net saved with external data (unet_external.onnx + unet_external.data)
  lraspp              LRASPP-like MobileNetV3 head (HardSwish, HardSigmoid, GlobalAveragePool, Mul, Resize); opset 18
  lraspp_opset11      the same network at opset 11 (HardSwish written as x*HardSigmoid(x), Resize with roi/scales/sizes)
  lraspp_typed        lraspp with initializers in typed fields: float_data unpacked, int64_data packed
  pytorch_resize      exported "the PyTorch way": Shape->Gather->Cast->Concat feeding Resize(sizes) and a
                      Reshape whose target comes from Shape->Gather->Unsqueeze->Concat; opset 11, dynamic H/W
  ops_misc            grouped/dilated/depthwise-multiplier convs, SAME_UPPER, pools (ceil_mode,
                      count_include_pad), Pad reflect/edge, LeakyRelu, PRelu, Tanh, Clip, Sub/Div with
                      broadcast constants, nearest/align_corners Resize, Transpose, Flatten; opset 13
  upsample9           Upsample (opset 9 style scales input), nearest and linear
  deconv_misc         ConvTranspose with output_padding, asymmetric pads, output_shape, groups; dilated MaxPool,
                      constant Pad with a value, HardSigmoid, ArgMax (keepdims), ReduceMean over C; opset 13
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    """Small helper that collects nodes and initializers with unique names."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.n = 0

    def name(self, prefix):
        self.n += 1
        return f"{prefix}_{self.n}"

    def const(self, array, prefix="c"):
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, n_out=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name("n_" + op_type), **attrs))
        return outs[0] if n_out == 1 else outs

    def conv(self, x, cin, cout, k, stride=1, pad=None, group=1, dilation=1, bias=True, **extra):
        pad = (k // 2) * dilation if pad is None else pad
        fan_in = cin // group * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // group, k, k)).astype(np.float32)
        inputs = [x, self.const(w, "w")]
        if bias:
            inputs.append(self.const(self.rng.normal(0, 0.1, cout).astype(np.float32), "b"))
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], group=group, dilations=[dilation, dilation])
        if "auto_pad" in extra:
            attrs["auto_pad"] = extra["auto_pad"]
        else:
            attrs["pads"] = [pad, pad, pad, pad]
        return self.op("Conv", inputs, **attrs)

    def bn(self, x, c):
        scale = self.rng.uniform(0.5, 1.5, c).astype(np.float32)
        bias = self.rng.normal(0, 0.1, c).astype(np.float32)
        mean = self.rng.normal(0, 0.1, c).astype(np.float32)
        var = self.rng.uniform(0.5, 1.5, c).astype(np.float32)
        return self.op("BatchNormalization", [x, self.const(scale, "bn_s"), self.const(bias, "bn_b"),
                                              self.const(mean, "bn_m"), self.const(var, "bn_v")], epsilon=1e-5)

    def model(self, inputs, outputs, opset, name):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="vseg-make_models")
        m.ir_version = 7 if opset <= 13 else 8 if opset <= 17 else 9
        onnx.checker.check_model(m)
        return m


def tensor(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def bilinear_kernel(in_ch, out_ch, k):
    """d2l's bilinear_kernel: upsampling filter on the diagonal channels."""
    factor = (k + 1) // 2
    center = factor - 1 if k % 2 == 1 else factor - 0.5
    og = (np.arange(k).reshape(-1, 1), np.arange(k).reshape(1, -1))
    filt = (1 - np.abs(og[0] - center) / factor) * (1 - np.abs(og[1] - center) / factor)
    w = np.zeros((in_ch, out_ch, k, k), dtype=np.float32)
    w[range(in_ch), range(out_ch), :, :] = filt
    return w


def fcn_resnet18():
    b = Builder(1)
    x = b.op("Relu", [b.bn(b.conv("input", 3, 64, 7, stride=2, pad=3, bias=False), 64)])
    x = b.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        for block in range(2):
            s = stride if block == 0 else 1
            y = b.op("Relu", [b.bn(b.conv(x, cin, cout, 3, stride=s, bias=False), cout)])
            y = b.bn(b.conv(y, cout, cout, 3, bias=False), cout)
            short = x
            if s != 1 or cin != cout:
                short = b.bn(b.conv(x, cin, cout, 1, stride=s, pad=0, bias=False), cout)
            x = b.op("Relu", [b.op("Add", [y, short])])
            cin = cout
    x = b.conv(x, 512, 21, 1, pad=0)
    w = b.const(bilinear_kernel(21, 21, 64), "up_w")
    out = b.op("ConvTranspose", [x, w], kernel_shape=[64, 64], strides=[32, 32], pads=[16, 16, 16, 16])
    b.nodes[-1].output[0] = "output"
    return b.model([tensor("input", [1, 3, 320, 480])], [tensor("output", [1, 21, 320, 480])], 17, "fcn_resnet18")


def unet():
    b = Builder(2)

    def double(x, cin, cout):
        x = b.op("Relu", [b.conv(x, cin, cout, 3)])
        return b.op("Relu", [b.bn(b.conv(x, cout, cout, 3, bias=False), cout)])

    skips = []
    x, cin = "input", 3
    for c in [16, 32, 64]:
        x = double(x, cin, c)
        skips.append((x, c))
        x = b.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
        cin = c
    x = double(x, cin, 128)
    cin = 128
    for skip, c in reversed(skips):
        w = b.rng.normal(0, np.sqrt(1.0 / (cin * 4)), (cin, c, 2, 2)).astype(np.float32)
        bias = b.rng.normal(0, 0.1, c).astype(np.float32)
        up = b.op("ConvTranspose", [x, b.const(w, "tw"), b.const(bias, "tb")], kernel_shape=[2, 2], strides=[2, 2])
        x = b.op("Concat", [up, skip], axis=1)
        x = double(x, 2 * c, c)
        cin = c
    logits = b.conv(x, cin, 4, 1, pad=0)
    b.nodes[-1].output[0] = "logits"
    b.op("Softmax", ["logits"], axis=1)
    b.nodes[-1].output[0] = "probs"
    return b.model([tensor("input", [1, 3, 256, 256])],
                   [tensor("logits", [1, 4, 256, 256]), tensor("probs", [1, 4, 256, 256])], 13, "unet")


def lraspp(opset):
    b = Builder(3)

    def hswish(x):
        if opset >= 14:
            return b.op("HardSwish", [x])
        return b.op("Mul", [x, b.op("HardSigmoid", [x], alpha=1.0 / 6, beta=0.5)])

    def resize_to(x, hw):
        if opset >= 13:
            sizes = b.const(np.array([1, x[1], hw[0], hw[1]], dtype=np.int64), "sizes")
            return b.op("Resize", [x[0], "", "", sizes], mode="linear",
                        coordinate_transformation_mode="half_pixel")
        roi = b.const(np.zeros(0, dtype=np.float32), "roi")
        scales = b.const(np.zeros(0, dtype=np.float32), "scales")
        sizes = b.const(np.array([1, x[1], hw[0], hw[1]], dtype=np.int64), "sizes")
        return b.op("Resize", [x[0], roi, scales, sizes], mode="linear",
                    coordinate_transformation_mode="pytorch_half_pixel")

    def se(x, c):
        s = b.op("GlobalAveragePool", [x])
        s = b.op("Relu", [b.conv(s, c, c // 4, 1, pad=0)])
        s = b.op("HardSigmoid", [b.conv(s, c // 4, c, 1, pad=0)], alpha=1.0 / 6, beta=0.5)
        return b.op("Mul", [x, s])

    def block(x, cin, cexp, cout, k, stride, use_se, act):
        y = act(b.bn(b.conv(x, cin, cexp, 1, pad=0, bias=False), cexp))
        y = act(b.bn(b.conv(y, cexp, cexp, k, stride=stride, group=cexp, bias=False), cexp))
        if use_se:
            y = se(y, cexp)
        y = b.bn(b.conv(y, cexp, cout, 1, pad=0, bias=False), cout)
        if stride == 1 and cin == cout:
            y = b.op("Add", [x, y])
        return y

    relu = lambda t: b.op("Relu", [t])
    x = hswish(b.bn(b.conv("input", 3, 16, 3, stride=2, bias=False), 16))         # /2
    x = block(x, 16, 16, 16, 3, 1, False, relu)
    x = block(x, 16, 64, 24, 3, 2, False, relu)                                     # /4
    low = block(x, 24, 72, 24, 3, 1, False, relu)
    x = block(low, 24, 72, 40, 5, 2, True, relu)                                    # /8
    x = block(x, 40, 120, 40, 5, 1, True, hswish)
    high = block(x, 40, 120, 48, 3, 2, True, hswish)                                # /16
    h, w = 224, 288
    # LRASPP head
    cbr = b.op("Relu", [b.bn(b.conv(high, 48, 32, 1, pad=0, bias=False), 32)])
    scale = b.op("GlobalAveragePool", [high])
    scale = b.op("Sigmoid", [b.conv(scale, 48, 32, 1, pad=0, bias=False)])
    y = b.op("Mul", [cbr, scale])
    y = resize_to((y, 32), (h // 4, w // 4))
    y = b.op("Add", [b.conv(low, 24, 6, 1, pad=0), b.conv(y, 32, 6, 1, pad=0)])
    out = resize_to((y, 6), (h, w))
    b.nodes[-1].output[0] = "out"
    return b.model([tensor("input", [1, 3, h, w])], [tensor("out", [1, 6, h, w])], opset, f"lraspp{opset}")


def pytorch_resize():
    """What torch.onnx.export(opset 11) writes for F.interpolate(x, size=skip.shape[2:]) and x.view(n, c, -1)."""
    b = Builder(4)
    x = b.op("Relu", [b.conv("input", 3, 8, 3, stride=2)])
    x = b.op("Relu", [b.conv(x, 8, 8, 3, stride=2)])
    skip = b.conv("input", 3, 8, 1, pad=0)
    shape = b.op("Shape", [skip])
    hs = b.op("Gather", [shape, b.const(np.array(2, dtype=np.int64), "idx")], axis=0)
    ws = b.op("Gather", [shape, b.const(np.array(3, dtype=np.int64), "idx")], axis=0)
    hs = b.op("Unsqueeze", [hs], axes=[0])
    ws = b.op("Unsqueeze", [ws], axes=[0])
    hw = b.op("Concat", [hs, ws], axis=0)
    xshape = b.op("Shape", [x])
    nc = b.op("Slice", [xshape, b.const(np.array([0], dtype=np.int64), "st"),
                        b.const(np.array([2], dtype=np.int64), "en"), b.const(np.array([0], dtype=np.int64), "ax")])
    sizes = b.op("Concat", [b.op("Cast", [nc], to=TensorProto.INT64), hw], axis=0)
    roi = b.const(np.zeros(0, dtype=np.float32), "roi")
    scales = b.const(np.zeros(0, dtype=np.float32), "scales")
    up = b.op("Resize", [x, roi, scales, sizes], mode="linear", coordinate_transformation_mode="pytorch_half_pixel")
    y = b.op("Add", [up, skip])
    b.nodes[-1].output[0] = "feature"
    # x.view(n, c, -1) then softmax over the flattened pixels
    n = b.op("Unsqueeze", [b.op("Gather", [b.op("Shape", ["feature"]), b.const(np.array(0, dtype=np.int64), "i")],
                                    axis=0)], axes=[0])
    c = b.op("Unsqueeze", [b.op("Gather", [b.op("Shape", ["feature"]), b.const(np.array(1, dtype=np.int64), "i")],
                                    axis=0)], axes=[0])
    minus1 = b.op("Constant", [], value=numpy_helper.from_array(np.array([-1], dtype=np.int64)))
    target = b.op("Concat", [n, c, minus1], axis=0)
    flat = b.op("Reshape", ["feature", target])
    b.op("Softmax", [flat], axis=2)
    b.nodes[-1].output[0] = "attention"
    return b.model([tensor("input", [1, 3, "height", "width"])],
                   [tensor("feature", [1, 8, "height", "width"]), tensor("attention", [1, 8, None])],
                   11, "pytorch_resize")


def ops_misc():
    b = Builder(5)
    x = b.conv("input", 4, 8, 3, dilation=2, group=2)                                     # grouped + dilated
    x = b.op("LeakyRelu", [x], alpha=0.1)
    x = b.conv(x, 8, 16, 3, group=8, bias=True)                                            # depthwise, multiplier 2
    slope = b.const(b.rng.uniform(0.05, 0.3, (16, 1, 1)).astype(np.float32), "slope")
    x = b.op("PRelu", [x, slope])
    x = b.conv(x, 16, 12, 3, stride=2, auto_pad="SAME_UPPER")                              # 20x24 -> 10x12
    x = b.op("Sub", [x, b.const(b.rng.normal(0, 0.2, (1, 12, 1, 1)).astype(np.float32), "sub")])
    x = b.op("Div", [x, b.const(b.rng.uniform(0.5, 2, (12, 1, 1)).astype(np.float32), "div")])
    x = b.op("Tanh", [x])
    p1 = b.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)           # 10x12 -> 5x6
    p2 = b.op("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
    p3 = b.op("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    y = b.op("Concat", [p1, p2, p3], axis=1)                                               # 36 x 5 x 6
    y = b.op("Pad", [y, b.const(np.array([0, 0, 1, 2, 0, 0, 1, 2], dtype=np.int64), "pads")], mode="reflect")
    y = b.op("Clip", [y, b.const(np.array(-0.5, dtype=np.float32), "lo"),
                      b.const(np.array(0.6, dtype=np.float32), "hi")])                    # 7 x 10
    y = b.op("Pad", [y, b.const(np.array([0, 0, 1, 0, 0, 0, 0, 1], dtype=np.int64), "pads")], mode="edge")
    r1 = b.op("Resize", [y, "", b.const(np.array([1, 1, 2, 2], dtype=np.float32), "sc")], mode="nearest",
              coordinate_transformation_mode="asymmetric", nearest_mode="floor")           # 16 x 22
    r2 = b.op("Resize", [y, "", "", b.const(np.array([1, 36, 16, 22], dtype=np.int64), "sz")], mode="linear",
              coordinate_transformation_mode="align_corners")
    r3 = b.op("Resize", [y, "", "", b.const(np.array([1, 36, 16, 22], dtype=np.int64), "sz")], mode="nearest",
              coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_ceil")
    z = b.op("Add", [b.op("Mul", [r1, r2]), r3])
    z = b.op("Sigmoid", [z])
    b.nodes[-1].output[0] = "spatial"
    t = b.op("Transpose", [y], perm=[0, 2, 3, 1])                                          # 1 x 8 x 11 x 36 -> flat 8 x 396
    b.op("Flatten", [t], axis=2)
    b.nodes[-1].output[0] = "flat"
    return b.model([tensor("input", [1, 4, 20, 24])],
                   [tensor("spatial", [1, 36, 16, 22]), tensor("flat", [8, 396])], 13, "ops_misc")


def deconv_misc():
    """ConvTranspose variants (output_padding, asymmetric pads, output_shape, groups, dilation) and a few
    more layout-sensitive ops (dilated MaxPool, constant Pad with a value, ArgMax, ReduceMean)."""
    b = Builder(7)

    def tconv(x, cin, cout, k, group=1, **attrs):
        w = b.rng.normal(0, np.sqrt(1.0 / (cin * k * k)), (cin, cout // group, k, k)).astype(np.float32)
        bias = b.const(b.rng.normal(0, 0.1, cout).astype(np.float32), "tb")
        return b.op("ConvTranspose", [x, b.const(w, "tw"), bias], kernel_shape=[k, k], group=group, **attrs)

    x = b.op("Relu", [b.conv("input", 4, 8, 3)])                                                  # 8 x 7 x 9
    a = tconv(x, 8, 6, 3, strides=[2, 2], pads=[1, 0, 1, 2], output_padding=[1, 0])               # 6 x 14 x 17
    c = tconv(x, 8, 6, 3, strides=[2, 2], output_shape=[14, 17])                                  # 6 x 14 x 17
    d = tconv(x, 8, 6, 3, group=2, strides=[2, 2], pads=[1, 1, 0, 2], output_padding=[0, 1])
    y = b.op("Add", [b.op("Add", [a, c]), d])
    y = b.op("MaxPool", [y], kernel_shape=[2, 2], strides=[1, 1], dilations=[2, 2], pads=[1, 1, 1, 1])
    y = b.op("Pad", [y, b.const(np.array([0, 0, 1, 0, 0, 0, 0, 2], dtype=np.int64), "pads"),
                     b.const(np.array(0.25, dtype=np.float32), "pv")], mode="constant")
    y = b.op("HardSigmoid", [y], alpha=0.3, beta=0.4)
    b.nodes[-1].output[0] = "features"
    b.op("ArgMax", ["features"], axis=1, keepdims=1)
    b.nodes[-1].output[0] = "classes"
    b.op("ReduceMean", ["features"], axes=[1], keepdims=1)
    b.nodes[-1].output[0] = "mean"
    return b.model([tensor("input", [1, 4, 7, 9])],
                   [tensor("features", [1, 6, 15, 19]),
                    helper.make_tensor_value_info("classes", TensorProto.INT64, [1, 1, 15, 19]),
                    tensor("mean", [1, 1, 15, 19])], 13, "deconv_misc")


def upsample9():
    b = Builder(6)
    x = b.op("Relu", [b.conv("input", 3, 4, 3)])
    scales = b.const(np.array([1, 1, 2, 3], dtype=np.float32), "scales")
    a = b.op("Upsample", [x, scales], mode="nearest")
    c = b.op("Upsample", [x, scales], mode="linear")
    b.op("Add", [a, c])
    b.nodes[-1].output[0] = "out"
    graph = helper.make_graph(b.nodes, "upsample9", [tensor("input", [1, 3, 8, 10])], [tensor("out", [1, 4, 16, 30])],
                              b.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], producer_name="vseg-make_models")
    m.ir_version = 4
    onnx.checker.check_model(m)
    return m


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field_bytes(field, payload):
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def save_typed(model, path):
    """Saves `model` with initializers in typed fields instead of raw_data: float_data written
    UNPACKED (one fixed32 field per value, as old protobuf writers do), int64_data packed.
    The python protobuf runtime always packs these fields, so the bytes are put together here."""
    inits = []
    for t in model.graph.initializer:
        arr = numpy_helper.to_array(t)
        bare = TensorProto()
        bare.CopyFrom(t)
        bare.ClearField("raw_data")
        body = bytearray()
        if t.data_type == TensorProto.FLOAT:
            body += bare.SerializeToString()
            for v in arr.astype("<f4").flatten():
                body += b"\x25" + v.tobytes()                 # field 4 (float_data), wire type 5
        else:
            bare.int64_data.extend(arr.astype(np.int64).flatten().tolist())
            body += bare.SerializeToString()
        inits.append(_field_bytes(5, bytes(body)))           # GraphProto.initializer = 5
    graph = onnx.GraphProto()
    graph.CopyFrom(model.graph)
    graph.ClearField("initializer")
    graph_bytes = graph.SerializeToString() + b"".join(inits)
    shell = onnx.ModelProto()
    shell.CopyFrom(model)
    shell.ClearField("graph")
    data = shell.SerializeToString() + _field_bytes(7, graph_bytes)   # ModelProto.graph = 7
    check = onnx.load_from_string(data)
    assert len(check.graph.initializer) == len(model.graph.initializer)
    with open(path, "wb") as f:
        f.write(data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(".fixtures", "onnx")
    os.makedirs(out, exist_ok=True)
    models = {
        "fcn_resnet18": fcn_resnet18(),
        "unet": unet(),
        "lraspp": lraspp(18),
        "lraspp_opset11": lraspp(11),
        "pytorch_resize": pytorch_resize(),
        "ops_misc": ops_misc(),
        "upsample9": upsample9(),
        "deconv_misc": deconv_misc(),
    }
    for name, m in models.items():
        onnx.save(m, os.path.join(out, name + ".onnx"))
    save_typed(lraspp(18), os.path.join(out, "lraspp_typed.onnx"))
    ext = unet()
    data = "unet_external.data"
    if os.path.exists(os.path.join(out, data)):
        os.remove(os.path.join(out, data))
    onnx.save(ext, os.path.join(out, "unet_external.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location=data, size_threshold=64)
    print("wrote", len(models) + 2, "models to", out)


if __name__ == "__main__":
    main()
