// Test page: a NullEngine scene using the built plugin bundle the way a game does. Plain JS (bundled by the
// test with esbuild; 'parley-plugin' is aliased to dist/plugin/parley-plugin.js). Results go to window.__log.
import { ParleySession, NpcVoiceBehavior } from 'parley-plugin';
import { NullEngine } from '@babylonjs/core/Engines/nullEngine.js';
import { Scene } from '@babylonjs/core/scene.js';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { TransformNode } from '@babylonjs/core/Meshes/transformNode.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';

const log = (window.__log = { states: [], events: [], levels: [], clock: [], errors: [], ready: false });

window.__start = async (wsUrl, extra = {}) => {
  const engine = new NullEngine();
  const scene = new Scene(engine);
  const camera = new FreeCamera('player', new Vector3(0, 1.7, 0), scene);
  const guard = new TransformNode('guard', scene);
  guard.position.set(2, 1.7, 3);
  const behavior = new NpcVoiceBehavior('guard'); // binds to the session of its scene once connected
  guard.addBehavior(behavior);

  const parley = await ParleySession.connect({ scene, camera, url: wsUrl, roomName: 'parley', ...extra });
  window.__parley = parley;
  parley.onSessionStateObservable.add((e) => log.states.push(e.state));
  parley.onErrorObservable.add((e) => log.errors.push(String(e.message)));
  parley.mic.onLevelObservable.add((e) => log.levels.push(e));
  // each NPC's events are on its voice (created before its first frame plays)
  const listen = (voice) => {
    for (const name of ['SpeechStarted', 'SpeechEnded', 'Interrupted', 'Text', 'Visemes', 'Status']) {
      voice[`on${name}Observable`].add((e) => log.events.push({ name, ...e, track: undefined }));
    }
  };
  for (const voice of parley.voices) listen(voice);
  parley.voices.onVoiceCreatedObservable.add(listen);
  engine.runRenderLoop(() => scene.render());
  // the player walks: the pose goes to the room
  setInterval(() => (camera.position.x += 0.2), 250);
  // the guard's voice clock, sampled
  setInterval(() => {
    const v = behavior.voice;
    if (v) log.clock.push({ at: performance.now(), pos: v.streamPosition, playing: v.playing, ...v.stats });
  }, 50);
  log.ready = true;
  log.state = parley.state;
  log.welcome = parley.welcome;
  log.ctxRate = parley.audioContext.sampleRate;
  log.ctxState = parley.audioContext.state;
};
