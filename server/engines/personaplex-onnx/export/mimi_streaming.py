#!/usr/bin/env python3
"""
Exports NVIDIA/personaplex's Mimi as two streaming ONNX graphs with explicit state, so that the engine runs
Mimi as the reference streams it (`mimi.streaming(1)`, one 1920-sample frame per call) instead of re-running
the whole-utterance graphs on a window:

  mimi_encoder/model.onnx: waveform [B, 1, 1920] float32, state_in.* → codes [B, 8, 1] int64, state_out.*
  mimi_decoder/model.onnx: codes [B, 8, 1] int64, state_in.*         → waveform [B, 1, 1920] float32, state_out.*

Every `state_in.X` has a `state_out.X` of the same dtype and shape [B, ...]; all zeros is a fresh stream (the
reference's `reset_streaming()`), and each frame's `state_out` is the next frame's `state_in`. The state is:
  - `state_in.step` (int64 [B]): frames seen; the transformers' positions and the first frame's padding
    follow from it;
  - each streaming convolution's left context (the reference's `previous`) and each transposed
    convolution's pending overlap (its `partial`, kept without the bias);
  - each attention layer's keys and values over the last `context` - 1 (249) transformer steps: a sliding
    window of fixed size, masked and positioned as the reference's RingKVCache (whose oldest slot is never
    attended; see `_attention`).

The graphs run the reference's own modules; only the forwards that keep streaming state are swapped for
functional ones while tracing (`functional_streaming()`), which read `state_in` and write `state_out`
instead of Python attributes. The harness (tests/personaplex-onnx/reference/mimi_streaming.py) checks them
against the reference's own streaming.

Real weights (torch >= 2 with safetensors installed; the checkpoint is Mimi's `tokenizer-*.safetensors`):
  python3 server/engines/personaplex-onnx/export/mimi_streaming.py --personaplex PERSONAPLEX/moshi \
      --weights tokenizer-e351c8d8-checkpoint125.safetensors --out /models/personaplex-onnx
This writes mimi_encoder/ and mimi_decoder/ in the folder, replacing the mobius whole-utterance graphs
(keep a copy if you want to compare), then checks the export against the reference's own streaming on 12 s
of a test signal (`check`: codes exactly, decoded audio within 100 dB SNR; the ONNX graphs themselves only
where the Python onnxruntime is installed) and exits non-zero on a failure.
"""
import argparse
import contextlib
import inspect
import math
import os
import sys

import torch
import torch.nn.functional as F

FRAME = 1920


class _Ctx:
    """The state of one traced call: inputs by name, outputs by name, in first-use order."""

    def __init__(self, batch, state_in=None):
        self.batch = batch
        self.state_in = state_in  # None while discovering the layout (then zeros are made)
        self.specs = []  # (name, shape without batch, dtype)
        self.out = {}
        self.names = {}
        self.step = None

    def name(self, module, part):
        key = (id(module), part)
        if key not in self.names:
            self.names[key] = f"{getattr(module, '_parley_name', 'm')}.{part}"
        return self.names[key]

    def take(self, module, part, shape, dtype=torch.float32):
        n = self.name(module, part)
        if self.state_in is None:
            self.specs.append((n, tuple(shape), dtype))
            return torch.zeros((self.batch,) + tuple(shape), dtype=dtype)
        return self.state_in[n]

    def give(self, module, part, value):
        self.out[self.name(module, part)] = value


_CTX = None


def _conv1d(self, x):
    """RawStreamingConv1d: the left context (`previous`) comes from the state; T must be a multiple of the stride."""
    stride, dilation = self.stride[0], self.dilation[0]
    kernel = (self.kernel_size[0] - 1) * dilation + 1
    keep = kernel - stride
    T = x.shape[-1]
    assert T % stride == 0, f"{self._parley_name}: {T} steps do not divide by the stride {stride}"
    if keep > 0:
        prev = _CTX.take(self, "previous", (x.shape[1], keep))
        if getattr(self, "_parley_pad", "constant") == "replicate":
            # The reference pads the first frame with copies of its first step (ConvDownsample1d).
            first = (_CTX.step == 0).view(-1, 1, 1)
            prev = torch.where(first, x[..., :1].expand(-1, -1, keep), prev)
        x = torch.cat([prev, x], dim=-1)
        _CTX.give(self, "previous", x[..., x.shape[-1] - keep:])
    return F.conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _convtr1d(self, x):
    """RawStreamingConvTranspose1d: the overlap still to receive contributions (`partial`, without the bias)."""
    stride, kernel = self.stride[0], self.kernel_size[0]
    T = x.shape[-1]
    keep = kernel - stride
    y = F.conv_transpose1d(x, self.weight, None, self.stride, 0, 0, self.groups)
    if keep > 0:
        partial = _CTX.take(self, "partial", (y.shape[1], keep))
        y = torch.cat([y[..., :keep] + partial, y[..., keep:]], dim=-1)
        _CTX.give(self, "partial", y[..., stride * T:])
    y = y[..., :stride * T]
    if self.bias is not None:
        y = y + self.bias[:, None]
    return y


def _attention(self, query, key, value):
    """StreamingMultiheadAttention with the reference's RingKVCache semantics over a sliding window of `context` steps."""
    from einops import rearrange

    assert not self.weights_per_step and self.causal and self.context is not None
    B, T, _ = query.shape
    H, C = self.num_heads, self.context
    D = self.embed_dim // H
    projected = F.linear(query, self.in_proj_weight)
    q, k, v = rearrange(projected, "b t (p h d) -> p b h t d", p=3, h=H)
    offset = _CTX.step * T  # [B] transformer steps before this frame
    if self.rope is not None:
        q, k = _rope(q, k, offset, self.rope.max_period)
    # The reference's RingKVCache gives its oldest slot the position end_offset (its `delta <= 0` branch), so
    # that slot is always masked: once full, it attends to the last C - 1 steps. A sliding window of C - 1 slots
    # gives the same keys; slot j holds position offset + T - (C - 1) + j.
    W = C - 1
    ck = _CTX.take(self, "key", (H, W, D))
    cv = _CTX.take(self, "value", (H, W, D))
    k = torch.cat([ck, k], dim=2)[:, :, T:]
    v = torch.cat([cv, v], dim=2)[:, :, T:]
    _CTX.give(self, "key", k)
    _CTX.give(self, "value", v)
    j = torch.arange(W, dtype=torch.long)
    t = torch.arange(T, dtype=torch.long)
    pos_k = offset.view(B, 1) + (T - W) + j.view(1, W)
    pos_q = offset.view(B, 1) + t.view(1, T)
    delta = pos_q.view(B, T, 1) - pos_k.view(B, 1, W)
    allowed = (pos_k.view(B, 1, W) >= 0) & (delta >= 0) & (delta < C)
    s = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(D)
    s = s.masked_fill(~allowed.view(B, 1, T, W), float("-inf"))
    x = torch.matmul(torch.softmax(s, dim=-1), v)
    x = rearrange(x, "b h t d -> b t (h d)")
    return self.out_proj(x)


def _rope(q, k, offset, max_period):
    """moshi.modules.rope.apply_rope with one offset per batch row ([B, H, T, D] layout)."""
    B, H, T, D = q.shape
    ds = torch.arange(D // 2, dtype=torch.float32)
    freqs = torch.exp(ds * (-math.log(max_period) * 2 / D))
    ts = offset.float().view(B, 1) + torch.arange(T, dtype=torch.float32).view(1, T)
    ts = ts.view(B, 1, T, 1)
    q = q.view(B, H, T, D // 2, 2)
    k = k.view(B, H, T, D // 2, 2)
    qr, qi, kr, ki = q[..., 0].float(), q[..., 1].float(), k[..., 0].float(), k[..., 1].float()
    rotr, roti = torch.cos(freqs * ts), torch.sin(freqs * ts)
    qo = torch.stack([qr * rotr - qi * roti, qr * roti + qi * rotr], dim=-1)
    ko = torch.stack([kr * rotr - ki * roti, kr * roti + ki * rotr], dim=-1)
    return qo.view(B, H, T, D), ko.view(B, H, T, D)


def _nearest(self, x):
    """EuclideanCodebook._quantize without cdist (not exportable on torch 1.13); same distances, same argmin."""
    e = self.embedding.detach()
    d = (x * x).sum(-1, keepdim=True) - 2 * x @ e.t() + (e * e).sum(-1)[None]
    return d.argmin(dim=-1)


@contextlib.contextmanager
def functional_streaming(mimi):
    """Swaps the reference's stateful forwards for the functional ones above (restored on exit)."""
    from moshi.modules import streaming, conv, transformer
    from moshi.quantization import core_vq

    for name, m in mimi.named_modules():
        m._parley_name = name
        if isinstance(m, conv.StreamingConv1d):
            if m.pad_mode not in ("constant", "replicate"):
                raise ValueError(f"{name}: pad mode {m.pad_mode} is not supported by the streaming export")
            m.conv.conv._parley_pad = m.pad_mode
    swaps = [
        (streaming.RawStreamingConv1d, "forward", _conv1d),
        (streaming.RawStreamingConvTranspose1d, "forward", _convtr1d),
        (streaming.StreamingAdd, "forward", lambda self, x, y: x + y),
        (conv.StreamingConv1d, "forward", lambda self, x: self.conv(x)),
        (conv.StreamingConvTranspose1d, "forward", lambda self, x: self.convtr(x)),
        (transformer.StreamingMultiheadAttention, "forward", _attention),
        (core_vq.EuclideanCodebook, "_quantize", _nearest),
    ]
    saved = [(cls, attr, cls.__dict__[attr]) for cls, attr, _ in swaps]
    try:
        for cls, attr, fn in swaps:
            setattr(cls, attr, fn)
        yield
    finally:
        for cls, attr, fn in saved:
            setattr(cls, attr, fn)


@contextlib.contextmanager
def functional_streaming_quantizer_only():
    """Only the exportable nearest-code search (for whole-utterance exports of the same model)."""
    from moshi.quantization import core_vq

    saved = core_vq.EuclideanCodebook.__dict__["_quantize"]
    core_vq.EuclideanCodebook._quantize = _nearest
    try:
        yield
    finally:
        core_vq.EuclideanCodebook._quantize = saved


class _Step(torch.nn.Module):
    """One streaming frame of the encoder or the decoder, state in and out as flat tensors."""

    def __init__(self, mimi, kind, specs):
        super().__init__()
        self.mimi, self.kind, self.specs = mimi, kind, specs

    def forward(self, x, step, *states):
        global _CTX
        ctx = _Ctx(x.shape[0], {n: s for (n, _, _), s in zip(self.specs, states)})
        ctx.step = step
        _CTX = ctx
        try:
            y = self.mimi.encode(x) if self.kind == "encoder" else self.mimi.decode(x)
        finally:
            _CTX = None
        return (y, step + 1) + tuple(ctx.out[n] for n, _, _ in self.specs)


def discover(mimi, kind, batch=1):
    """Runs one frame from a fresh state to learn the state tensors (names, shapes, dtypes)."""
    global _CTX
    ctx = _Ctx(batch)
    ctx.step = torch.zeros(batch, dtype=torch.long)
    _CTX = ctx
    try:
        with torch.no_grad():
            if kind == "encoder":
                mimi.encode(torch.zeros(batch, 1, FRAME))
            else:
                mimi.decode(torch.zeros(batch, mimi.num_codebooks, 1, dtype=torch.long))
    finally:
        _CTX = None
    return ctx.specs


class StreamingMimi:
    """The functional streaming Mimi in torch (what the graphs compute), for checks before export."""

    def __init__(self, mimi, kind, batch=1):
        self.mimi, self.kind = mimi, kind
        with functional_streaming(mimi):
            self.specs = discover(mimi, kind, batch)
        self.step_module = _Step(mimi, kind, self.specs)
        self.state = [torch.zeros(batch, dtype=torch.long)] + [torch.zeros((batch,) + s, dtype=d) for _, s, d in self.specs]

    def __call__(self, x):
        with functional_streaming(self.mimi), torch.no_grad():
            y, *self.state = self.step_module(x, *self.state)
        return y


def export(mimi, out_dir, opset=17):
    """Writes mimi_encoder/model.onnx and mimi_decoder/model.onnx under out_dir; returns their paths."""
    mimi.eval()
    paths = []
    for kind in ("encoder", "decoder"):
        with functional_streaming(mimi):
            specs = discover(mimi, kind, batch=2)
            step_module = _Step(mimi, kind, specs)
            names = ["step"] + [n for n, _, _ in specs]
            B = 2
            x = torch.zeros(B, 1, FRAME) if kind == "encoder" else torch.zeros(B, mimi.num_codebooks, 1, dtype=torch.long)
            # A non-zero step, so that the first frame's replicate padding is traced as a choice, not a constant.
            args = (x, torch.tensor([0, 3], dtype=torch.long)) + tuple(torch.zeros((B,) + s, dtype=d) for _, s, d in specs)
            in_names = ["waveform" if kind == "encoder" else "codes"] + [f"state_in.{n}" for n in names]
            out_names = ["codes" if kind == "encoder" else "waveform"] + [f"state_out.{n}" for n in names]
            folder = os.path.join(out_dir, f"mimi_{kind}")
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, "model.onnx")
            kwargs = {}
            # The TorchScript exporter (torch >= 2.9 defaults to the dynamo one, which this tracing does not suit).
            if "dynamo" in inspect.signature(torch.onnx.export).parameters:
                kwargs["dynamo"] = False
            with torch.no_grad():
                torch.onnx.export(step_module, args, path, input_names=in_names, output_names=out_names,
                                  dynamic_axes={n: {0: "batch"} for n in in_names + out_names},
                                  opset_version=opset, do_constant_folding=True, **kwargs)
            paths.append(path)
    return paths


def test_signal(seconds, seed=3):
    """A speech-like test signal: a gliding harmonic tone with a slow envelope and a little noise."""
    import numpy as np

    t = np.arange(int(24000 * seconds)) / 24000
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t + seed)
    phase = 2 * np.pi * np.cumsum(f0) / 24000
    x = sum(a * np.sin(k * phase) for k, a in ((1, 0.4), (2, 0.2), (3, 0.12), (5, 0.05)))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 2.3 * t) ** 2
    x = x * env + 0.01 * np.random.RandomState(seed).standard_normal(len(t))
    return torch.tensor(x, dtype=torch.float32).view(1, 1, -1)


def check(mimi, out_dir, seconds):
    """The export against the reference's own streaming (`mimi.streaming(1)`, one frame per call) on a test
    signal: the functional graph in torch, and the ONNX graphs too where onnxruntime is installed. Returns
    True when every code is equal and the decoded audio is within 100 dB SNR."""
    x = test_signal(seconds)
    frames = [x[..., i * FRAME:(i + 1) * FRAME] for i in range(x.shape[-1] // FRAME)]
    with torch.no_grad():
        with mimi.streaming(1):
            codes = torch.cat([mimi.encode(f) for f in frames], dim=-1)
        with mimi.streaming(1):
            audio = torch.cat([mimi.decode(codes[..., i:i + 1]) for i in range(codes.shape[-1])], dim=-1)
    enc, dec = StreamingMimi(mimi, "encoder"), StreamingMimi(mimi, "decoder")
    runs = {"torch (functional graph)": (torch.cat([enc(f) for f in frames], dim=-1),
                                         torch.cat([dec(codes[..., i:i + 1]) for i in range(codes.shape[-1])], dim=-1))}
    try:
        import onnxruntime as rt
    except ImportError:
        rt = None
        print("onnxruntime (Python) is not installed: the ONNX graphs themselves are not checked here")
    if rt is not None:
        runs["onnxruntime"] = _run_onnx(rt, out_dir, frames, codes)
    ok = True
    for name, (c, a) in runs.items():
        agree = float((c == codes).float().mean())
        snr = float(10 * torch.log10((audio ** 2).sum() / ((audio - a) ** 2).sum().clamp_min(1e-30)))
        passed = agree == 1.0 and snr >= 100
        ok = ok and passed
        print(f"{'PASS' if passed else 'FAIL'} {name}: codes equal to the reference's streaming {agree:.4f} "
              f"({len(frames)} frames), decoded audio {snr:.1f} dB SNR")
    return ok


def _run_onnx(rt, out_dir, frames, codes):
    outs = {}
    for kind, inputs in (("encoder", [f.numpy() for f in frames]),
                         ("decoder", [codes[..., i:i + 1].numpy() for i in range(codes.shape[-1])])):
        sess = rt.InferenceSession(os.path.join(out_dir, f"mimi_{kind}", "model.onnx"), providers=["CPUExecutionProvider"])
        state = {}
        for i in sess.get_inputs():
            if i.name.startswith("state_in."):
                dtype = "int64" if "int64" in i.type else "float32"
                state[i.name] = __import__("numpy").zeros([1] + list(i.shape[1:]), dtype=dtype)
        names = [o.name for o in sess.get_outputs()]
        ys = []
        for x in inputs:
            r = dict(zip(names, sess.run(None, {("waveform" if kind == "encoder" else "codes"): x, **state})))
            state = {n.replace("state_out.", "state_in."): v for n, v in r.items() if n.startswith("state_out.")}
            ys.append(torch.from_numpy(r["codes" if kind == "encoder" else "waveform"]))
        outs[kind] = torch.cat(ys, dim=-1)
    return outs["encoder"], outs["decoder"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--personaplex", required=True, help="the `moshi` folder of NVIDIA/personaplex")
    ap.add_argument("--weights", required=True, help="Mimi checkpoint (tokenizer-*.safetensors)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--check-seconds", type=float, default=12.0,
                    help="seconds of test signal to check the export against the reference's streaming (0: no check)")
    a = ap.parse_args()
    sys.path.insert(0, a.personaplex)
    os.environ.setdefault("NO_TORCH_COMPILE", "1")
    from moshi.models import loaders

    mimi = loaders.get_mimi(a.weights, "cpu")
    for p in export(mimi, a.out):
        print("wrote", p)
    if a.check_seconds > 0 and not check(mimi, a.out, a.check_seconds):
        sys.exit(1)


if __name__ == "__main__":
    main()
