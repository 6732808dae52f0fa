/** Shared by the hostile-client tests: a server with the limits on (not exempting loopback) and signed tokens. */
import { ScriptedEngine } from '../stand-ins/scripted-engine.ts';
import { inlineNpcs, startTestServer, type RunningServer } from '../support/test-server.ts';
import { hmacVerifier, signToken } from '../../server/room/join-guard.ts';
import type { ParleyServerOptions } from '../../server/app.ts';

export const SECRET = 'test-secret';
export const token = (id: string) => signToken(SECRET, id, Date.now() + 60_000);

export async function guardedServer(extra: Partial<Omit<ParleyServerOptions, 'engine' | 'log'>> = {}, capacity = 2): Promise<RunningServer> {
  return startTestServer(new ScriptedEngine({ mode: 'echo', capacity }), {
    npcs: inlineNpcs({ alex: { hearingRadius: 6, audibleRadius: 12 }, sam: { hearingRadius: 6, audibleRadius: 12 } }),
    rooms: { bay: { npcs: [{ sheet: 'alex', position: [0, 0, 0] }, { sheet: 'sam', position: [30, 0, 0] }], echoGate: false, maxPlayers: 32 } },
    verifier: hmacVerifier(SECRET),
    joinLimits: { exemptLoopback: false, seatsPerIdentity: 2, joinsPerMinutePerIp: 100, joinsPerMinutePerIdentity: 50, roomsPerScene: 1 },
    ...extra,
  });
}

export async function metric(url: string, line: RegExp): Promise<number> {
  const text = await (await fetch(url.replace('ws://', 'http://') + '/metrics')).text();
  return text.split('\n').filter((l) => line.test(l)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

export const httpUrl = (srv: RunningServer) => srv.url.replace('ws://', 'http://');
