/**
 * The Mars-mission sample game: how a Babylon.js game uses Parley (docs/walkthrough.md follows this file).
 *
 *  1. build the scene: the ship, the crew (talking heads with viseme morph targets), a first-person camera;
 *  2. on the start screen's click: unlock audio, ask for the microphone;
 *  3. join the game's Colyseus room with Parley's join options, and connect Parley to it;
 *  4. give each crew member's head an NpcVoiceBehavior (spatial voice + lip-sync), and captions;
 *  5. each frame, show the room state: who hears you, NPC status, who is talking to whom, the engine label, latency.
 *
 * URL options: ?server=ws://host:port (default: this page's host), ?scale=2 (render at half resolution),
 * ?fps=30 (cap the frame rate; for slow machines and tests).
 */
import { CreateAudioEngineAsync } from '@babylonjs/core/AudioV2/webAudio/webAudioEngine.js';
import { Engine } from '@babylonjs/core/Engines/engine.js';
import { Color3, Color4 } from '@babylonjs/core/Maths/math.color.js';
import { Vector3 } from '@babylonjs/core/Maths/math.vector.js';
import { Scene } from '@babylonjs/core/scene.js';
import { Client, type Room } from '@colyseus/sdk';
import {
  CaptionOverlay,
  NpcCaptions,
  NpcVoiceBehavior,
  ParleySession,
  bindCaptions,
  levelFromAnalyzer,
  type NpcVoice,
  type RoomLike,
} from '../plugin/index.ts';
import { VISEMES } from '../protocol/visemes.ts';
import { npcStatusOf, type PartialRoomStateView } from '../protocol/room-view.ts';
import { MARS_MISSION_NPCS, MARS_MISSION_ROOM, PLAYER_START } from './layout.ts';
import { LatencyMeter } from './latency.ts';
import { CrewMember } from './npc/crew-member.ts';
import { EYE_HEIGHT, createPlayer, placePlayer } from './player.ts';
import { buildShip } from './scene/ship.ts';
import { roomAt } from './scene/ship-plan.ts';
import { installTestHook, type NpcReadout } from './test-hook.ts';
import { Hud } from './ui/hud.ts';
import { NpcLabels } from './ui/labels.ts';
import { StartScreen, type Boarding } from './ui/start-screen.ts';

const PTT_KEY = 'KeyV';
const PTT_LABEL = 'V';
const params = new URLSearchParams(location.search);
const serverUrl = params.get('server') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;

// ── 1. the scene ─────────────────────────────────────────────────────────────────────────────────────────────
const canvas = document.getElementById('game') as HTMLCanvasElement;
const hud = new Hud(PTT_LABEL);
let engine: Engine;
try {
  engine = new Engine(canvas, true, { stencil: false, audioEngine: false });
} catch (err) {
  document.getElementById('start-status')!.textContent =
    `This browser cannot show the game: WebGL is unavailable (${(err as Error).message}). Try another browser or enable hardware acceleration.`;
  throw err;
}
engine.setHardwareScalingLevel(Number(params.get('scale')) || 1 / Math.min(window.devicePixelRatio || 1, 1.5));
const scene = new Scene(engine);
scene.clearColor = new Color4(0.01, 0.01, 0.02, 1);
scene.ambientColor = new Color3(0.2, 0.2, 0.25);
const ship = buildShip(scene);
const crew = new Map<string, CrewMember>();
for (const spot of MARS_MISSION_NPCS) {
  const member = new CrewMember(spot.sheet, scene, spot.position, spot.facing);
  const room = roomAt(spot.position[0], spot.position[2])?.id ?? 'corridor';
  for (const mesh of member.meshes) ship.light(room, mesh);
  crew.set(spot.sheet, member);
}
const camera = createPlayer(scene, canvas, PLAYER_START, [PLAYER_START[0], PLAYER_START[1], PLAYER_START[2] + 10]);
const labels = new NpcLabels();

// ── what the game keeps while connected ──────────────────────────────────────────────────────────────────────
let parley: ParleySession | null = null;
let room: Room | null = null;
let micAvailable = false;
let headphonesChosen = false;
let lastMic = { sent: false, dbfs: -100 };
let rttMs: number | null = null;
let audioContext: AudioContext | null = null;
const behaviors = new Map<string, NpcVoiceBehavior>();
const levels = new Map<string, () => number>();
const captionLines = new Map<string, NpcCaptions>();
const latency = new LatencyMeter();
/** each NPC's synced talkingTo as last seen (the test hook logs its changes) */
const talkingTo = new Map<string, string>();
// The room state (typed by protocol/room-view.ts; the server owns all of it) fills in with the first patch
// after joining: until then its maps are missing. NPC status, progress and detail are read only from here.
const state = () => (room?.state as PartialRoomStateView | undefined) ?? null;
const npcState = (id: string) => state()?.npcs?.get(id);
const myState = () => (room ? state()?.players?.get(room.sessionId) : undefined);
const nameOf = (id: string) => npcState(id)?.name || id[0].toUpperCase() + id.slice(1);
/** Who is talking to whom, from the synced `talkingTo` of each speaking NPC: "Dr. Okafor → you". */
function talkLines(): string[] {
  const lines: string[] = [];
  state()?.npcs?.forEach((npc, id) => {
    if (npcStatusOf(npc) !== 'speaking') return;
    const to = npc.talkingTo ?? '';
    const whom = !to ? 'no one in particular' : to === room?.sessionId ? 'you' : state()?.npcs?.get(to) ? nameOf(to) : 'another player';
    lines.push(`${nameOf(id)} → ${whom}`);
  });
  return lines;
}

const hook = installTestHook({
  ready: () => parley?.state === 'ready',
  session: () => parley?.state ?? 'not connected',
  engine: () => state()?.engine ?? parley?.welcome?.engine ?? '',
  heardBy: () => myState()?.heardBy ?? '',
  self: () => room?.sessionId ?? '',
  talk: () => document.getElementById('hud-talk')?.textContent ?? '',
  mic: () => ({
    mode: parley?.mic.mode ?? '',
    muted: parley?.mic.muted ?? false,
    talking: parley?.mic.talking ?? false,
    sentFrames: parley?.mic.sentFrames ?? 0,
    ...lastMic,
    speaking: latency.playerTalking,
  }),
  npcs: () => {
    const out: Record<string, NpcReadout> = {};
    for (const [id, member] of crew) {
      const voice = behaviors.get(id)?.voice ?? null;
      const mtm = member.head.mesh.morphTargetManager!;
      out[id] = {
        status: npcStatusOf(npcState(id)),
        playing: voice?.playing ?? false,
        streamPosition: voice?.streamPosition ?? 0,
        bufferedMs: voice?.stats.bufferedMs ?? 0,
        underruns: voice?.stats.underruns ?? 0,
        level: levels.get(id)?.() ?? 0,
        influences: VISEMES.map((_, i) => mtm.getTarget(i)!.influence),
        talkingTo: npcState(id)?.talkingTo ?? '',
      };
    }
    return out;
  },
  caption: () => [...document.querySelectorAll('.parley-caption-line')].map((e) => e.textContent ?? '').filter(Boolean).join('\n'),
  latency: () => ({ replies: [...latency.replies], yields: [...latency.yields] }),
  echo: () => ({ ...(parley?.mic.echo ?? { on: false, erleDb: NaN, delayMs: NaN, costMs: NaN }) }),
  fps: () => engine.getFps(),
  audioTime: () => audioContext?.currentTime ?? 0,
  setRenderQuality: (scale, fps) => {
    engine.setHardwareScalingLevel(scale);
    maxFps = fps;
  },
  teleport: (at, lookAt) => placePlayer(camera, at, lookAt),
  walkTo: (npc, distance) => {
    const spot = MARS_MISSION_NPCS.find((s) => s.sheet === npc);
    const member = crew.get(npc);
    if (!spot || !member) return false;
    const head = member.headPosition;
    placePlayer(camera, [spot.position[0] + spot.facing[0] * distance, EYE_HEIGHT, spot.position[2] + spot.facing[2] * distance], [head.x, head.y, head.z]);
    return true;
  },
});

// ── 3. join the room and connect Parley ─────────────────────────────────────────────────────────────────────
async function joinShip(b: Boarding): Promise<void> {
  try {
    // The game owns its room (its own state, other players); Parley rides on it with its join options.
    room = await new Client(serverUrl).joinOrCreate(MARS_MISSION_ROOM, ParleySession.joinOptions());
  } catch (err) {
    const msg = (err as Error)?.message || String(err);
    const refused = /protocol|version/i.test(msg);
    throw new Error(
      refused
        ? `The game server refused to let you in: ${msg}`
        : `Cannot reach the game server at ${serverUrl} (${msg || 'no answer'}). Is it running? Start it with \`npm start\`, then try again.`,
    );
  }
  try {
    // The game's own audio engine (music and effects would share it), on the context the click unlocked;
    // the start screen is the game's unlock UI, so Babylon's unmute button is turned off.
    audioContext = b.audioContext;
    const audioEngine = await CreateAudioEngineAsync({
      audioContext: b.audioContext,
      listenerEnabled: true,
      resumeOnInteraction: true,
      disableDefaultUI: true,
    });
    parley = await ParleySession.connect({
      scene,
      camera,
      room: room as unknown as RoomLike,
      audioEngine,
      mic: b.stream ? { stream: b.stream } : false,
      mode: b.mode,
      // the start screen's open-mic choice is the player saying they wear headphones; with speakers, the
      // plugin cancels the NPC voices the speakers play from the mic (echo cancellation, on by default)
      headphones: b.mode === 'open-mic',
      echoWasmUrl: '/dist/plugin/webrtc-aec3.wasm',
      pushToTalkKey: PTT_KEY,
      voice: { spatial: { minDistance: 1.5, rolloffFactor: 1.1 } },
      // This game bundles the plugin from source, so the worklet code is not inlined: load the built file the
      // server serves. (A game using the built plugin bundle, dist/plugin/parley-plugin.js, leaves this out.)
      workletUrl: '/dist/plugin/parley-worklets.js',
    });
  } catch (err) {
    void room.leave(true).catch(() => {});
    room = null;
    throw new Error(`Connected, but the voice session did not start: ${(err as Error).message}`);
  }
  micAvailable = b.stream !== null;
  headphonesChosen = b.mode === 'open-mic';
  wireParley(parley, room, b.stream);
}

// ── 4. voices, lip-sync, captions and events ────────────────────────────────────────────────────────────────
function wireParley(p: ParleySession, r: Room, stream: MediaStream | null): void {
  hud.show();
  hud.setSession(p.state);
  const overlay = new CaptionOverlay();
  for (const [id, member] of crew) {
    // The voice plays from the head (spatial, HRTF) and its viseme morph targets follow the voice's clock.
    const behavior = new NpcVoiceBehavior(id, p);
    member.head.mesh.addBehavior(behavior);
    behaviors.set(id, behavior);
    behavior.onVoiceReadyObservable.add((voice: NpcVoice) => {
      const captions = new NpcCaptions({ clock: voice, leadFrames: p.welcome?.lead ?? 0 }).attach(scene);
      bindCaptions(voice, captions);
      overlay.show(captions, nameOf(id));
      captionLines.set(id, captions);
      levels.set(id, levelFromAnalyzer(voice.sound.analyzer));
    });
  }

  const t = () => performance.now();
  p.onSessionStateObservable.add(({ state: s, reason }) => {
    hud.setSession(s, reason);
    hook.event({ t: t(), name: 'session', detail: s });
    if (s === 'ready') hud.banner(null);
    else if (s === 'reconnecting') hud.banner('Connection to the game server lost — reconnecting…', 'info');
    else if (s === 'rejoining') hud.banner('The game server went away — joining the room on another one…', 'info');
    else if (s === 'disconnected') hud.banner(`The game server is gone${reason ? ` (${reason})` : ''}. Reload the page once it is back.`);
    else if (s === 'refused') hud.banner(`The game server refused the voice session${reason ? `: ${reason}` : ''}.`);
  });
  // Each NPC's events come from its voice (the voice exists before any of its audio plays).
  const listen = (voice: NpcVoice) => {
    voice.onSpeechStartedObservable.add(({ npc, i }) => {
      latency.onNpcSpeech(npc, true);
      hook.event({ t: t(), name: 'speech-started', npc, i });
    });
    voice.onSpeechEndedObservable.add(({ npc, i }) => {
      latency.onNpcSpeech(npc, false);
      hook.event({ t: t(), name: 'speech-ended', npc, i });
    });
    voice.onInterruptedObservable.add(({ npc, i }) => {
      latency.onInterrupted(t(), npc);
      hook.event({ t: t(), name: 'interrupted', npc, i, pos: voice.streamPosition });
    });
    voice.onPausedObservable.add(({ npc, i }) => {
      latency.onPaused(t(), npc);
      hook.event({ t: t(), name: 'paused', npc, i, pos: voice.streamPosition });
    });
    voice.onResumedObservable.add(({ npc, i }) => {
      latency.onResumed(npc);
      hook.event({ t: t(), name: 'resumed', npc, i });
    });
    // status comes from the room state; the voice says when it changes
    voice.onStatusObservable.add(({ npc, state: s, detail }) => {
      if (s !== 'error') return;
      hook.event({ t: t(), name: 'npc-error', npc, detail });
      hud.banner(`${nameOf(npc)} is unavailable: ${detail ?? 'error'}`, 'info');
    });
  };
  for (const voice of p.voices) listen(voice);
  p.voices.onVoiceCreatedObservable.add(listen);
  p.onRefusedObservable.add(({ code, message }) => {
    hook.event({ t: t(), name: 'refused', detail: `${code}: ${message}` });
    console.warn(`[parley] the server refused something we sent (${code}): ${message}`);
  });
  p.onErrorObservable.add((err) => console.warn(`[parley] ${err.message}`));
  p.mic.onLevelObservable.add(({ dbfs, sent }) => {
    lastMic = { sent, dbfs };
    latency.onMic(t(), dbfs, sent);
  });
  stream?.getAudioTracks()[0]?.addEventListener('ended', () => hud.banner('The microphone was disconnected. You can still listen; reload to use it again.', 'info'));

  window.addEventListener('keydown', (e) => {
    if (e.repeat) return;
    if (e.code === 'KeyM') p.mic.muted = !p.mic.muted;
    if (e.code === 'KeyP') {
      p.mic.mode = p.mic.mode === 'open-mic' ? 'push-to-talk' : 'open-mic';
      p.mic.talking = false;
    }
  });
  // network round trip, from the Colyseus SDK's ping
  const ping = () => r.ping((ms) => (rttMs = ms));
  ping();
  setInterval(ping, 2000);
  canvas.focus();
}

// ── 5. every frame: the crew, labels, HUD ───────────────────────────────────────────────────────────────────
const started = performance.now();
let last = started;
const eye = new Vector3();
scene.onBeforeRenderObservable.add(() => {
  const now = performance.now();
  const t = (now - started) / 1000;
  const dt = Math.min(0.1, (now - last) / 1000);
  last = now;
  ship.update(t);
  const s = state();
  const me = myState();
  let audible: NpcVoice | null = null;
  for (const [id, member] of crew) {
    const npc = npcState(id);
    // turn towards the player this NPC hears best: this player from the camera, others from the room state
    let lookAt: Vector3 | null = null;
    if (me?.heardBy === id) lookAt = eye.copyFrom(camera.globalPosition);
    else s?.players?.forEach((pl) => {
      if (!lookAt && pl.heardBy === id) lookAt = new Vector3(pl.x, pl.y, pl.z);
    });
    const level = levels.get(id)?.() ?? 0;
    const to = npc?.talkingTo ?? '';
    if ((talkingTo.get(id) ?? '') !== to) {
      talkingTo.set(id, to);
      hook.event({ t: now, name: 'talking-to', npc: id, detail: to });
    }
    member.update({ t, dt, status: npcStatusOf(npc), progress: npc?.progress ?? 0, lookAt, level });
    labels.update(id, member.headPosition.add(new Vector3(0, 0.42, 0)), { name: npc?.name ?? nameOf(id), status: npc?.status ?? '', hearsYou: me?.heardBy === id }, scene, camera, engine);
    const voice = behaviors.get(id)?.voice ?? null;
    if (voice) {
      latency.onNpcLevel(now, id, level);
      // the HUD's buffer figure follows the voice of the NPC that hears the player (or any that is loud)
      if (id === me?.heardBy || (!audible && level > 0.004)) audible = voice;
      const mtm = member.head.mesh.morphTargetManager!;
      let mouth = 0;
      let top = 0;
      for (let v = 1; v < mtm.numTargets; v++) {
        const x = mtm.getTarget(v)!.influence;
        if (x > mouth) [mouth, top] = [x, v];
      }
      hook.trace({ t: now, npc: id, playing: voice.playing, pos: voice.streamPosition, level, mouth, top });
    }
  }
  if (parley) {
    hud.setEngine(s?.engine || parley.welcome?.engine || '');
    hud.setHeardBy(me?.heardBy ? nameOf(me.heardBy) : null);
    hud.setTalk(talkLines());
    hud.setMic({ available: micAvailable, mode: parley.mic.mode, muted: parley.mic.muted, talking: parley.mic.talking, ...lastMic });
    hud.setEcho({ on: parley.mic.echo.on, erleDb: parley.mic.echo.erleDb, headphones: headphonesChosen });
    const stats = (audible as NpcVoice | null)?.stats;
    hud.setLatency({
      rttMs,
      bufferMs: stats?.bufferedMs ?? null,
      targetMs: stats?.targetMs ?? null,
      underruns: stats?.underruns ?? null,
      replyMs: latency.lastReplyMs,
      yieldMs: latency.lastYieldMs,
    });
  }
});

let maxFps = Number(params.get('fps')) || 0;
let lastFrame = 0;
engine.runRenderLoop(() => {
  const now = performance.now();
  if (maxFps && now - lastFrame < 1000 / maxFps - 1) return;
  lastFrame = now;
  scene.render();
});
window.addEventListener('resize', () => engine.resize());

// ── 2. the start screen ─────────────────────────────────────────────────────────────────────────────────────
void new StartScreen().run(joinShip);
