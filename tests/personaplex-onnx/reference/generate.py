#!/usr/bin/python3
"""
Differential fixtures for the personaplex-onnx engine, made by NVIDIA's own PersonaPlex code.

Builds a small random-weight `LMModel` of the PersonaPlex architecture (17 streams, the real delays, depformer
with per-codebook weights and dep_q 16, rms_norm_f32, rope, silu gating, depformer context 8) straight from the
reference `moshi` package, runs the reference `LMGen` greedily through the whole prompt phase and live frames,
and writes:

  <out>/<config>/temporal.skel.onnx, depformer.skel.onnx
      the same model's step functions exported to ONNX in the mobius I/O layout the engine loads
      (input_frame/attention_mask/position_ids/past_key_values.* → hidden/text_logits/present.*;
      hidden/prev_token/substep_index/past_key_values.* → logits/present.*), with every weight's bytes
      stripped: weights come from a counter hash (`weights.ts` regenerates them), so the fixtures stay small.
  <out>/<config>/weights.json    name → {seed, scale, offset} of each weight
  <out>/<config>/trace.json      per run: prompt inputs, user codes, per live frame the reference's tokens and
                                 logit summaries
  <out>/mimi_encoder.onnx, mimi_decoder.onnx   code-carrying stand-ins for Mimi (see `standin_mimi`)

Usage (Debian's python3; the reference is NOT part of Parley):
  /usr/bin/python3 tests/personaplex-onnx/reference/generate.py --personaplex /path/to/personaplex/moshi \
      [--einops /path/containing/einops] [--out tests/personaplex-onnx/reference/fixtures]

Tested against NVIDIA/personaplex at commit 3428dfd on Debian 12 (python3-torch 1.13.1, python3-onnx 1.12).

Shims (none edits the reference files):
  1. torch.nn.functional.scaled_dot_product_attention (torch >= 2.0): a plain matmul + softmax honouring a
     boolean mask, used by modules/transformer.py.
  2. NO_TORCH_COMPILE=1: the package's lazy torch.compile helper leaves functions uncompiled (torch 1.13).
  3. Stub modules `sphn` (audio file I/O, imported by models/lm.py) and `safetensors.torch` (checkpoints): unused
     with random weights.
  4. einops is not packaged by Debian: its pure-Python source goes on sys.path (--einops).
"""
import argparse
import json
import math
import os
import sys
import types

os.environ["NO_TORCH_COMPILE"] = "1"

import numpy as np
import torch
import torch.nn.functional as F

FRAME = 1920
DELAYS = [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1]
# Token ids the engine's tokenizer (tests/personaplex-onnx tiny bundle) gives for these prompts; the TypeScript
# test checks it still does.
PROMPTS = {
    "A": ("You are a wise and friendly teacher.", [529, 5205, 29958, 887, 526, 263, 19396, 322, 19780, 15703, 29889, 529, 5205, 29958]),
    "B": ("You guard the gate.", [529, 5205, 29958, 887, 8372, 278, 12417, 29889, 529, 5205, 29958]),
}


# ------------------------------------------------------------------------------------------------------------
# Shims


def install_shims(personaplex, einops_dir):
    if einops_dir:
        sys.path.insert(0, einops_dir)
    sys.path.insert(0, personaplex)

    if not hasattr(F, "scaled_dot_product_attention"):
        def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
            s = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
            if attn_mask is not None:
                if attn_mask.dtype == torch.bool:
                    s = s.masked_fill(~attn_mask, float("-inf"))
                else:
                    s = s + attn_mask
            return torch.matmul(torch.softmax(s, dim=-1), v)
        F.scaled_dot_product_attention = sdpa

    sphn = types.ModuleType("sphn")
    sys.modules.setdefault("sphn", sphn)
    st = types.ModuleType("safetensors")
    stt = types.ModuleType("safetensors.torch")
    for name in ("load_model", "load_file", "save_file"):
        setattr(stt, name, lambda *a, **k: (_ for _ in ()).throw(RuntimeError("safetensors stub")))
    st.torch = stt
    sys.modules.setdefault("safetensors", st)
    sys.modules.setdefault("safetensors.torch", stt)


# ------------------------------------------------------------------------------------------------------------
# Weights from a counter hash (same function in weights.ts)


def hash_uniform(seed, n):
    """n values in [-1, 1): lowbias32 of (i * golden + seed), as float64."""
    M = np.uint64(0xFFFFFFFF)
    i = np.arange(n, dtype=np.uint64)
    x = (i * np.uint64(0x9E3779B1) + np.uint64(seed)) & M
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & M
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & M
    x ^= x >> np.uint64(16)
    return x.astype(np.float64) / 2.0**32 * 2.0 - 1.0


def fill_weights(model, out_scale, fp16=False):
    """Sets every parameter from the hash; returns name → spec. fp16: each weight rounded to float16 (the fp16
    config's reference runs with the weights an fp16 export holds)."""
    spec = {}
    for seed, (name, p) in enumerate(model.named_parameters(), start=1):
        if name.endswith("alpha"):
            scale, offset = 0.1, 1.0  # RMSNorm gains around 1
        elif "emb" in name:
            scale, offset = 1.0, 0.0
        else:
            fan_in = p.shape[-1]
            head = name.startswith("text_linear") or name.startswith("linears")
            scale, offset = (out_scale if head else 1.0) * math.sqrt(3.0 / fan_in), 0.0
        vals = (offset + scale * hash_uniform(seed * 7919, p.numel())).astype(np.float32)
        if fp16:
            vals = vals.astype(np.float16).astype(np.float32)
        with torch.no_grad():
            p.copy_(torch.from_numpy(vals).view(p.shape))
        spec[name] = {"seed": seed * 7919, "scale": scale, "offset": offset, "dims": list(p.shape), **({"fp16": True} if fp16 else {})}
    return spec


# ------------------------------------------------------------------------------------------------------------
# The model


def build_lm(context):
    from moshi.models.lm import LMModel

    kwargs = dict(
        dim=64, text_card=32000, existing_text_padding_id=3, n_q=16, dep_q=16, card=2048, num_heads=4,
        num_layers=2, hidden_scale=4.125, causal=True, layer_scale=None, context=context, max_period=10000,
        gating="silu", norm="rms_norm_f32", positional_embedding="rope", depformer_dim=32,
        depformer_dim_feedforward=int(4.125 * 32), depformer_num_heads=2, depformer_num_layers=2,
        depformer_causal=True, depformer_layer_scale=None, depformer_multi_linear=True, depformer_context=8,
        depformer_max_period=10000, depformer_gating="silu", depformer_pos_emb="none",
        depformer_weights_per_step=True, delays=DELAYS,
    )
    lm = LMModel(**kwargs)
    lm.eval()
    return lm, kwargs


def rms(x, alpha, eps):
    # modules/transformer.py _rms_norm in float32, written without its dtype casts (onnxruntime's optimizer
    # mishandles the no-op Cast nodes they export to).
    var = eps + torch.mean(x ** 2, dim=2, keepdim=True)
    return x * (alpha * torch.rsqrt(var))


def rope_freqs(D, max_period):
    ds = torch.arange(D // 2, dtype=torch.float32)
    return torch.exp(ds * (-math.log(max_period) * 2 / D))


def rope(q, k, pos, max_period, tables=None):
    # modules/rope.py apply_rope (interleaved pairs), with per-row positions [B, S] instead of one offset. With
    # `tables`, cos/sin rows are gathered from tables of a fixed length, as a mobius export does.
    B, H, T, D = q.shape
    if tables is None:
        ts = pos.float().view(B, 1, T, 1)
        freqs = rope_freqs(D, max_period)
        rotr, roti = torch.cos(freqs * ts), torch.sin(freqs * ts)
    else:
        rotr = F.embedding(pos, tables[0]).view(B, 1, T, D // 2)
        roti = F.embedding(pos, tables[1]).view(B, 1, T, D // 2)
    q2 = q.reshape(B, H, T, D // 2, 2)
    k2 = k.reshape(B, H, T, D // 2, 2)
    qr, qi, kr, ki = q2[..., 0], q2[..., 1], k2[..., 0], k2[..., 1]
    qo = torch.stack([qr * rotr - qi * roti, qr * roti + qi * rotr], dim=-1).reshape(B, H, T, D)
    ko = torch.stack([kr * rotr - ki * roti, kr * roti + ki * rotr], dim=-1).reshape(B, H, T, D)
    return qo, ko


class TemporalStep(torch.nn.Module):
    """LMModel.forward_codes for S new frames over an explicit KV cache (mobius temporal I/O)."""

    def __init__(self, lm, table_rows=None):
        super().__init__()
        self.lm = lm
        self.tables = None
        if table_rows:
            hd = lm.dim // lm.transformer.layers[0].self_attn.num_heads
            ang = rope_freqs(hd, lm.transformer.rope.max_period) * torch.arange(table_rows, dtype=torch.float32).view(-1, 1)
            self.register_buffer("cos_cache", torch.cos(ang))
            self.register_buffer("sin_cache", torch.sin(ang))
            self.tables = (self.cos_cache, self.sin_cache)

    def forward(self, input_frame, attention_mask, position_ids, *past):
        lm = self.lm
        tr = lm.transformer
        x = F.embedding(input_frame[:, 0].clamp(min=0), lm.text_emb.weight)
        for cb in range(lm.n_q):
            x = x + F.embedding(input_frame[:, cb + 1].clamp(min=0), lm.emb[cb].weight)
        B, S, C = x.shape
        P = past[0].shape[2]
        # Allowed keys: attention_mask (padding/window) and causal order among the S new frames.
        kpos = torch.arange(P + S).view(1, 1, 1, P + S)
        qpos = (torch.arange(S) + P).view(1, 1, S, 1)
        allowed = (kpos <= qpos) & (attention_mask.view(B, 1, 1, P + S) > 0)
        presents = []
        for i, layer in enumerate(tr.layers):
            att = layer.self_attn
            nh = att.num_heads
            h = rms(x, layer.norm1.alpha, layer.norm1.eps)
            qkv = F.linear(h, att.in_proj_weight).view(B, S, 3, nh, C // nh).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            q, k = rope(q, k, position_ids, tr.rope.max_period, self.tables)
            k = torch.cat([past[2 * i], k], dim=2)
            v = torch.cat([past[2 * i + 1], v], dim=2)
            presents += [k, v]
            s = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(C // nh)
            s = s.masked_fill(~allowed, float("-inf"))
            o = torch.matmul(torch.softmax(s, dim=-1), v).permute(0, 2, 1, 3).reshape(B, S, C)
            x = x + F.linear(o, att.out_proj.weight)
            h2 = rms(x, layer.norm2.alpha, layer.norm2.eps)
            g = F.linear(h2, layer.gating.linear_in.weight).view(B, S, 2, -1)
            x = x + F.linear(F.silu(g[:, :, 0]) * g[:, :, 1], layer.gating.linear_out.weight)
        hidden = rms(x, lm.out_norm.alpha, lm.out_norm.eps)
        return (hidden, lm.text_linear(hidden), *presents)


class DepformerStep(torch.nn.Module):
    """One LMModel.forward_depformer substep over an explicit KV cache (mobius depformer I/O). Like the mobius
    export it attends to every cached substep; the reference's depformer context is 8, which only changes
    substeps 9-16 (the user's codebooks, always forced in PersonaPlex)."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, hidden, prev_token, substep_index, *past):
        lm = self.lm
        Q = lm.dep_q
        win = torch.stack([m.weight for m in lm.depformer_in])[substep_index]
        x = torch.matmul(hidden, win.t())
        first = substep_index == 0
        zero = torch.zeros_like(prev_token)
        te = F.embedding(torch.where(first, prev_token, zero), lm.depformer_text_emb.weight)
        table = torch.stack([m.weight for m in lm.depformer_emb])[torch.clamp(substep_index - 1, min=0)]
        ae = F.embedding(torch.where(first, zero, prev_token), table)
        x = x + torch.where(first, te, ae)
        B, _, C = x.shape
        presents = []
        for i, layer in enumerate(lm.depformer.layers):
            att = layer.self_attn
            nh = att.num_heads
            h = rms(x, layer.norm1.alpha, layer.norm1.eps)
            w_in = att.in_proj_weight.view(Q, 3 * C, C)[substep_index]
            qkv = torch.matmul(h, w_in.t()).view(B, 1, 3, nh, C // nh).permute(2, 0, 3, 1, 4)
            k = torch.cat([past[2 * i], qkv[1]], dim=2)
            v = torch.cat([past[2 * i + 1], qkv[2]], dim=2)
            presents += [k, v]
            s = torch.matmul(qkv[0], k.transpose(-2, -1)) / math.sqrt(C // nh)
            o = torch.matmul(torch.softmax(s, dim=-1), v).permute(0, 2, 1, 3).reshape(B, 1, C)
            x = x + torch.matmul(o, att.out_proj.weight.view(Q, C, C)[substep_index].t())
            h2 = rms(x, layer.norm2.alpha, layer.norm2.eps)
            gi = torch.stack([gm.linear_in.weight for gm in layer.gating])[substep_index]
            go = torch.stack([gm.linear_out.weight for gm in layer.gating])[substep_index]
            g = torch.matmul(h2, gi.t()).view(B, 1, 2, -1)
            x = x + torch.matmul(F.silu(g[:, :, 0]) * g[:, :, 1], go.t())
        wl = torch.stack([m.weight for m in lm.linears])[substep_index]
        return (torch.matmul(x, wl.t()), *presents)


def export(lm, spec, out_dir, table_rows=None):
    import onnx

    nl = len(lm.transformer.layers)
    nh = lm.transformer.layers[0].self_attn.num_heads
    hd = lm.dim // nh
    past_names = [f"past_key_values.{i}.{kv}" for i in range(nl) for kv in ("key", "value")]
    present_names = [f"present.{i}.{kv}" for i in range(nl) for kv in ("key", "value")]
    dyn = {"input_frame": {0: "batch", 2: "sequence_len"}, "attention_mask": {0: "batch", 1: "total_len"},
           "position_ids": {0: "batch", 1: "sequence_len"}, "hidden": {0: "batch", 1: "sequence_len"},
           "text_logits": {0: "batch", 1: "sequence_len"}}
    for n in past_names:
        dyn[n] = {0: "batch", 2: "past_sequence_len"}
    for n in present_names:
        dyn[n] = {0: "batch", 2: "total_len"}
    B, S, P = 2, 3, 4
    args = (torch.zeros(B, 17, S, dtype=torch.long), torch.ones(B, P + S, dtype=torch.long),
            torch.arange(S).view(1, S).repeat(B, 1) + P) + tuple(torch.zeros(B, nh, P, hd) for _ in past_names)
    f = os.path.join(out_dir, "temporal.onnx")
    torch.onnx.export(TemporalStep(lm, table_rows), args, f, input_names=["input_frame", "attention_mask", "position_ids"] + past_names,
                      output_names=["hidden", "text_logits"] + present_names, dynamic_axes=dyn, opset_version=17,
                      do_constant_folding=False)
    strip(f, spec, os.path.join(out_dir, "temporal.skel.onnx"))

    dl = len(lm.depformer.layers)
    dh = lm.depformer.layers[0].self_attn.num_heads
    dd = lm.depformer_text_emb.weight.shape[1] // dh
    past_names = [f"past_key_values.{i}.{kv}" for i in range(dl) for kv in ("key", "value")]
    present_names = [f"present.{i}.{kv}" for i in range(dl) for kv in ("key", "value")]
    dyn = {"hidden": {0: "batch"}, "prev_token": {0: "batch"}, "logits": {0: "batch"}}
    for n in past_names:
        dyn[n] = {0: "batch", 2: "past_substep_len"}
    for n in present_names:
        dyn[n] = {0: "batch", 2: "total_substep_len"}
    args = (torch.zeros(B, 1, lm.dim), torch.zeros(B, 1, dtype=torch.long), torch.tensor(1, dtype=torch.long)) + tuple(
        torch.zeros(B, dh, 1, dd) for _ in past_names)
    f = os.path.join(out_dir, "depformer.onnx")
    torch.onnx.export(DepformerStep(lm), args, f, input_names=["hidden", "prev_token", "substep_index"] + past_names,
                      output_names=["logits"] + present_names, dynamic_axes=dyn, opset_version=17,
                      do_constant_folding=False)
    strip(f, spec, os.path.join(out_dir, "depformer.skel.onnx"))


def export_gqa(lm, spec, out_dir, table_rows, window):
    """The temporal step as a mobius GroupQueryAttention build (CUDA fp16 builds use it; here in fp32 for the CPU
    provider): no position_ids (GroupQueryAttention takes each row's position from its cache length, seqlens_k =
    sum(attention_mask) - 1), RoPE inside the op (do_rotary, half-split: the q/k rows are permuted from the
    reference's interleaved pairs as mobius' weight loader does), cos/sin tables of `table_rows` rows, and
    local_window_size = the context, as mobius passes it. Same weights as the concat export (same hash names)."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto as T

    tr = lm.transformer
    nl = len(tr.layers)
    nh = tr.layers[0].self_attn.num_heads
    C = lm.dim
    hd = C // nh
    nodes, inits = [], []
    counter = [0]

    def name(base):
        counter[0] += 1
        return f"{base}_{counter[0]}"

    def op(kind, ins, domain=None, **attrs):
        out = name(kind)
        nodes.append(helper.make_node(kind, ins, [out], domain=domain, **attrs) if domain else helper.make_node(kind, ins, [out], **attrs))
        return out

    def const(cname, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), cname))
        return cname

    params = dict(lm.named_parameters())

    def weight(pname):
        if pname not in [i.name for i in inits]:
            inits.append(numpy_helper.from_array(params[pname].detach().numpy().astype(np.float32), pname))
        return pname

    def rms(x, alpha_name, eps):
        var = op("Add", [op("ReduceMean", [op("Mul", [x, x])], axes=[2], keepdims=1), const(name("eps"), np.array(eps, np.float32))])
        return op("Mul", [x, op("Mul", [weight(alpha_name), op("Reciprocal", [op("Sqrt", [var])])])])

    def linear(x, w):
        return op("MatMul", [x, op("Transpose", [w], perm=[1, 0])])

    zero = const("zero_i64", np.array(0, np.int64))
    x = op("Gather", [weight("text_emb.weight"), op("Max", [op("Gather", ["input_frame", const("ch0", np.array(0, np.int64))], axis=1), zero])])
    for cb in range(lm.n_q):
        ids = op("Max", [op("Gather", ["input_frame", const(f"ch{cb + 1}", np.array(cb + 1, np.int64))], axis=1), zero])
        x = op("Add", [x, op("Gather", [weight(f"emb.{cb}.weight"), ids])])
    one = const("one_i64", np.array([1], np.int64))
    seqlens = op("Cast", [op("Sub", [op("ReduceSum", ["attention_mask", one], keepdims=0), const("one_s", np.array(1, np.int64))])], to=T.INT32)
    total = op("Cast", [op("Gather", [op("Shape", ["attention_mask"]), const("ax1", np.array(1, np.int64))])], to=T.INT32)
    ang = rope_freqs(hd, tr.rope.max_period) * torch.arange(table_rows, dtype=torch.float32).view(-1, 1)
    cos_t = const("model.rotary_emb.cos_cache", torch.cos(ang).numpy())
    sin_t = const("model.rotary_emb.sin_cache", torch.sin(ang).numpy())
    # interleaved pair (2i, 2i+1) of each head -> (i, i + hd/2), for q and k; v unchanged
    head = np.concatenate([np.arange(0, hd, 2), np.arange(1, hd, 2)])
    qk = np.concatenate([h * hd + head for h in range(nh)])
    perm = const("qkv_perm", np.concatenate([qk, C + qk, 2 * C + np.arange(C)]).astype(np.int64))
    outputs = []
    for i, layer in enumerate(tr.layers):
        att = layer.self_attn
        h = rms(x, f"transformer.layers.{i}.norm1.alpha", layer.norm1.eps)
        w = op("Gather", [weight(f"transformer.layers.{i}.self_attn.in_proj_weight"), perm], axis=0)
        qkv = linear(h, w)
        q, k, v = (op("Slice", [qkv, const(name("s"), np.array([j * C], np.int64)), const(name("e"), np.array([(j + 1) * C], np.int64)), const(name("a"), np.array([2], np.int64))]) for j in range(3))
        pk, pv = f"past_key_values.{i}.key", f"past_key_values.{i}.value"
        node = helper.make_node("GroupQueryAttention", [q, k, v, pk, pv, seqlens, total, cos_t, sin_t], [f"att_{i}", f"present.{i}.key", f"present.{i}.value"],
                                domain="com.microsoft", num_heads=nh, kv_num_heads=nh, scale=1.0 / math.sqrt(hd), do_rotary=1,
                                rotary_interleaved=0, local_window_size=window)
        nodes.append(node)
        x = op("Add", [x, linear(f"att_{i}", weight(f"transformer.layers.{i}.self_attn.out_proj.weight"))])
        h2 = rms(x, f"transformer.layers.{i}.norm2.alpha", layer.norm2.eps)
        g = linear(h2, weight(f"transformer.layers.{i}.gating.linear_in.weight"))
        F_ = layer.gating.linear_in.weight.shape[0] // 2
        g0 = op("Slice", [g, const(name("s"), np.array([0], np.int64)), const(name("e"), np.array([F_], np.int64)), const(name("a"), np.array([2], np.int64))])
        g1 = op("Slice", [g, const(name("s"), np.array([F_], np.int64)), const(name("e"), np.array([2 * F_], np.int64)), const(name("a"), np.array([2], np.int64))])
        act = op("Mul", [op("Mul", [g0, op("Sigmoid", [g0])]), g1])
        x = op("Add", [x, linear(act, weight(f"transformer.layers.{i}.gating.linear_out.weight"))])
        outputs += [f"present.{i}.key", f"present.{i}.value"]
    hidden = rms(x, "out_norm.alpha", lm.out_norm.eps)
    nodes.append(helper.make_node("Identity", [hidden], ["hidden"]))
    nodes.append(helper.make_node("Identity", [linear(hidden, weight("text_linear.weight"))], ["text_logits"]))
    io = helper.make_tensor_value_info
    ins = [io("input_frame", T.INT64, ["batch", 17, "sequence_len"]), io("attention_mask", T.INT64, ["batch", "total_len"])]
    ins += [io(f"past_key_values.{i}.{kv}", T.FLOAT, ["batch", nh, "past_sequence_len", hd]) for i in range(nl) for kv in ("key", "value")]
    outs = [io("hidden", T.FLOAT, ["batch", "sequence_len", C]), io("text_logits", T.FLOAT, ["batch", "sequence_len", lm.text_linear.weight.shape[0]])]
    outs += [io(n, T.FLOAT, ["batch", nh, "total_len", hd]) for n in outputs]
    # GroupQueryAttention's output type, so that onnx's shape inference (which skips com.microsoft ops) reaches
    # the rest of the layer (fp16_variant rounds what it infers as float)
    infos = [io(f"att_{i}", T.FLOAT, ["batch", "sequence_len", C]) for i in range(nl)]
    g = helper.make_graph(nodes, "moshi_temporal_gqa", ins, outs, inits, value_info=infos)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)], producer_name="parley reference")
    m.ir_version = 8
    f = os.path.join(out_dir, "temporal-gqa.onnx")
    onnx.save(m, f)
    strip(f, spec, os.path.join(out_dir, "temporal-gqa.skel.onnx"))


def fp16_variant(src, dst, half_inputs):
    """An fp16 build of a skeleton graph as the engine sees a mobius fp16 export: past_key_values.* (and the
    depformer's hidden) come in as float16, every float output (hidden, logits, present.*) goes out as float16, and
    every float intermediate is rounded to float16 after the op that makes it (a Cast pair), as a GPU's fp16
    kernels store their outputs (accumulating inside in fp32). onnxruntime's CPU provider has no fp16 kernels for
    most of these ops, so the arithmetic inside each op stays float32: this emulates fp16 storage, not fp16
    arithmetic. The weights are fp16 values (the config's `fp16` flag rounds the hashed weights in the
    reference and in bundle.ts alike)."""
    import onnx
    from onnx import helper, TensorProto as T

    m = onnx.load(src)
    g = m.graph
    inferred = onnx.shape_inference.infer_shapes(m)
    floats = {vi.name for vi in inferred.graph.value_info if vi.type.tensor_type.elem_type == T.FLOAT}
    outs = {o.name for o in g.output if o.type.tensor_type.elem_type == T.FLOAT}
    inits = {i.name for i in g.initializer}

    def rename_uses(old, new, nodes):
        for n in nodes:
            for k, x in enumerate(n.input):
                if x == old:
                    n.input[k] = new

    nodes = list(g.node)
    # RMSNorm's internals stay float32, as the reference's rms_norm_f32 and an fp16 build's fused norm keep them:
    # the squares, their mean, + eps and the square root (x² overflows float16 once |x| > 256)
    consumers = {}
    for n in nodes:
        for x in n.input:
            consumers.setdefault(x, []).append(n)
    exempt = set()
    for n in nodes:
        if n.op_type == "ReduceMean":
            exempt.add(n.input[0])
            cur = n.output[0]
            while True:
                exempt.add(cur)
                nxt = consumers.get(cur, [])
                if len(nxt) != 1 or nxt[0].op_type not in ("Add", "Sqrt"):
                    break
                cur = nxt[0].output[0]
    head = []
    for inp in g.input:
        if inp.name in half_inputs:
            inp.type.tensor_type.elem_type = T.FLOAT16
            rename_uses(inp.name, inp.name + "/f32", nodes)
            head.append(helper.make_node("Cast", [inp.name], [inp.name + "/f32"], to=T.FLOAT))
    body = []
    for n in nodes:
        body.append(n)
        for k, x in enumerate(n.output):
            if x in outs:
                n.output[k] = x + "/f32"
                rename_uses(x, x + "/f32", nodes)
                body.append(helper.make_node("Cast", [x + "/f32"], [x], to=T.FLOAT16))
            elif x in floats and x not in inits and x not in exempt:
                n.output[k] = x + "/raw"
                body.append(helper.make_node("Cast", [x + "/raw"], [x + "/h"], to=T.FLOAT16))
                body.append(helper.make_node("Cast", [x + "/h"], [x], to=T.FLOAT))
    for o in g.output:
        if o.name in outs:
            o.type.tensor_type.elem_type = T.FLOAT16
    del g.node[:]
    g.node.extend(head + body)
    del g.value_info[:]
    onnx.save(m, dst)


def strip(path, spec, skel_path):
    """Removes the weight bytes (checked equal to the hash first); keeps graph and small constants."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    onnx.checker.check_model(m)
    kept = 0
    for init in m.graph.initializer:
        name = init.name[3:] if init.name.startswith("lm.") else init.name
        if name in spec:
            s = spec[name]
            want = (s["offset"] + s["scale"] * hash_uniform(s["seed"], int(np.prod(s["dims"])))).astype(np.float32)
            if s.get("fp16"):
                want = want.astype(np.float16).astype(np.float32)
            got = numpy_helper.to_array(init).reshape(-1)
            assert np.array_equal(got, want), f"initializer {init.name} is not the hashed weight"
            assert list(init.dims) == s["dims"], (init.name, init.dims, s["dims"])
            init.ClearField("raw_data")
            init.ClearField("float_data")
            init.doc_string = "parley-hash:" + name
        else:
            kept += init.ByteSize()
    assert kept < 200_000, f"{kept} bytes of non-weight initializers in {path}"
    onnx.save(m, skel_path)
    os.remove(path)


# ------------------------------------------------------------------------------------------------------------
# Code-carrying Mimi stand-ins: the LM is under test here, not Mimi. A frame carries its 8 codes in samples 1..8
# as ratios to a marker in sample 0 (so gain changes keep them); the decoder writes codes/2048 into samples 0..7.


def standin_mimi(out):
    import onnx
    from onnx import helper, TensorProto as T

    def c(name, arr, dtype=np.float32):
        return helper.make_tensor(name, T.FLOAT if dtype == np.float32 else T.INT64, list(np.shape(arr)),
                                  np.asarray(arr, dtype=dtype).reshape(-1).tolist())

    enc = helper.make_graph(
        [
            helper.make_node("Reshape", ["waveform", "shape"], ["frames"]),
            helper.make_node("Slice", ["frames", "s0", "s1", "ax"], ["marker"]),
            helper.make_node("Slice", ["frames", "s1", "s9", "ax"], ["carried"]),
            helper.make_node("Max", ["marker", "tiny"], ["den"]),
            helper.make_node("Div", ["carried", "den"], ["ratio"]),
            helper.make_node("Mul", ["ratio", "k"], ["scaled"]),
            helper.make_node("Floor", ["scaled"], ["fl"]),
            helper.make_node("Clip", ["fl", "lo", "hi"], ["cl"]),
            helper.make_node("Cast", ["cl"], ["ci"], to=T.INT64),
            helper.make_node("Transpose", ["ci"], ["codes"], perm=[0, 2, 1]),
        ],
        "mimi_encoder_standin",
        [helper.make_tensor_value_info("waveform", T.FLOAT, ["batch", 1, "num_samples"])],
        [helper.make_tensor_value_info("codes", T.INT64, ["batch", 8, "num_frames"])],
        [c("shape", [0, -1, FRAME], np.int64), c("s0", [0], np.int64), c("s1", [1], np.int64),
         c("s9", [9], np.int64), c("ax", [2], np.int64), c("tiny", 1e-6), c("k", 2048.0 / 0.9), c("lo", 0.0),
         c("hi", 2047.0)],
    )
    dec = helper.make_graph(
        [
            helper.make_node("Cast", ["codes"], ["cf"], to=T.FLOAT),
            helper.make_node("Mul", ["cf", "inv"], ["v"]),
            helper.make_node("Transpose", ["v"], ["vt"], perm=[0, 2, 1]),
            helper.make_node("Pad", ["vt", "pads"], ["padded"]),
            helper.make_node("Reshape", ["padded", "shape"], ["waveform"]),
        ],
        "mimi_decoder_standin",
        [helper.make_tensor_value_info("codes", T.INT64, ["batch", 8, "num_frames"])],
        [helper.make_tensor_value_info("waveform", T.FLOAT, ["batch", 1, "num_samples"])],
        [c("inv", 1.0 / 2048), c("pads", [0, 0, 0, 0, 0, FRAME - 8], np.int64), c("shape", [0, 1, -1], np.int64)],
    )
    for g, name in ((enc, "mimi_encoder"), (dec, "mimi_decoder")):
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="parley reference")
        m.ir_version = 8
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(out, f"{name}.onnx"))


def gqa_probe(out):
    """One GroupQueryAttention node (local_window_size 8, head size 8), for checking how many frames
    onnxruntime's local window covers (window.test.ts); mobius' GQA exports pass local_window_size=3000."""
    import onnx
    from onnx import helper, TensorProto as T

    D = 8
    node = helper.make_node("GroupQueryAttention", ["query", "key", "value", "past_key", "past_value", "seqlens_k", "total_sequence_length"],
                            ["output", "present_key", "present_value"], domain="com.microsoft", num_heads=1, kv_num_heads=1, local_window_size=8)
    io = lambda n, t, shape: helper.make_tensor_value_info(n, t, shape)
    g = helper.make_graph([node], "gqa_probe",
                          [io("query", T.FLOAT, [1, 1, D]), io("key", T.FLOAT, [1, 1, D]), io("value", T.FLOAT, [1, 1, D]),
                           io("past_key", T.FLOAT, [1, 1, "P", D]), io("past_value", T.FLOAT, [1, 1, "P", D]),
                           io("seqlens_k", T.INT32, [1]), io("total_sequence_length", T.INT32, [])],
                          [io("output", T.FLOAT, [1, 1, D]), io("present_key", T.FLOAT, [1, 1, "T", D]), io("present_value", T.FLOAT, [1, 1, "T", D])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)], producer_name="parley reference")
    m.ir_version = 8
    onnx.save(m, os.path.join(out, "gqa-probe.onnx"))


# ------------------------------------------------------------------------------------------------------------
# Reference runs


class CodesMimi(torch.nn.Module):
    """Stands in for Mimi in LMGen's voice-prompt path: encode() hands out the given codes frame by frame."""

    def __init__(self, codes):
        super().__init__()
        self.p = torch.nn.Parameter(torch.zeros(1))
        self.codes = list(codes)

    def encode(self, batch):
        return torch.tensor(self.codes.pop(0), dtype=torch.long).view(1, 8, 1)


def summarise(logits, ids, gaps):
    """[argmax, max, logits at the probe ids...], 7 significant digits; notes the top-1/top-2 gap."""
    logits = logits.float().view(-1)
    top = torch.topk(logits, 2).values
    gaps.append(float(top[0] - top[1]))
    return [int(torch.argmax(logits))] + [float(f"{float(v):.7g}") for v in [torch.max(logits)] + [logits[i] for i in ids]]


def frame_gap(logits):
    """Smallest top-1/top-2 gap of a live frame's greedy decisions (text and the 8 agent codebooks)."""
    text_logits, audio_logits = logits
    rows = [text_logits.float().view(-1)] + [audio_logits[0, q].float().view(-1) for q in range(8)]
    return min(float(torch.topk(r, 2).values[0] - torch.topk(r, 2).values[1]) for r in rows)


def run_reference(lm, voice_codes, prompt_tokens, user_codes, pt_voice=None, save_pt=None, probe_ids=None, gaps=None, choose=None):
    """One session through LMGen: voice prompt (codes via the audio path, or saved embeddings), silences, text
    prompt, silences, then the live frames. Returns the per-frame trace.

    choose = (min_gap, tries, rng): each live frame's user codes are picked among up to `tries` random candidates
    (the reference's streaming state saved and restored around each try) so that no greedy decision of the NEXT
    frame is closer than min_gap to a tie, else the candidate with the widest gap; user_codes is overwritten with
    the choice. The next frame: LMGen's model input at a step is the previous step's column, so the codes given
    at step t first reach the transformer at step t + 1 (checked). For the fp16 config: its tokens must survive
    fp16 rounding. The first live frame's decisions depend on the prompt alone."""
    from moshi.models.lm import LMGen

    gen = LMGen(lm, device="cpu", use_sampling=False, text_prompt_tokens=prompt_tokens, audio_silence_frame_cnt=6,
                # return_logits would break the reference's own embedding save (its first step returns a tuple)
                return_logits=save_pt is None, sample_rate=24000, save_voice_prompt_embeddings=save_pt is not None)
    columns = []
    if save_pt is not None:
        orig = lm.embed_codes

        def record(seq):
            columns.append(seq.view(-1).tolist())
            return orig(seq)
        lm.embed_codes = record
    frames = []
    with gen.streaming(1):
        if pt_voice is not None:
            gen.load_voice_prompt_embeddings(pt_voice)
            mimi = None
        else:
            gen.voice_prompt = save_pt or "voice.wav"
            gen.voice_prompt_audio = np.zeros((1, FRAME * len(voice_codes)), dtype=np.float32)
            mimi = CodesMimi(voice_codes)
        gen.step_system_prompts(mimi)
        if save_pt is not None:
            lm.embed_codes = orig
        prompt_offset = gen._streaming_state.offset
        for t, codes in enumerate(user_codes if save_pt is None else []):
            if choose is not None and t + 1 < len(user_codes):
                import copy

                min_gap, tries, crng = choose
                saved = copy.deepcopy(gen.get_streaming_state())
                best = (-1.0, codes)
                for k in range(tries):
                    cand = codes if k == 0 else crng.integers(0, 2048, size=8).tolist()
                    gen.set_streaming_state(copy.deepcopy(saved))
                    gen.step(input_tokens=torch.tensor(cand, dtype=torch.long).view(1, 8, 1))
                    # the next step's decisions do not depend on the codes it is given
                    _, cl = gen.step(input_tokens=torch.tensor(cand, dtype=torch.long).view(1, 8, 1))
                    gap = frame_gap(cl)
                    if gap > best[0]:
                        best = (gap, cand)
                    if gap >= min_gap:
                        break
                codes = best[1]
                user_codes[t] = codes
                gen.set_streaming_state(saved)
            out, logits = gen.step(input_tokens=torch.tensor(codes, dtype=torch.long).view(1, 8, 1))
            text_logits, audio_logits = logits
            # audio: the 8 agent codebooks (the user's 8 are forced, and the engine skips those substeps)
            if choose is not None:
                print(f"  live frame {t}: smallest gap {frame_gap(logits):.4f}", flush=True)
            frames.append({
                "text": summarise(text_logits, probe_ids["text"], gaps),
                "audio": [summarise(audio_logits[0, q], probe_ids["audio"], gaps) for q in range(8)],
                "out": None if out is None else out.view(-1).tolist(),
            })
    return {"frames": frames, "promptOffset": prompt_offset, "columns": columns}


# Voice-prompt loudness: clips defined by formula (the same in loudness.test.ts), measured and normalised by the
# reference's own `normalize_audio` (pyloudnorm, BS.1770) to -24 LUFS.
LOUDNESS_CLIPS = {
    "voice-24k": (24000, 2.0),
    "gated-24k": (24000, 2.4),
    "sine-48k": (48000, 1.5),
}


def loudness_clip(name, rate, seconds):
    t = np.arange(int(rate * seconds), dtype=np.float64) / rate
    if name == "voice-24k":
        x = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(8 * t))
    elif name == "gated-24k":
        # loud, then 30 dB quieter (under the relative gate), then silence (under the absolute gate)
        x = np.where(t < 0.8, 0.5 * np.sin(2 * np.pi * 440 * t), np.where(t < 1.6, 0.015 * np.sin(2 * np.pi * 300 * t), 0.0))
    else:
        x = 0.5 * np.sin(2 * np.pi * 1000 * t)
    return x.astype(np.float32)


def loudness_fixture(out):
    import pyloudnorm
    from moshi.models.lm import normalize_audio

    rows = []
    for name, (rate, seconds) in LOUDNESS_CLIPS.items():
        x = loudness_clip(name, rate, seconds)
        lufs = float(pyloudnorm.Meter(rate).integrated_loudness(x))
        y = normalize_audio(x[None, :], rate, -24.0)
        k = int(np.argmax(np.abs(x)))
        rows.append({"name": name, "rate": rate, "seconds": seconds, "lufs": lufs, "gain": float(y[k] / x[k])})
    with open(os.path.join(out, "loudness.json"), "w") as f:
        json.dump({"reference": "NVIDIA/personaplex normalize_audio (pyloudnorm) to -24 LUFS", "clips": rows}, f, indent=1)
    print("loudness", rows)


def hexes(values):
    return [float(v).hex() for v in values]


def golden_fixture(lm, out):
    """Goldens in the format of mobius' testdata/golden/audio (same deterministic inputs: numpy RandomState
    20240607 frames, 7 for the teacher-forced depformer tokens, 1234 for the waveform noise), made with the
    reference LMModel here, for testing `parley personaplex verify` on this model's export. The Mimi golden is of
    the code-carrying stand-in."""
    os.makedirs(out, exist_ok=True)
    rng = np.random.RandomState(20240607)
    frames = np.zeros((1, 17, 4), dtype=np.int64)
    frames[0, 0, :] = rng.randint(0, 32000, size=4)
    frames[0, 1:, :] = rng.randint(0, 2048, size=(16, 4))
    rng = np.random.RandomState(7)
    prev = [int(rng.randint(0, 32000))] + rng.randint(0, 2048, size=15).tolist()
    with torch.no_grad():
        hidden, text_logits = lm.forward_codes(torch.from_numpy(frames))
        text_logits = text_logits[0, 0]
        last = hidden[:, -1:]
        dep_logits = []
        with lm.depformer.streaming(1):
            for cb in range(lm.dep_q):
                dep_logits.append(lm.forward_depformer(cb, torch.tensor([[[prev[cb]]]]), last).view(-1))
    lm_golden = {
        "description": "parley reference harness: NVIDIA/personaplex LMModel (random weights, ctx3000 config), mobius golden format",
        "n_channels": 17, "n_steps": 4, "dep_q": lm.dep_q, "audio_card": 2048, "text_card": 32000,
        "temporal": {
            "hidden_shape": [4, lm.dim],
            "hidden_last_head_hex": hexes(hidden[0, -1, :32]), "hidden_last_tail_hex": hexes(hidden[0, -1, -32:]),
            "text_argmax": [int(torch.argmax(text_logits[s])) for s in range(4)],
            "text_max_hex": hexes([torch.max(text_logits[s]) for s in range(4)]),
        },
        "depformer": {
            "logits_argmax": [int(torch.argmax(l)) for l in dep_logits],
            "logits_max_hex": hexes([torch.max(l) for l in dep_logits]),
            "logits0_head_hex": hexes(dep_logits[0][:32]),
        },
    }
    with open(os.path.join(out, "moshi-lm-personaplex.json"), "w") as f:
        json.dump(lm_golden, f, indent=1)
    # Mimi stand-in: the golden waveform, then what the stand-in graphs compute from it (see standin_mimi).
    n = 8 * FRAME
    t = np.arange(n, dtype=np.float64) / 24000
    wav = 0.5 * np.sin(2 * np.pi * 220.0 * t) + 0.3 * np.sin(2 * np.pi * 440.0 * t) + 0.2 * np.sin(2 * np.pi * 660.0 * t) + 0.1 * np.sin(2 * np.pi * 1320.0 * t)
    wav = (wav + 0.02 * np.random.RandomState(1234).standard_normal(n)).astype(np.float32)
    fr = wav.reshape(8, FRAME)
    ratio = fr[:, 1:9] / np.maximum(fr[:, :1], np.float32(1e-6))
    codes = np.clip(np.floor(ratio * np.float32(2048.0 / 0.9)), 0, 2047).astype(np.int64).T
    dec = np.zeros((8, FRAME), dtype=np.float32)
    dec[:, :8] = codes.T.astype(np.float32) * np.float32(1 / 2048)
    dec = dec.reshape(-1)
    with open(os.path.join(out, "mimi-personaplex.json"), "w") as f:
        json.dump({"description": "parley reference harness: the code-carrying Mimi stand-in, mobius golden format", "sample_rate": 24000,
                   "n_frames": 8, "num_codebooks": 8, "codes": codes.tolist(), "dec_shape": [1, 1, n],
                   "dec_head_hex": hexes(dec[:32]), "dec_tail_hex": hexes(dec[-32:])}, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--personaplex", required=True, help="folder holding the reference `moshi` package")
    ap.add_argument("--einops", default=None, help="folder holding the einops package source")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
    ap.add_argument("--live", type=int, default=240)
    ap.add_argument("--pyloudnorm", default=None, help="folder holding the pyloudnorm package (needs python3-scipy)")
    ap.add_argument("--configs", default=None, help="comma list of model configs to write (default all)")
    ap.add_argument("--only", default=None, help="'loudness', 'golden', 'gqa' or 'export' (the graphs) writes only that fixture")
    a = ap.parse_args()
    install_shims(a.personaplex, a.einops)
    os.makedirs(a.out, exist_ok=True)
    if a.pyloudnorm:
        sys.path.insert(0, a.pyloudnorm)
        loudness_fixture(a.out)
    if a.only == "loudness":
        return
    torch.manual_seed(0)
    os.makedirs(a.out, exist_ok=True)
    standin_mimi(a.out)
    gqa_probe(a.out)
    rng = np.random.default_rng(16)
    probe = {"text": sorted(rng.choice(32000, 6, replace=False).tolist()),
             "audio": sorted(rng.choice(2048, 3, replace=False).tolist())}

    configs = {
        # the real context (3000 frames); prompt + live frames stay inside it
        "ctx3000": dict(context=3000, live=a.live, voice_frames=10),
        # a 64-frame context, run over 10x the window: proves the sliding window and positions
        # ... and rotary tables of 256 rows (a mobius export ships 8000), so positions run 2.6x past them
        # (own input seed, chosen so that no greedy decision is closer than 1e-4 to a tie)
        "ctx64": dict(context=64, live=640, voice_frames=5, table_rows=256, seed=6401),  # 5 frames = 400 ms, the shortest WAV the loudness meter takes
        # the fp16 builds: weights rounded to float16, context 64 over 320 live frames (5x the window, past the
        # 256-row tables: re-based fp16 keys), user codes chosen frame by frame so that every greedy decision
        # has a top-1/top-2 gap of at least 0.1 (fp16 storage moves these logits by a few hundredths)
        "fp16": dict(context=64, live=320, voice_frames=5, table_rows=256, seed=1601, fp16=True, choose=(0.1, 32)),
    }
    for cname, cfg in configs.items():
        if a.configs and cname not in a.configs.split(","):
            continue
        d = os.path.join(a.out, cname)
        os.makedirs(d, exist_ok=True)
        lm, kwargs = build_lm(cfg["context"])
        spec = fill_weights(lm, out_scale=4.0, fp16=cfg.get("fp16", False))
        if cfg.get("table_rows"):
            export_gqa(lm, spec, d, cfg["table_rows"], cfg["context"])
        if a.only == "gqa":
            continue
        export(lm, spec, d, cfg.get("table_rows"))
        lm.eval()
        if cfg.get("fp16"):
            # only the fp16 builds are kept for this config
            past = {f"past_key_values.{i}.{kv}" for i in range(len(lm.transformer.layers)) for kv in ("key", "value")}
            dpast = {f"past_key_values.{i}.{kv}" for i in range(len(lm.depformer.layers)) for kv in ("key", "value")}
            for name, half in (("temporal", past), ("temporal-gqa", past), ("depformer", dpast | {"hidden"})):
                fp16_variant(os.path.join(d, f"{name}.skel.onnx"), os.path.join(d, f"{name}-fp16.skel.onnx"), half)
                os.remove(os.path.join(d, f"{name}.skel.onnx"))  # torch.onnx.export restores the wrapper's (training) mode on everything below it
        if cname == "ctx3000":
            golden_fixture(lm, os.path.join(d, "golden"))
        if a.only in ("golden", "export"):
            continue
        with open(os.path.join(d, "weights.json"), "w") as f:
            json.dump(spec, f)
        runs = {}
        gaps = []
        crng = np.random.default_rng(cfg["seed"]) if "seed" in cfg else rng
        codes = lambda n: crng.integers(0, 2048, size=(n, 8)).tolist()
        # A: a WAV voice (the audio path of the voice prompt, codes from Mimi), prompt A.
        choose = (cfg["choose"][0], cfg["choose"][1], crng) if "choose" in cfg else None
        va, ua = codes(cfg["voice_frames"]), codes(cfg["live"])

        def first_gap(**kw):
            # the first live frame's decisions depend on the prompt alone: with `choose`, voices are redrawn
            # until its gap is wide enough too
            first = []
            run_reference(lm, probe_ids=probe, gaps=first, **kw)
            return min(first)

        for _ in range(16):
            if choose is None or first_gap(voice_codes=va, prompt_tokens=PROMPTS["A"][1], user_codes=ua[:1]) >= choose[0]:
                break
            va = codes(cfg["voice_frames"])
        runs["A"] = dict(voice="wav", voiceCodes=va, prompt=PROMPTS["A"][0], promptTokens=PROMPTS["A"][1], userCodes=ua,
                         **run_reference(lm, va, PROMPTS["A"][1], ua, probe_ids=probe, gaps=gaps, choose=choose))
        # B: a .pt voice: saved by the reference from one run, replayed through step_embeddings in another.
        vb, ub = codes(cfg["voice_frames"]), codes(cfg["live"])
        pt = os.path.join("/tmp", f"parley-ref-voice-{cname}.wav")
        for _ in range(16):
            saved = run_reference(lm, vb, PROMPTS["B"][1], [], save_pt=pt, probe_ids=probe)
            if choose is None or first_gap(voice_codes=None, prompt_tokens=PROMPTS["B"][1], user_codes=ub[:1], pt_voice=pt[:-4] + ".pt") >= choose[0]:
                break
            vb = codes(cfg["voice_frames"])
        state = torch.load(pt[:-4] + ".pt")
        ref_b = run_reference(lm, None, PROMPTS["B"][1], ub, pt_voice=pt[:-4] + ".pt", probe_ids=probe, gaps=gaps, choose=choose)
        nvoice = state["embeddings"].shape[0]
        # embed_codes ran twice per voice step (return_embeddings, then forward_codes): keep one of each pair
        cols = saved["columns"][: 2 * nvoice]
        assert cols[0::2] == cols[1::2] and len(cols) == 2 * nvoice, "unexpected embed_codes calls"
        runs["B"] = dict(voice="pt", voiceColumns=cols[0::2][:nvoice], voiceCache=state["cache"].view(-1).tolist(),
                         prompt=PROMPTS["B"][0], promptTokens=PROMPTS["B"][1], userCodes=ub, **ref_b)
        for r in runs.values():
            r.pop("columns", None)
        meta = {"config": {k: v for k, v in kwargs.items() if k != "delays"}, "delays": DELAYS, "probe": probe,
                "ropeTableRows": cfg.get("table_rows"),
                "reference": "NVIDIA/personaplex 3428dfd moshi LMGen, greedy (use_sampling=False)",
                "torch": torch.__version__, "minTop2Gap": min(gaps)}
        with open(os.path.join(d, "trace.json"), "w") as f:
            json.dump({"meta": meta, "runs": runs}, f, separators=(",", ":"))
        print(cname, "written", {k: len(v["frames"]) for k, v in runs.items()}, "smallest top-1/top-2 gap", min(gaps))


if __name__ == "__main__":
    main()
