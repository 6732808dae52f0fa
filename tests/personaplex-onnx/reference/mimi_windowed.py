#!/usr/bin/python3
"""
Measures how far the engine's windowed Mimi (mimi-stream.ts: the whole-utterance graph re-run on the last 8
frames, keeping the newest) is from Mimi as the reference streams it, on NVIDIA/personaplex's own MimiModel
(the real architecture, random weights, random codebooks). Writes the figures to <out>/mimi-windowed.json.

Compared, over 6 s of a speech-like test signal:
  - encoder: streaming (`mimi.streaming(1)`, one 1920-sample frame per call, as the reference server) against
    windowed (non-streaming `encode` of the last W frames, zero-filled at the start, newest frame kept), and
    against one whole-clip `encode` (how a WAV voice prompt is encoded now): agreement of the 8 codebooks;
  - decoder: streaming decode of the streaming codes against windowed decode (last W frames of codes, newest
    frame kept): SNR of the windowed audio against the streaming audio;
  - cost: seconds per tick of each.

Usage: /usr/bin/python3 tests/personaplex-onnx/reference/mimi_windowed.py --personaplex DIR --einops DIR [--out DIR]
(shims as in generate.py)
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import install_shims, FRAME  # noqa: E402

import numpy as np
import torch


def build_mimi(layer_scale=None):
    from moshi.models import loaders
    from moshi.models.compression import MimiModel
    from moshi.modules import SEANetEncoder, SEANetDecoder, transformer
    from moshi.quantization import SplitResidualVectorQuantizer

    sk, tk, qk = loaders._seanet_kwargs, loaders._transformer_kwargs, loaders._quantizer_kwargs
    m = MimiModel(SEANetEncoder(**sk), SEANetDecoder(**sk), SplitResidualVectorQuantizer(**qk), channels=1,
                  sample_rate=24000, frame_rate=12.5, encoder_frame_rate=24000 / SEANetEncoder(**sk).hop_length,
                  causal=True, resample_method="conv", encoder_transformer=transformer.ProjectedTransformer(**tk),
                  decoder_transformer=transformer.ProjectedTransformer(**tk))
    if layer_scale is not None:
        # Untrained LayerScale is 0.01, which all but removes the transformers; trained ones are far larger.
        for name, p in m.named_parameters():
            if "layer_scale" in name:
                p.data.fill_(layer_scale)
    m.eval()
    m.set_num_codebooks(8)
    calibrate_codebooks(m)
    return m


def calibrate_codebooks(m):
    """Untrained codebooks are all zero (one code for everything) and random ones sit far from the data (one
    code too). Like k-means' initialisation, each codebook takes its entries from the vectors it is given, level
    by level down the residual quantizer, on a calibration signal that is not the test signal."""
    from moshi.quantization.core_vq import EuclideanCodebook

    g = torch.Generator().manual_seed(5)
    orig = EuclideanCodebook._quantize

    def seeded(self, x):
        idx = torch.randint(0, x.shape[0], (self.codebook_size,), generator=g)
        emb = x[idx] + 0.1 * x.std() * torch.randn(self.codebook_size, x.shape[1], generator=g)
        self.embedding_sum.copy_(emb * self.cluster_usage.clamp(min=self.epsilon)[:, None])
        self._buffers["_embedding"] = None
        return orig(self, x)

    EuclideanCodebook._quantize = seeded
    try:
        m.encode(signal(10.0, seed=11))
    finally:
        EuclideanCodebook._quantize = orig



def signal(seconds, seed=3):
    t = np.arange(int(24000 * seconds)) / 24000
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t + seed)
    phase = 2 * np.pi * np.cumsum(f0) / 24000
    x = sum(a * np.sin(k * phase) for k, a in ((1, 0.4), (2, 0.2), (3, 0.12), (5, 0.05)))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 2.3 * t) ** 2
    x = x * env + 0.01 * np.random.RandomState(seed).standard_normal(len(t))
    return torch.tensor(x, dtype=torch.float32).view(1, 1, -1)


def snr_db(ref, x):
    return float(10 * torch.log10((ref ** 2).sum() / ((ref - x) ** 2).sum().clamp_min(1e-20)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--personaplex", required=True)
    ap.add_argument("--einops", default=None)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
    ap.add_argument("--window", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=4.0)
    a = ap.parse_args()
    install_shims(a.personaplex, a.einops)
    torch.manual_seed(0)
    W = a.window
    results = {}
    for variant, ls in (("layer_scale 0.01 (as initialised)", None), ("layer_scale 1", 1.0)):
        results[variant] = measure(W, a.seconds, ls)
        print(variant, json.dumps(results[variant]), flush=True)
    results["note"] = "reference MimiModel (NVIDIA/personaplex 3428dfd), real architecture, random weights and codebooks; torch 1.13 CPU, 2 shared cores"
    with open(os.path.join(a.out, "mimi-windowed.json"), "w") as f:
        json.dump(results, f, indent=1)


def measure(W, seconds, layer_scale):
    a = argparse.Namespace(seconds=seconds)
    with torch.no_grad():
        mimi = build_mimi(layer_scale)
        x = signal(a.seconds)
        T = x.shape[-1] // FRAME
        frames = [x[..., i * FRAME:(i + 1) * FRAME] for i in range(T)]

        t0 = time.perf_counter()
        with mimi.streaming(1):
            stream_codes = torch.cat([mimi.encode(f) for f in frames], dim=-1)
        t_stream_enc = (time.perf_counter() - t0) / T

        t0 = time.perf_counter()
        win_codes = []
        for i in range(T):
            win = torch.zeros(1, 1, W * FRAME)
            chunk = x[..., max(0, i + 1 - W) * FRAME:(i + 1) * FRAME]
            win[..., -chunk.shape[-1]:] = chunk
            win_codes.append(mimi.encode(win)[..., -1:])
        win_codes = torch.cat(win_codes, dim=-1)
        t_win_enc = (time.perf_counter() - t0) / T
        whole_codes = mimi.encode(x[..., :T * FRAME])

        def agree(c):
            eq = (c == stream_codes).float()
            return {"all8": float(eq.mean()), "semantic": float(eq[0, 0].mean()), "acoustic": float(eq[0, 1:].mean())}

        t0 = time.perf_counter()
        with mimi.streaming(1):
            stream_audio = torch.cat([mimi.decode(stream_codes[..., i:i + 1]) for i in range(T)], dim=-1)
        t_stream_dec = (time.perf_counter() - t0) / T
        t0 = time.perf_counter()
        win_audio = []
        silence = torch.tensor([948, 243, 1178, 546, 1736, 1030, 1978, 2008]).view(1, 8, 1)
        for i in range(T):
            c = stream_codes[..., max(0, i + 1 - W):i + 1]
            if c.shape[-1] < W:
                c = torch.cat([silence.repeat(1, 1, W - c.shape[-1]), c], dim=-1)
            win_audio.append(mimi.decode(c)[..., -FRAME:])
        win_audio = torch.cat(win_audio, dim=-1)
        t_win_dec = (time.perf_counter() - t0) / T
        skip = W * FRAME  # leave out the start, where the windowed decoder has silence codes before the clip
        figures = {
            "window_frames": W,
            "frames": T,
            "distinct_codes_per_codebook_streaming": [len(set(stream_codes[0, q].tolist())) for q in range(8)],
            "encoder_code_agreement_windowed_vs_streaming": agree(win_codes),
            "encoder_code_agreement_whole_clip_vs_streaming": agree(whole_codes),
            "decoder_snr_db_windowed_vs_streaming": snr_db(stream_audio[..., skip:], win_audio[..., skip:]),
            "seconds_per_tick": {"encode_streaming": t_stream_enc, "encode_windowed": t_win_enc,
                                 "decode_streaming": t_stream_dec, "decode_windowed": t_win_dec},
        }
    return figures


if __name__ == "__main__":
    main()
