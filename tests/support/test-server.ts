/**
 * Starts a real Parley server (Colyseus over WebSocket on a free loopback port) around a stand-in engine, with
 * NPCs defined inline (a stand-in for character sheets in server tests).
 */
import { createParleyServer, type ParleyServer, type ParleyServerOptions } from '../../server/app.ts';
import { recordingLogger } from './log.ts';
import type { DuplexEngine } from '../../server/engines/contract.ts';
import type { NpcDefinition, NpcDirectory } from '../../server/room/npc-directory.ts';

export function inlineNpcs(defs: Record<string, Partial<NpcDefinition> & { invalid?: string }>): NpcDirectory {
  return {
    resolve(id) {
      const d = defs[id];
      if (!d) throw new Error(`unknown character sheet '${id}'`);
      if (d.invalid) throw new Error(d.invalid);
      return {
        name: d.name ?? id,
        role: d.role ?? 'crew',
        hearingRadius: d.hearingRadius ?? 6,
        audibleRadius: d.audibleRadius ?? 12,
        persona: d.persona ?? { id, name: d.name ?? id, textPrompt: `You are ${id}.`, voice: { kind: 'builtin', id: 'NATF0' } },
        ...(d.hearsNpcs !== undefined ? { hearsNpcs: d.hearsNpcs } : {}),
        ...(d.npcTurns !== undefined ? { npcTurns: d.npcTurns } : {}),
      };
    },
  };
}

/** A logger whose lines tests can read (tests/support/log.ts). */
export const capturingLogger = recordingLogger;

export interface RunningServer {
  server: ParleyServer;
  url: string;
  /** log lines, rendered by `capturingLogger` */
  logs: string[];
  stop(): Promise<void>;
}

export async function startTestServer(
  engine: DuplexEngine,
  opts: Omit<ParleyServerOptions, 'engine' | 'handleSignals' | 'serveStatic' | 'log'> & { serveStatic?: boolean },
): Promise<RunningServer> {
  const { log, lines: logs } = capturingLogger();
  const server = createParleyServer({
    ...opts,
    engine,
    handleSignals: false,
    serveStatic: opts.serveStatic ?? false,
    log,
  });
  const port = await server.listen(0, '127.0.0.1');
  let stopping: Promise<void> | null = null;
  return {
    server,
    url: `ws://127.0.0.1:${port}`,
    logs,
    stop: () => (stopping ??= server.shutdown()),
  };
}
