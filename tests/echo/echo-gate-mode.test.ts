/**
 * Who gets the server's echo gate. By default (`auto`) it runs only for players whose client does not say, in its
 * hello, that it cancels its own echo or wears headphones: the plugin says so, an older or foreign client does
 * not, and a plugin whose canceller failed says hello again with `none`. That hello keeps the player's voice stream.
 */
import type { Client } from '@colyseus/core';
import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from '../../protocol/frame.ts';
import { Kind, type EchoHandling } from '../../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { loadConfig } from '../../server/config.ts';
import { ConfigError } from '../../server/env-rules.ts';
import type { DuplexEngine } from '../../server/engines/contract.ts';
import { createParleyMetrics } from '../../server/metrics/parley-metrics.ts';
import { PlayerLink, type EchoGateMode } from '../../server/room/player-link.ts';
import { PlayerState } from '../../server/room/state.ts';
import { EchoGateSlots } from '../../server/voice/echo-gate-slots.ts';
import { recordingLogger } from '../support/log.ts';

const engine = { textLeadFrames: 0, label: 'test' } as unknown as DuplexEngine;

function link(echoGate?: EchoGateMode, echoGateSlots?: EchoGateSlots) {
  const sent: Uint8Array[] = [];
  const client = { sessionId: 'p1', sendBytes: (_c: string, b: Uint8Array) => sent.push(b) } as unknown as Client;
  const l = new PlayerLink(client, new PlayerState(), createParleyMetrics(), recordingLogger().log, { ...(echoGate === undefined ? {} : { echoGate }), echoGateSlots });
  const hello = (echo?: EchoHandling, codec: 'opus' | 'pcm16' = 'opus') =>
    l.hello({ k: Kind.Hello, v: PROTOCOL_VERSION, send: [codec], recv: [codec], ...(echo ? { echo } : {}) }, engine);
  return { l, hello, sent };
}

describe('echo gate per player', () => {
  it('auto (the default) gates a client that does not cancel or did not say, and not one that cancels or wears headphones', () => {
    const cases: [EchoHandling | undefined, boolean][] = [[undefined, true], ['none', true], ['cancelled', false], ['headphones', false]];
    for (const [echo, gated] of cases) {
      const t = link();
      t.hello(echo);
      expect(t.l.echo).toBe(echo);
      expect(t.l.echoGate !== null, String(echo)).toBe(gated);
    }
  });

  it('true gates every player, false none', () => {
    for (const echo of ['cancelled', 'headphones', 'none', undefined] as const) {
      const on = link(true);
      on.hello(echo);
      expect(on.l.echoGate).not.toBeNull();
      const off = link(false);
      off.hello(echo);
      expect(off.l.echoGate).toBeNull();
    }
  });

  it('a hello again with a new answer turns the gate on or off and keeps the voice stream; a new codec starts a new one', () => {
    const t = link();
    t.hello('cancelled');
    const intake = t.l.intake;
    expect(t.l.echoGate).toBeNull();
    t.hello('none'); // the plugin's canceller failed
    expect(t.l.echoGate).not.toBeNull();
    expect(t.l.intake).toBe(intake);
    const gate = t.l.echoGate!;
    t.hello('none');
    expect(t.l.echoGate).toBe(gate); // the same answer keeps what the gate has learnt
    gate.sent(new Float32Array(FRAME_SAMPLES).fill(0.1));
    gate.filter(new Float32Array(FRAME_SAMPLES));
    expect(gate.stats.running).toBe(true); // its canceller runs while NPC voice is sent
    t.hello('headphones');
    expect(t.l.echoGate).toBeNull();
    expect(gate.stats.running).toBe(false); // and is freed with the gate
    expect(t.l.intake).toBe(intake);
    t.hello('headphones', 'pcm16');
    expect(t.l.intake).not.toBe(intake);
    expect(t.l.intake?.codec).toBe('pcm16');
    expect(t.sent.length).toBe(5); // each hello is welcomed
  });

  it("a player's gate draws on the process's cap", () => {
    const slots = new EchoGateSlots(1);
    const [a, b] = [link(undefined, slots), link(undefined, slots)];
    a.hello('none');
    b.hello('none');
    for (const t of [a, b]) {
      t.l.echoGate!.sent(new Float32Array(FRAME_SAMPLES).fill(0.1));
      t.l.echoGate!.filter(new Float32Array(FRAME_SAMPLES));
    }
    expect([a.l.echoGate!.stats.running, b.l.echoGate!.stats.running, slots.running]).toEqual([true, false, 1]);
    a.l.dropEchoGate(); // the player left
    expect(slots.running).toBe(0);
  });

  it('PARLEY_SERVER_ECHO_GATE: auto by default, 1 every player, 0 none, anything else a clear error; the cap on running gates', () => {
    expect(loadConfig({}).serverEchoGate).toBe('auto');
    expect(loadConfig({ PARLEY_SERVER_ECHO_GATE: 'auto' }).serverEchoGate).toBe('auto');
    expect(loadConfig({ PARLEY_SERVER_ECHO_GATE: '1' }).serverEchoGate).toBe(true);
    expect(loadConfig({ PARLEY_SERVER_ECHO_GATE: '0' }).serverEchoGate).toBe(false);
    expect(() => loadConfig({ PARLEY_SERVER_ECHO_GATE: 'yes' })).toThrow(ConfigError);
    expect(() => loadConfig({ PARLEY_SERVER_ECHO_GATE: 'yes' })).toThrow(/must be auto, 0 or 1/);
    expect(loadConfig({}).serverEchoGateMax).toBe(8);
    expect(loadConfig({ PARLEY_SERVER_ECHO_GATE_MAX: '32' }).serverEchoGateMax).toBe(32);
    expect(() => loadConfig({ PARLEY_SERVER_ECHO_GATE_MAX: '-1' })).toThrow(ConfigError);
  });
});
