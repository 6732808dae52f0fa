/**
 * Plugin figures: bundle size (minified and gzipped; Babylon.js and the Colyseus SDK excluded), main-thread
 * time per 80 ms frame (uplink: PCM16 encode + envelope + send; downlink: envelope decode + routing + Opus
 * output resampling 48 → 24 kHz or PCM16 decode; WebCodecs' own encode/decode runs off the main thread and is
 * not counted), audio-thread time of the worklet DSP per frame, and, when /usr/bin/chromium exists, how many dB
 * Chromium's echo canceller removes from each output route (tests/plugin/support/echo-measure.ts).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { encode } from '../protocol/envelope.ts';
import { Kind, PARLEY_CHANNEL } from '../protocol/messages.ts';
import { VoiceDecoder } from '../plugin/audio/voice-decoder.ts';
import { Pcm16Encoder } from '../plugin/audio/voice-encoder.ts';
import { Framer } from '../plugin/dsp/framer.ts';
import { PlayoutBuffer } from '../plugin/dsp/playout-buffer.ts';
import { floatToPcm16 } from '../plugin/dsp/pcm16.ts';
import { Resampler } from '../protocol/dsp/resampler.ts';
import { ParleyLink, type RoomLike } from '../plugin/net/parley-link.ts';
import { hasChromium } from '../tests/plugin/support/chromium.ts';
import { measureEcho } from '../tests/plugin/support/echo-measure.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (s: string) => process.stderr.write(`  ${s}\n`);

function tone(n: number, rate: number, offset = 0): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * 440 * (offset + i)) / rate);
  return x;
}

/** A room stand-in: open socket, bytes kept by reference only, handlers callable by the bench. */
function stubRoom() {
  let handler: (p: unknown) => void = () => {};
  const signal = Object.assign(() => {}, { remove() {} });
  const room: RoomLike = {
    connection: { isOpen: true },
    sendBytes() {},
    onMessage: (_type, cb) => ((handler = cb), () => {}),
    onLeave: signal,
    onDrop: signal,
    onReconnect: signal,
    leave: async () => 0,
  };
  return { room, deliver: (bytes: Uint8Array) => handler(bytes) };
}

function timePerFrame(frames: number, fn: (k: number) => void): number {
  for (let k = 0; k < 200; k++) fn(k); // warm up the JIT
  const t0 = performance.now();
  for (let k = 0; k < frames; k++) fn(k + 200);
  return (performance.now() - t0) / frames;
}

export default async function pluginBench(): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};

  say('building the bundle (node esbuild.config.mjs)');
  await promisify(execFile)(process.execPath, ['esbuild.config.mjs'], { cwd: root });
  const bundle = await readFile(path.join(root, 'dist/plugin/parley-plugin.js'));
  figures.plugin_bundle_min_kb = bundle.length / 1024;
  figures.plugin_bundle_gzip_kb = gzipSync(bundle, { level: 9 }).length / 1024;
  say(`bundle ${figures.plugin_bundle_min_kb.toFixed(1)} KB minified, ${figures.plugin_bundle_gzip_kb.toFixed(1)} KB gzipped (target ≤ 60 KB)`);

  const FRAMES = 3000; // 4 minutes of audio
  // Uplink: a mic frame from the worklet → PCM16 → envelope → sendBytes.
  const up = stubRoom();
  const upLink = new ParleyLink(up.room, { send: ['pcm16'], recv: ['pcm16'] }, { onState() {}, onMessage() {}, onError() {} });
  up.deliver(encode({ k: Kind.Welcome, v: '1.0', send: 'pcm16', recv: 'pcm16', lead: 2, engine: 'bench', t: Date.now() }));
  const enc = new Pcm16Encoder((v) => upLink.sendVoice(v.seq, v.t, v.codec, v.data));
  const micFrame = tone(1920, 24_000);
  figures.plugin_main_uplink_pcm16_ms_per_frame = timePerFrame(FRAMES, (k) => enc.encode(k, k * 80, micFrame));

  // Downlink, PCM16: bytes → decodeServer → route → PCM16 → a frame for the worklet.
  const down = stubRoom();
  let delivered = 0;
  const pcmDec = new VoiceDecoder(() => delivered++, (e) => { throw e; });
  new ParleyLink(down.room, { send: ['pcm16'], recv: ['pcm16'] }, {
    onState() {},
    onMessage: (m) => {
      if (m.k === Kind.NpcVoice) pcmDec.decode(m.codec, m.i, m.data);
    },
    onError: (e) => { throw e; },
  });
  down.deliver(encode({ k: Kind.Welcome, v: '1.0', send: 'pcm16', recv: 'pcm16', lead: 2, engine: 'bench', t: 0 }));
  const npcBytes = Array.from({ length: 16 }, (_, k) =>
    encode({ k: Kind.NpcVoice, npc: 'guard', i: k, t: 0, codec: 'pcm16', data: floatToPcm16(tone(1920, 24_000, k * 1920)) }),
  );
  figures.plugin_main_downlink_pcm16_ms_per_frame = timePerFrame(FRAMES, (k) => down.deliver(npcBytes[k % 16]));
  if (delivered === 0) throw new Error('downlink bench delivered nothing');

  // Downlink, Opus: WebCodecs decodes off-thread and returns 48 kHz; the main thread resamples to 24 kHz.
  const rs = new Resampler(48_000, 24_000, { zeroCrossings: 12 }); // as VoiceDecoder uses it
  const decoded48 = tone(3840, 48_000);
  figures.plugin_main_downlink_opus_resample_ms_per_frame = timePerFrame(FRAMES, () => rs.process(decoded48));
  figures.plugin_main_ms_per_frame =
    figures.plugin_main_uplink_pcm16_ms_per_frame + figures.plugin_main_downlink_opus_resample_ms_per_frame;
  say(`main thread per 80 ms frame: ${figures.plugin_main_ms_per_frame.toFixed(3)} ms (uplink + one NPC's Opus downlink)`);

  // Audio thread: capture (48 kHz → 24 kHz + framing) and playback (jitter buffer + 24 kHz → 48 kHz).
  const capRs = new Resampler(48_000, 24_000);
  const framer = new Framer(() => {});
  const block = tone(128, 48_000);
  figures.plugin_capture_worklet_ms_per_frame = timePerFrame(FRAMES, () => {
    for (let b = 0; b < 30; b++) framer.push(capRs.process(block), 0); // 30 quanta of 128 = 80 ms at 48 kHz
  });
  const jb = new PlayoutBuffer({ overrunMarginMs: 1e9 });
  const playRs = new Resampler(24_000, 48_000);
  const chunk = new Float32Array(64);
  let idx = 0;
  figures.plugin_playback_worklet_ms_per_frame = timePerFrame(FRAMES, () => {
    jb.push(idx, tone(1920, 24_000), idx * 80);
    idx++;
    for (let c = 0; c < 30; c++) playRs.process((jb.read(chunk), chunk)); // 1920 samples at 24 kHz
  });
  say(`worklets per frame: capture ${figures.plugin_capture_worklet_ms_per_frame.toFixed(3)} ms, playback ${figures.plugin_playback_worklet_ms_per_frame.toFixed(3)} ms`);

  if (hasChromium) {
    say('echo cancellation in headless Chromium (same signal played and captured; 0 dB = not cancelled):');
    const echo = await measureEcho(2, say);
    figures.plugin_echo_webaudio_db = echo.webaudio;
    figures.plugin_echo_media_element_db = echo['media-element'];
    figures.plugin_echo_media_stream_element_db = echo['media-stream-element'];
    figures.plugin_echo_webrtc_loopback_db = echo['webrtc-loopback'];
  } else {
    say('echo measurement skipped: /usr/bin/chromium missing');
  }
  void PARLEY_CHANNEL;
  return figures;
}
