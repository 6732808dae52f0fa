/**
 * NPC voices as spatial sound, end to end in Node: the real playback worklet (jitter buffer, resampler) runs in
 * node-web-audio-api, wrapped by Babylon's AudioEngineV2 as an HRTF / inverse-distance sound source attached to
 * a node of a NullEngine scene, with the listener on the camera. Fixed positions render in an
 * OfflineAudioContext; the moving NPC runs in real time, as in a game.
 */
import '../support/node-audio-env.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { CreateAudioEngineAsync } from '@babylonjs/core/AudioV2/webAudio/webAudioEngine.js';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { NullEngine } from '@babylonjs/core/Engines/nullEngine.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { TransformNode } from '@babylonjs/core/Meshes/transformNode.js';
import { Scene } from '@babylonjs/core/scene.js';
import { NpcVoice } from '../../../plugin/audio/npc-voice.ts';
import { loadParleyWorklets } from '../../../plugin/audio/worklet-loader.ts';
import { buildWorkletFile } from '../support/worklet-bundle.ts';
import { rms } from '../../support/audio.ts';
import { sleep } from '../../support/time.ts';
import { engineOutputNode } from '../../../plugin/audio/babylon-internals.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

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
}

/** Render `seconds` offline with the NPC at `at`. */
async function renderNpc(at: Vector3, seconds: number): Promise<Render> {
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
  await sleep(200);

  const buffer = await ctx.startRendering();
  voice.dispose();
  audio.dispose();
  scene.dispose();
  engine.dispose();
  return { left: buffer.getChannelData(0).slice(), right: buffer.getChannelData(1).slice() };
}

/** RMS level between two times, in seconds. */
function levelOver(x: Float32Array, fromSec: number, toSec: number): number {
  return rms(x, Math.floor(fromSec * RATE), Math.floor(toSec * RATE));
}

/**
 * Real time, as in a game: a running AudioContext (no output device), Babylon's spatial auto-update on a
 * requestAnimationFrame loop, the NPC moved from the left (x = −5) to the right (x = +5) after 1 s. The engine's
 * output is re-routed through a recorder worklet to capture what the listener hears.
 */
async function recordMovingNpc(): Promise<Render & { clock: Array<{ at: number; pos: number }> }> {
  const g = globalThis as Record<string, unknown>;
  const savedRaf = g.requestAnimationFrame;
  g.requestAnimationFrame = (cb: (t: number) => void) => setTimeout(() => cb(performance.now()), 16);
  const ctx = new AudioContext({ sinkId: { type: 'none' }, sampleRate: RATE } as AudioContextOptions);
  try {
    const audio = await CreateAudioEngineAsync({ audioContext: ctx, disableDefaultUI: true, resumeOnInteraction: false });
    const engine = new NullEngine();
    const scene = new Scene(engine);
    const camera = new FreeCamera('player', new Vector3(0, 0, 0), scene);
    camera.setTarget(new Vector3(0, 0, 1));
    camera.computeWorldMatrix();
    audio.listener.attach(camera);
    await loadParleyWorklets(ctx, workletFile);
    await ctx.audioWorklet.addModule(path.join(here, '../support/recorder-worklet.js'));
    const recorder = new AudioWorkletNode(ctx, 'parley-test-recorder', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: 2,
      channelCountMode: 'explicit',
      outputChannelCount: [2],
    });
    const mainOut = engineOutputNode(audio);
    mainOut.disconnect();
    mainOut.connect(recorder);
    recorder.connect(ctx.destination);

    const voice = await NpcVoice.create('guard', ctx, audio);
    const npc = new TransformNode('guard', scene);
    npc.position.set(-5, 0, 1);
    npc.computeWorldMatrix(true);
    voice.attachTo(npc);

    // Everything is paced by the audio actually rendered, not by the wall clock, so a loaded machine only
    // makes the test slower: frames stay 200 ms ahead of what was heard, the NPC moves once 1 s was heard.
    const left: number[] = [];
    const right: number[] = [];
    const clock: Array<{ at: number; pos: number }> = [];
    let i = 0;
    let moveAt = -1;
    const feed = (heardSec: number) => {
      while (i * 0.08 < heardSec + 0.2) voice.pushFrame(i, toneFrame(i++));
    };
    feed(0);
    await new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error('the real-time context rendered too little audio')), 100_000);
      recorder.port.onmessage = (e: MessageEvent<{ t: number; l: Float32Array; r: Float32Array }>) => {
        left.push(...e.data.l);
        right.push(...e.data.r);
        const heard = left.length / RATE;
        feed(heard);
        if (voice.playing && left.length % 2560 === 0) clock.push({ at: heard * 1000, pos: voice.streamPosition });
        if (moveAt < 0 && heard >= 1) {
          npc.position.set(5, 0, 1); // the game moves the NPC; Babylon's attachment follows on its next update
          npc.computeWorldMatrix(true);
          moveAt = heard;
        }
        if (heard >= 2) {
          clearTimeout(timeout);
          recorder.port.onmessage = null;
          resolve();
        }
      };
    });
    voice.dispose();
    await ctx.close(); // before audio.dispose(), which would close it again without awaiting (and panic)
    audio.dispose();
    scene.dispose();
    engine.dispose();
    return { left: Float32Array.from(left), right: Float32Array.from(right), clock };
  } finally {
    g.requestAnimationFrame = savedRaf;
    if (ctx.state !== 'closed') await ctx.close();
  }
}

describe('NPC voice as Babylon spatial sound (node-web-audio-api + NullEngine)', () => {
  it('an NPC to the player’s right is louder in the right channel, and one to the left in the left', async () => {
    const right = await renderNpc(new Vector3(5, 0, 0), 1);
    const left = await renderNpc(new Vector3(-5, 0, 0), 1);
    const r = { L: levelOver(right.left, 0.3, 1), R: levelOver(right.right, 0.3, 1) };
    const l = { L: levelOver(left.left, 0.3, 1), R: levelOver(left.right, 0.3, 1) };
    console.log('NPC at x=+5: L %s R %s; at x=-5: L %s R %s', r.L.toFixed(4), r.R.toFixed(4), l.L.toFixed(4), l.R.toFixed(4));
    expect(r.R).toBeGreaterThan(0.01); // it plays at all
    // HRTF level differences at 5 m to the side are a few dB (about 3.5 dB measured here)
    expect(r.R / r.L).toBeGreaterThan(1.3);
    expect(l.L / l.R).toBeGreaterThan(1.3);
  });

  it('a farther NPC is quieter (inverse distance)', async () => {
    const near = await renderNpc(new Vector3(0, 0, 2), 1);
    const far = await renderNpc(new Vector3(0, 0, 8), 1);
    const nearLevel = levelOver(near.left, 0.3, 1) + levelOver(near.right, 0.3, 1);
    const farLevel = levelOver(far.left, 0.3, 1) + levelOver(far.right, 0.3, 1);
    console.log('NPC at 2 m: %s, at 8 m: %s (ratio %s; inverse model predicts 4)', nearLevel.toFixed(4), farLevel.toFixed(4), (nearLevel / farLevel).toFixed(2));
    expect(nearLevel / farLevel).toBeGreaterThan(3);
    expect(nearLevel / farLevel).toBeLessThan(5);
  });

  it('a voice on an NPC that moves follows it (real-time context, Babylon auto-updating the attachment)', async () => {
    const run = await recordMovingNpc();
    const before = { L: levelOver(run.left, 0.45, 0.95), R: levelOver(run.right, 0.45, 0.95) };
    const after = { L: levelOver(run.left, 1.25, 1.75), R: levelOver(run.right, 1.25, 1.75) };
    console.log('moving NPC: before L %s R %s, after L %s R %s; clock %o', before.L.toFixed(4), before.R.toFixed(4), after.L.toFixed(4), after.R.toFixed(4), run.clock);
    expect(before.L / before.R).toBeGreaterThan(1.3);
    expect(after.R / after.L).toBeGreaterThan(1.3);
    // the samples-played clock, read on the main thread, runs at the stream rate: 24 samples per ms of audio
    const [a, b] = [run.clock[2], run.clock.at(-1)!];
    const rate = (b.pos - a.pos) / (b.at - a.at);
    expect(rate).toBeGreaterThan(22);
    expect(rate).toBeLessThan(26);
  }, 120_000); // real time; a loaded machine renders slower
});
