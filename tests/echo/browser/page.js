// Test page for the echo test in headless Chromium: the built plugin bundle in a NullEngine scene, with the
// test-only `testEchoPath` hook feeding the page's own output (the audio engine's) through a simulated room —
// DelayNode, ConvolverNode with the synthetic RIR of tests/echo/support/room.ts, GainNode — into the capture
// input, where the fake microphone (a WAV: silence, then the player's speech) joins it. Bundled by the test with
// esbuild ('parley-plugin' aliased to dist/plugin/parley-plugin.js). Results go to window.__log.
import { ParleySession, NpcVoiceBehavior } from 'parley-plugin';
import { NullEngine } from '@babylonjs/core/Engines/nullEngine.js';
import { Scene } from '@babylonjs/core/scene.js';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { TransformNode } from '@babylonjs/core/Meshes/transformNode.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { syntheticRir } from '../support/room.ts';

const log = (window.__log = { frames: [], errors: [], ready: false, t0: 0 });

window.__start = async (wsUrl, o) => {
  const engine = new NullEngine();
  const scene = new Scene(engine);
  const camera = new FreeCamera('player', new Vector3(0, 1.7, 0), scene);
  camera.setTarget(new Vector3(0, 1.7, 1));
  const alex = new TransformNode('alex', scene);
  alex.position.set(0, 1.7, 1); // a metre in front of the player
  alex.addBehavior(new NpcVoiceBehavior('alex'));
  const parley = await ParleySession.connect({
    scene,
    camera,
    url: wsUrl,
    roomName: 'parley',
    echoCancellation: o.aec,
    echoWasmUrl: o.wasmUrl,
    // the browser's own processing off, so the figures are Parley's canceller alone
    mic: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    testEchoPath: (ctx, speakers) => {
      const delay = new DelayNode(ctx, { delayTime: o.delayMs / 1000, maxDelayTime: 1 });
      const ir = syntheticRir(o.rt60, 1, ctx.sampleRate);
      const buffer = new AudioBuffer({ length: ir.length, numberOfChannels: 1, sampleRate: ctx.sampleRate });
      buffer.copyToChannel(ir, 0);
      const conv = new ConvolverNode(ctx, { buffer, disableNormalization: true });
      const gain = new GainNode(ctx, { gain: 10 ** (o.gainDb / 20) });
      speakers.connect(delay);
      delay.connect(conv);
      conv.connect(gain);
      return gain;
    },
  });
  window.__parley = parley;
  parley.onErrorObservable.add((e) => log.errors.push(String(e.message)));
  log.t0 = performance.now();
  parley.mic.onLevelObservable.add((e) => log.frames.push({ at: performance.now() - log.t0, dbfs: e.dbfs, ...parley.mic.echo }));
  engine.runRenderLoop(() => scene.render());
  log.ready = true;
};
