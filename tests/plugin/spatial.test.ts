/**
 * NPC voices as spatial sound, end to end in Node: the real playback worklet (jitter buffer, resampler) runs in
 * node-web-audio-api, wrapped by Babylon's AudioEngineV2 as an HRTF / inverse-distance sound source attached to
 * a node of a NullEngine scene, with the listener on the camera. An OfflineAudioContext renders the result.
 */
import './support/node-audio-env.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { CreateAudioEngineAsync } from '@babylonjs/core/AudioV2/webAudio/webAudioEngine.js';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { NullEngine } from '@babylonjs/core/Engines/nullEngine.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { TransformNode } from '@babylonjs/core/Meshes/transformNode.js';
import { Scene } from '@babylonjs/core/scene.js';
import { NpcVoice } from '../../plugin/audio/npc-voice.ts';
import { loadParleyWorklets } from '../../plugin/audio/worklet-loader.ts';
import { buildWorkletFile } from './support/worklet-bundle.ts';

const RATE = 48_000;
let workletFile = '';
beforeAll(async () => {
  workletFile = await buildWorkletFile();
});

/** A voice frame: 1920 samples of a 300 Hz + 2.5 kHz tone at 24 kHz (the head shadows the upper one most). */
function toneFrame(i: number): Float32Array {
  const f = new Float32Array(1920);
  for (let n = 0; n < 1920; n++) {
    const t = (i * 1920 + n) / 24_000;
    f[n] = 0.25 * Math.sin(2 * Math.PI * 300 * t) + 0.25 * Math.sin(2 * Math.PI * 2500 * t);
  }
  return f;
}

interface Render {
  left: Float32Array;
  right: Float32Array;
  positions: number[];
}

/** Render `seconds` with the NPC at `at`; optionally move it to `moveTo` at `moveAt` seconds. */
async function renderNpc(at: Vector3, seconds: number, moveTo?: Vector3, moveAt = 0): Promise<Render> {
  const ctx = new OfflineAudioContext({ numberOfChannels: 2, length: RATE * seconds, sampleRate: RATE });
  // Babylon types the option as AudioContext; it detects and supports an OfflineAudioContext at run time.
  const audio = await CreateAudioEngineAsync({ audioContext: ctx as unknown as AudioContext, disableDefaultUI: true, resumeOnInteraction: false });
  const engine = new NullEngine();
  const scene = new Scene(engine);
  const camera = new FreeCamera('player', new Vector3(0, 0, 0), scene);
  camera.setTarget(new Vector3(0, 0, 1)); // looking +Z, so +X is the player's right
  camera.computeWorldMatrix();
  audio.listener.attach(camera);
  audio.listener.update();

  await loadParleyWorklets(ctx, workletFile);
  // Offline rendering delivers every frame before the first quantum: let the buffer hold them all.
  const voice = await NpcVoice.create('guard', ctx, audio, { jitter: { overrunMarginMs: 60_000 } });
  const npc = new TransformNode('guard', scene);
  npc.position.copyFrom(at);
  npc.computeWorldMatrix(true);
  voice.attachTo(npc);
  voice.sound.spatial.update();

  const frames = Math.ceil((seconds * 1000) / 80) + 2;
  for (let i = 0; i < frames; i++) voice.pushFrame(i, toneFrame(i));
  // The worklet runs on its own thread: give it time to take the frames before rendering starts.
  await new Promise((r) => setTimeout(r, 200));

  // Pause the render once, at a quantum-aligned time, to move the NPC and read the samples-played clock.
  // (node-web-audio-api 1.0.9 panics now and then when a second suspend is registered, so there is one.)
  const positions: number[] = [];
  const quantum = 128 / RATE;
  const pause = Math.round(moveAt / quantum) * quantum;
  if (pause > 0) {
    void ctx.suspend(pause).then(async () => {
      if (moveTo) {
        npc.position.copyFrom(moveTo);
        npc.computeWorldMatrix(true);
        voice.sound.spatial.update();
      }
      await new Promise((r) => setTimeout(r, 30)); // let the worklet's clock report arrive
      positions.push(voice.streamPosition);
      await ctx.resume();
    });
  }
  const buffer = await ctx.startRendering();
  voice.dispose();
  audio.dispose();
  scene.dispose();
  engine.dispose();
  return { left: buffer.getChannelData(0).slice(), right: buffer.getChannelData(1).slice(), positions };
}

function rms(x: Float32Array, from: number, to: number): number {
  let s = 0;
  const a = Math.floor(from * RATE);
  const b = Math.floor(to * RATE);
  for (let i = a; i < b; i++) s += x[i] * x[i];
  return Math.sqrt(s / (b - a));
}

describe('NPC voice as Babylon spatial sound (node-web-audio-api + NullEngine)', () => {
  it('an NPC to the player’s right is louder in the right channel, and one to the left in the left', async () => {
    const right = await renderNpc(new Vector3(5, 0, 0), 1);
    const left = await renderNpc(new Vector3(-5, 0, 0), 1);
    const r = { L: rms(right.left, 0.3, 1), R: rms(right.right, 0.3, 1) };
    const l = { L: rms(left.left, 0.3, 1), R: rms(left.right, 0.3, 1) };
    console.log('NPC at x=+5: L %s R %s; at x=-5: L %s R %s', r.L.toFixed(4), r.R.toFixed(4), l.L.toFixed(4), l.R.toFixed(4));
    expect(r.R).toBeGreaterThan(0.01); // it plays at all
    // HRTF level differences at 5 m to the side are a few dB (about 3.5 dB measured here)
    expect(r.R / r.L).toBeGreaterThan(1.3);
    expect(l.L / l.R).toBeGreaterThan(1.3);
  });

  it('a farther NPC is quieter (inverse distance)', async () => {
    const near = await renderNpc(new Vector3(0, 0, 2), 1);
    const far = await renderNpc(new Vector3(0, 0, 8), 1);
    const nearLevel = rms(near.left, 0.3, 1) + rms(near.right, 0.3, 1);
    const farLevel = rms(far.left, 0.3, 1) + rms(far.right, 0.3, 1);
    console.log('NPC at 2 m: %s, at 8 m: %s (ratio %s; inverse model predicts 4)', nearLevel.toFixed(4), farLevel.toFixed(4), (nearLevel / farLevel).toFixed(2));
    expect(nearLevel / farLevel).toBeGreaterThan(3);
    expect(nearLevel / farLevel).toBeLessThan(5);
  });

  it('a voice on an NPC that moves follows it, and the samples-played clock advances meanwhile', async () => {
    const run = await renderNpc(new Vector3(-5, 0, 1), 2, new Vector3(5, 0, 1), 1);
    const before = { L: rms(run.left, 0.4, 0.95), R: rms(run.right, 0.4, 0.95) };
    const after = { L: rms(run.left, 1.2, 1.95), R: rms(run.right, 1.2, 1.95) };
    console.log('moving NPC: before L %s R %s, after L %s R %s; clock %o', before.L.toFixed(4), before.R.toFixed(4), after.L.toFixed(4), after.R.toFixed(4), run.positions);
    expect(before.L / before.R).toBeGreaterThan(1.3);
    expect(after.R / after.L).toBeGreaterThan(1.3);
    // the clock is on the stream scale: 1 s into playback it reads about 24 000 samples (frames were all
    // buffered before the render began, so playback started at once)
    expect(run.positions).toHaveLength(1);
    expect(Math.abs(run.positions[0] - 24_000)).toBeLessThan(0.05 * 24_000);
  });
});
