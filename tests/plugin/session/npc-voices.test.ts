/**
 * parley.voices with real voices (node-web-audio-api, Babylon AudioEngineV2 and a NullEngine scene): messages
 * reach each NPC's voice, also before it exists; status comes from the room state only, on each rendered frame.
 */
import '../support/node-audio-env.ts';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AudioEngineV2 } from '@babylonjs/core/AudioV2/abstractAudio/audioEngineV2.js';
import { CreateAudioEngineAsync } from '@babylonjs/core/AudioV2/webAudio/webAudioEngine.js';
import { FreeCamera } from '@babylonjs/core/Cameras/freeCamera.js';
import { NullEngine } from '@babylonjs/core/Engines/nullEngine.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { Observable } from '@babylonjs/core/Misc/observable.js';
import { Scene } from '@babylonjs/core/scene.js';
import { Kind, type NpcEventMsg } from '../../../protocol/messages.ts';
import type { NpcView, PartialRoomStateView } from '../../../protocol/room-view.ts';
import { loadParleyWorklets } from '../../../plugin/audio/worklet-loader.ts';
import { NpcVoices } from '../../../plugin/session/npc-voices.ts';
import type { NpcFrameEvent, NpcStateEvent, NpcTextEvent } from '../../../plugin/types.ts';
import { buildWorkletFile } from '../support/worklet-bundle.ts';

let workletFile = '';
beforeAll(async () => {
  workletFile = await buildWorkletFile();
}, 120_000);

/** A room state the test edits, read through the same view as the real one. */
function roomState() {
  const npcs = new Map<string, Partial<NpcView>>();
  const view = { npcs: npcs as unknown as PartialRoomStateView['npcs'] } as PartialRoomStateView;
  return { npcs, view };
}

let ctx: OfflineAudioContext;
let engine: AudioEngineV2;
let scene: Scene;
let state: ReturnType<typeof roomState>;
let errors: Observable<Error>;
let voices: NpcVoices;

beforeEach(async () => {
  ctx = new OfflineAudioContext(1, 4800, 48_000);
  engine = await CreateAudioEngineAsync({ audioContext: ctx as unknown as AudioContext, disableDefaultUI: true, resumeOnInteraction: false });
  await loadParleyWorklets(ctx, workletFile);
  scene = new Scene(new NullEngine());
  new FreeCamera('cam', new Vector3(0, 0, 0), scene);
  state = roomState();
  errors = new Observable<Error>();
  voices = new NpcVoices({ scene, audioContext: ctx as unknown as AudioContext, audioEngine: engine, roomState: state.view, onErrorObservable: errors });
}, 120_000);

afterEach(() => {
  voices._dispose();
  engine.dispose();
  scene.getEngine().dispose();
});

const event = (npc: string, e: object) => ({ k: Kind.NpcEvent, npc, ...e }) as NpcEventMsg;

describe('NpcVoices', () => {
  it('hands speech and text that arrive before the voice exists to it, in order', async () => {
    const seen: string[] = [];
    voices.onVoiceCreatedObservable.add((v) => {
      v.onSpeechStartedObservable.add((e: NpcFrameEvent) => seen.push(`start ${e.npc} ${e.i}`));
      v.onTextObservable.add((e: NpcTextEvent) => seen.push(`text ${e.i} ${e.piece}`));
    });
    voices._receive(event('alex', { e: 'speech-started', i: 3 }));
    voices._receive({ k: Kind.Text, npc: 'alex', i: 4, piece: '▁Hey' });
    expect(voices.get('alex')).toBeNull();
    const alex = await voices.getAsync('alex');
    expect(voices.get('alex')).toBe(alex);
    expect([...voices]).toEqual([alex]);
    expect(seen).toEqual(['start alex 3', 'text 4 ▁Hey']);
    const cut: NpcFrameEvent[] = [];
    alex.onInterruptedObservable.add((e) => cut.push(e));
    voices._receive(event('alex', { e: 'interrupted', i: 9 }));
    expect(cut).toEqual([{ npc: 'alex', i: 9 }]);
  }, 120_000);

  it("a pause drops the voice's buffer like an interruption but is told apart: captions and words stand", async () => {
    const alex = await voices.getAsync('alex');
    const seen: string[] = [];
    alex.onInterruptedObservable.add((e) => seen.push(`interrupted ${e.i}`));
    alex.onPausedObservable.add((e) => seen.push(`paused ${e.i}`));
    alex.onResumedObservable.add((e) => seen.push(`resumed ${e.i}`));
    const posted: unknown[] = [];
    const port = (alex as unknown as { node: { port: MessagePort } }).node.port;
    const post = port.postMessage.bind(port);
    port.postMessage = (m: unknown) => (posted.push(m), post(m));
    voices._receive(event('alex', { e: 'paused', i: 12 }));
    voices._receive(event('alex', { e: 'resumed', i: 17 }));
    expect(seen).toEqual(['paused 12', 'resumed 17']);
    expect(posted).toEqual([{ type: 'flush', seq: 1 }]); // the playout buffer drops what it holds
    expect(alex.playing).toBe(false); // the clock stands until the worklet has flushed
  }, 120_000);

  it("reads each voice's status from the room state once per frame, and ignores status events", async () => {
    state.npcs.set('alex', { status: 'warming', progress: 0.25, detail: '' });
    const alex = await voices.getAsync('alex');
    expect(alex.status).toBe('warming'); // the state's value at creation, without an event
    const changes: NpcStateEvent[] = [];
    alex.onStatusObservable.add((e) => changes.push({ ...e }));
    scene.render();
    expect(changes).toEqual([]);
    state.npcs.set('alex', { status: 'warming', progress: 0.5, detail: '' });
    voices._receive(event('alex', { e: 'state', state: 'error', detail: 'not from here' }));
    scene.render();
    state.npcs.set('alex', { status: 'listening', progress: 1, detail: '' });
    scene.render();
    scene.render();
    state.npcs.set('alex', { status: 'error', progress: 0, detail: 'engine crashed' });
    scene.render();
    expect(changes).toEqual([
      { npc: 'alex', state: 'warming', progress: 0.5 },
      { npc: 'alex', state: 'listening' },
      { npc: 'alex', state: 'error', detail: 'engine crashed' },
    ]);
    expect(alex.status).toBe('error');
  }, 120_000);

  it('reports a malformed voice message and validates the volume', async () => {
    const errs: string[] = [];
    errors.add((e) => errs.push(e.message));
    voices._receive({ k: Kind.NpcVoice, npc: 'alex', i: 1.5, t: 0, codec: 'pcm16', data: new Uint8Array(4) });
    expect(errs).toEqual(['Parley: malformed NPC voice message']);
    await voices.getAsync('alex');
    voices.volume = 0.5; // Babylon ramps the gain to it (parameterRampDuration), so the sound's own value lags
    expect(voices.volume).toBe(0.5);
    expect(() => (voices.volume = -1)).toThrow(/volume/);
  }, 120_000);
});
