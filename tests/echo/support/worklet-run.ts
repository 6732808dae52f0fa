/**
 * The plugin's capture worklet, with its echo canceller, run by node-web-audio-api (a Rust Web Audio engine)
 * in an OfflineAudioContext at 48 kHz: the NPC's voice plays into a node standing in for the audio engine's
 * output; that output goes both to the capture node's reference input (as the plugin wires it) and through a
 * simulated room — DelayNode, ConvolverNode with a synthetic RIR, a WaveShaper for a clipping loudspeaker, a
 * GainNode — into the capture node's mic input, mixed with the player's speech when given. A path change is a
 * crossfade between two such rooms. Returns the 24 kHz frames the worklet posted.
 */
import '../../plugin/support/node-audio-env.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAPTURE_PROCESSOR, type CaptureEchoStats, type CaptureFrameMsg, type CaptureProcessorOptions } from '../../../plugin/worklets/messages.ts';
import { buildWorkletFile } from '../../plugin/support/worklet-bundle.ts';
import { sleep } from '../../support/time.ts';
import { syntheticRir, type EchoPathSpec } from './room.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const RATE = 48_000;
let workletFile: Promise<string> | undefined;

export const aecWasmBytes = () => {
  const b = readFileSync(path.join(here, '../../../plugin/aec/webrtc-aec3.wasm'));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};

export interface WorkletRun {
  /** 24 kHz capture, concatenated */
  capture: Float32Array;
  stats: (CaptureEchoStats | undefined)[];
}

function roomNodes(ctx: OfflineAudioContext, spec: EchoPathSpec): { input: AudioNode; output: AudioNode } {
  const delay = new DelayNode(ctx, { delayTime: spec.delayMs / 1000, maxDelayTime: 1 });
  const ir = syntheticRir(spec.rt60, spec.seed ?? 1, RATE);
  const buf = new AudioBuffer({ length: ir.length, numberOfChannels: 1, sampleRate: RATE });
  buf.copyToChannel(new Float32Array(ir), 0);
  const conv = new ConvolverNode(ctx, { buffer: buf, disableNormalization: true, channelCount: 1, channelCountMode: 'explicit' });
  const gain = new GainNode(ctx, { gain: 10 ** (spec.gainDb / 20) });
  let input: AudioNode = delay;
  if (spec.clipping) {
    const curve = new Float32Array(4096);
    for (let i = 0; i < curve.length; i++) {
      const x = (i / (curve.length - 1)) * 2 - 1;
      curve[i] = Math.max(-0.3, Math.min(0.3, 0.35 * Math.tanh(x * 3))); // as room.ts: soft, then hard clip
    }
    const shaper = new WaveShaperNode(ctx, { curve });
    shaper.connect(delay);
    input = shaper;
  }
  delay.connect(conv).connect(gain);
  return { input, output: gain };
}

/**
 * Render `far` (24 kHz NPC speech) through the room, with `near` (24 kHz player speech) at the mic, for as long
 * as `far` lasts. `aec: false` runs the same worklet without a canceller (the raw mic, for the ERLE reference).
 */
export async function runCaptureWorklet(opts: {
  far: Float32Array;
  near?: Float32Array;
  path: EchoPathSpec;
  changeAt?: { seconds: number; path: EchoPathSpec };
  aec: boolean;
}): Promise<WorkletRun> {
  const seconds = opts.far.length / 24_000;
  const ctx = new OfflineAudioContext({ numberOfChannels: 1, length: Math.ceil(seconds * RATE), sampleRate: RATE });
  await ctx.audioWorklet.addModule(await (workletFile ??= buildWorkletFile()));
  const processorOptions: CaptureProcessorOptions = { targetRate: 24_000, frameSamples: 1920, ...(opts.aec ? { aecWasm: aecWasmBytes() } : {}) };
  const capture = new AudioWorkletNode(ctx, CAPTURE_PROCESSOR, {
    numberOfInputs: 2,
    numberOfOutputs: 1, // an output to the destination keeps an offline graph pulling the node
    channelCount: 1,
    channelCountMode: 'explicit',
    processorOptions,
  });
  const frames: CaptureFrameMsg[] = [];
  capture.port.onmessage = (e: MessageEvent<CaptureFrameMsg>) => {
    if (e.data?.type === 'frame') frames.push(e.data);
  };
  capture.connect(new GainNode(ctx, { gain: 0 })).connect(ctx.destination);

  const source = (x: Float32Array) => {
    const b = new AudioBuffer({ length: x.length, numberOfChannels: 1, sampleRate: 24_000 });
    b.copyToChannel(new Float32Array(x), 0);
    const s = new AudioBufferSourceNode(ctx, { buffer: b });
    s.start(0);
    return s;
  };
  // the audio engine's output node: what the speakers play
  const speakers = new GainNode(ctx, { gain: 1 });
  source(opts.far).connect(speakers);
  speakers.connect(capture, 0, 1);
  const room = roomNodes(ctx, opts.path);
  speakers.connect(room.input);
  const mic = new GainNode(ctx, { gain: 1 });
  if (opts.changeAt) {
    const t = opts.changeAt.seconds;
    const a = new GainNode(ctx, { gain: 1 });
    const b = new GainNode(ctx, { gain: 0 });
    a.gain.setValueAtTime(1, t);
    a.gain.linearRampToValueAtTime(0, t + 0.05);
    b.gain.setValueAtTime(0, t);
    b.gain.linearRampToValueAtTime(1, t + 0.05);
    const other = roomNodes(ctx, opts.changeAt.path);
    speakers.connect(other.input);
    room.output.connect(a).connect(mic);
    other.output.connect(b).connect(mic);
  } else room.output.connect(mic);
  if (opts.near) source(opts.near).connect(mic);
  mic.connect(capture, 0, 0);

  await ctx.startRendering();
  // frames come over the worklet's port: let the last ones arrive
  for (let i = 0, n = -1; i < 100 && n !== frames.length; i++) (n = frames.length), await sleep(30);
  frames.sort((x, y) => x.seq - y.seq);
  const out = new Float32Array(frames.length * 1920);
  frames.forEach((f, i) => out.set(f.samples, i * 1920));
  return { capture: out, stats: frames.map((f) => f.echo) };
}
