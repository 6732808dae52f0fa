#!/usr/bin/python3
"""
Fixtures for the streaming Mimi (tests/personaplex-onnx/reference/mimi-streaming.test.ts): NVIDIA/personaplex's
own MimiModel, scaled down (same architecture and strides, fewer channels and layers, transformer context
still 250 steps), random weights with LayerScale 1 so that the transformers matter, codebooks seeded from a
calibration signal (mimi_windowed.py's `calibrate_codebooks`). Writes to fixtures/mimi-streaming/:

  mimi_encoder/model.onnx, mimi_decoder/model.onnx  the streaming graphs (export/mimi_streaming.py)
  whole/mimi_encoder.onnx, whole/mimi_decoder.onnx   with --full only: the same Mimi's whole-utterance graphs on
                                                     a fixed window of 8 frames (what the windowed fallback re-runs)
  reference.json   the reference's streaming codes (`mimi.streaming(1)`, one frame per call) of two signals
                   and of a voice-prompt clip (its last partial frame zero-padded, as `_iterate_audio(pad=True)`),
                   and how the signals are made
  audio-a.f32, audio-b.f16  the reference's streaming decode of those codes (float32 / float16, little-endian)

Signal A has 150 frames (300 transformer steps, past the 250-step context), B 100 frames.
With --full, the same files for Mimi at its real sizes (random weights, about 330 MB; for the bench, not
committed).

Usage: /usr/bin/python3 tests/personaplex-onnx/reference/mimi_streaming_fixtures.py --personaplex DIR --einops DIR
(shims as in generate.py)
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "server", "engines", "personaplex-onnx", "export"))
from generate import install_shims, FRAME  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

SIGNALS = {"a": (12.0, 3), "b": (8.0, 7)}
CLIP = (3.3, 9)
WINDOW = 8
# Chosen so that no code of the test signals is a near-tie (reported as `smallest_code_gap`; seed 8: 1.5e-4): with 2,048 entries
# of 8 dimensions, some seeds leave a frame whose two nearest entries lie within float rounding of each other.
CODEBOOK_SEED = 8


def build_small_mimi(full=False):
    from moshi.models.compression import MimiModel
    from moshi.modules import SEANetEncoder, SEANetDecoder, transformer
    from moshi.quantization import SplitResidualVectorQuantizer
    from moshi.models import loaders

    sk = dict(loaders._seanet_kwargs, dimension=32, n_filters=4)
    tk = dict(loaders._transformer_kwargs, d_model=32, num_heads=4, num_layers=2, dim_feedforward=64,
              input_dimension=32, output_dimensions=[32])
    qk = dict(loaders._quantizer_kwargs, dimension=8, bins=2048, n_q=8, input_dimension=32, output_dimension=32)
    if full:  # the real sizes (loaders.get_mimi's), for measuring cost; not committed
        sk, tk, qk = loaders._seanet_kwargs, loaders._transformer_kwargs, loaders._quantizer_kwargs
    torch.manual_seed(0)
    m = MimiModel(SEANetEncoder(**sk), SEANetDecoder(**sk), SplitResidualVectorQuantizer(**qk), channels=1,
                  sample_rate=24000, frame_rate=12.5, encoder_frame_rate=24000 / SEANetEncoder(**sk).hop_length,
                  causal=True, resample_method="conv", encoder_transformer=transformer.ProjectedTransformer(**tk),
                  decoder_transformer=transformer.ProjectedTransformer(**tk))
    for name, p in m.named_parameters():
        if "layer_scale" in name:
            p.data.fill_(1.0)
    m.eval()
    m.set_num_codebooks(8)
    calibrate_codebooks(m)
    return m


def calibrate_codebooks(m):
    """Untrained codebooks are all zero (one code for everything). Each level draws its 2048 entries around the
    vectors it is given (their mean and spread per dimension), level by level down the residual quantizer, on a
    calibration signal that is not a test signal. Drawn this way, the nearest entry rarely ties with the next
    (mimi_windowed.py's copies of data vectors leave exact ties in the deep levels, where the float rounding of
    the distance decides)."""
    from moshi.quantization.core_vq import EuclideanCodebook

    g = torch.Generator().manual_seed(CODEBOOK_SEED)
    orig = EuclideanCodebook._quantize

    def seeded(self, x):
        emb = x.mean(0) + x.std(0) * torch.randn(self.codebook_size, x.shape[1], generator=g)
        self.embedding_sum.copy_(emb * self.cluster_usage.clamp(min=self.epsilon)[:, None])
        self._buffers["_embedding"] = None
        return orig(self, x)

    EuclideanCodebook._quantize = seeded
    try:
        with torch.no_grad():
            m.encode(signal(10.0, seed=11))
    finally:
        EuclideanCodebook._quantize = orig


def signal(seconds, seed):
    from mimi_windowed import signal as speechlike
    return speechlike(seconds, seed=seed)


def frames_of(x):
    T = -(-x.shape[-1] // FRAME)
    padded = torch.zeros(1, 1, T * FRAME)
    padded[..., :x.shape[-1]] = x
    return [padded[..., i * FRAME:(i + 1) * FRAME] for i in range(T)]


def smallest_gap(mimi, frames):
    """The smallest relative distance gap between the nearest and the next codebook entry, over every
    codebook level of every frame of the reference's streaming encode: how far the codes are from a tie."""
    from moshi.quantization.core_vq import EuclideanCodebook

    orig = EuclideanCodebook._quantize
    gaps = []

    def recording(self, x):
        e = self.embedding.detach()
        d = ((x[:, None, :] - e[None]) ** 2).sum(-1)
        top = d.topk(2, dim=-1, largest=False).values
        gaps.append(float(((top[:, 1] - top[:, 0]) / top[:, 0].clamp_min(1e-30)).min()))
        return orig(self, x)

    EuclideanCodebook._quantize = recording
    try:
        with mimi.streaming(1):
            for f in frames:
                mimi.encode(f)
    finally:
        EuclideanCodebook._quantize = orig
    return min(gaps)


def snr_db(ref, x):
    return float(10 * torch.log10((ref ** 2).sum() / ((ref - x) ** 2).sum().clamp_min(1e-30)))


class WholeEncoder(torch.nn.Module):
    def __init__(self, mimi):
        super().__init__()
        self.mimi = mimi

    def forward(self, waveform):
        return self.mimi.encode(waveform)


class WholeDecoder(WholeEncoder):
    def forward(self, codes):
        return self.mimi.decode(codes)


def main():
    global CODEBOOK_SEED
    ap = argparse.ArgumentParser()
    ap.add_argument("--personaplex", required=True)
    ap.add_argument("--einops", default=None)
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures", "mimi-streaming"))
    ap.add_argument("--codebook-seed", type=int, default=CODEBOOK_SEED)
    ap.add_argument("--full", action="store_true",
                    help="the real Mimi sizes (random weights) into --out, for bench/personaplex-onnx-mimi.bench.ts")
    a = ap.parse_args()
    install_shims(a.personaplex, a.einops)
    CODEBOOK_SEED = a.codebook_seed
    import mimi_streaming as ms  # the exporter (server/engines/personaplex-onnx/export/)

    os.makedirs(a.out, exist_ok=True)
    mimi = build_small_mimi(a.full)
    ref = {"note": "reference MimiModel (NVIDIA/personaplex 3428dfd), small config (SEANet 4 filters, dimension 32, "
                   "transformers of width 32, 2 layers x 4 heads, context 250, 8 codebooks of 2048 x 8), random weights, "
                   "LayerScale 1, codebooks seeded from a calibration signal",
           "signals": {}, "frame": FRAME}
    with torch.no_grad():
        for key, (seconds, seed) in list(SIGNALS.items()) + [("clip", CLIP)]:
            x = signal(seconds, seed)
            fr = frames_of(x)
            with mimi.streaming(1):
                codes = torch.cat([mimi.encode(f) for f in fr], dim=-1)  # [1, 8, T]
            entry = {"seconds": seconds, "seed": seed, "samples": x.shape[-1],
                     "signal_abs_sum": float(x.double().abs().sum()), "signal_head": x[0, 0, :8].tolist(),
                     "codes": codes[0].t().tolist()}
            # The functional graph in torch, before export: the same codes?
            enc = ms.StreamingMimi(mimi, "encoder")
            mine = torch.cat([enc(f) for f in fr], dim=-1)
            entry["functional_code_agreement"] = float((mine == codes).float().mean())
            entry["smallest_code_gap"] = smallest_gap(mimi, fr)
            if key != "clip":
                with mimi.streaming(1):
                    audio = torch.cat([mimi.decode(codes[..., i:i + 1]) for i in range(codes.shape[-1])], dim=-1)
                dec = ms.StreamingMimi(mimi, "decoder")
                mine_audio = torch.cat([dec(codes[..., i:i + 1]) for i in range(codes.shape[-1])], dim=-1)
                entry["functional_decoder_snr_db"] = snr_db(audio, mine_audio)
                entry["audio_rms"] = float(audio.pow(2).mean().sqrt())
                # A in float32 (the decoder's check needs more than float16's ~73 dB), B in float16.
                kind = "f32" if key == "a" else "f16"
                audio[0, 0].numpy().astype("<f4" if kind == "f32" else "<f2").tofile(os.path.join(a.out, f"audio-{key}.{kind}"))
            ref["signals"][key] = entry
            print(key, {k: v for k, v in entry.items() if k != "codes"}, flush=True)

        t0 = time.perf_counter()
        paths = ms.export(mimi, a.out)
        print("exported", paths, f"{time.perf_counter() - t0:.1f} s", flush=True)

        if not a.full:
            return write_reference(a.out, ref)
        # The same Mimi's whole-utterance graphs on a fixed 8-frame window (what the windowed fallback re-runs).
        whole = os.path.join(a.out, "whole")
        os.makedirs(whole, exist_ok=True)
        with ms.functional_streaming_quantizer_only():
            torch.onnx.export(WholeEncoder(mimi), (torch.zeros(1, 1, WINDOW * FRAME),), os.path.join(whole, "mimi_encoder.onnx"),
                              input_names=["waveform"], output_names=["codes"],
                              dynamic_axes={"waveform": {0: "batch"}, "codes": {0: "batch"}}, opset_version=17)
            torch.onnx.export(WholeDecoder(mimi), (torch.zeros(1, 8, WINDOW, dtype=torch.long),), os.path.join(whole, "mimi_decoder.onnx"),
                              input_names=["codes"], output_names=["waveform"],
                              dynamic_axes={"codes": {0: "batch"}, "waveform": {0: "batch"}}, opset_version=17)
    write_reference(a.out, ref)


def write_reference(out, ref):
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
