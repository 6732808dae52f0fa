/**
 * Process and model-server figures through prom-client, the Node ecosystem's Prometheus library: its default
 * process metrics (CPU, memory, event-loop lag, GC, handles) and per-PersonaPlex-server gauges, every series
 * labelled with `process` so several game-server processes scraped together stay apart. They join the registry
 * of the Parley figures (server/metrics/parley-metrics.ts), which /metrics serves whole.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { DuplexEngine } from '../engines/contract.ts';

/** What the per-server gauges read: the personaplex-server engine's status (others have no servers). */
interface ServerView {
  status(): { url: string; state: string; capacity: number; active: number; benched: boolean; errors: number }[];
  seatsLeased(): Promise<Map<string, number>>;
}

function serverView(engine: DuplexEngine): ServerView | null {
  const e = engine as Partial<ServerView>;
  return typeof e.status === 'function' && typeof e.seatsLeased === 'function' ? (e as ServerView) : null;
}

export interface ProcessMetrics {
  registry: Registry;
  render(): Promise<string>;
  contentType: string;
}

/** Adds them to `registry` (the server's one registry, with the Parley figures) and labels all its series. */
export function createProcessMetrics(processName: string, engine: DuplexEngine, registry = new Registry()): ProcessMetrics {
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry });
  const view = serverView(engine);
  if (view) {
    const labelNames = ['server'] as const;
    const g = (name: string, help: string) => new Gauge({ name, help, labelNames, registers: [registry] });
    // The first gauge's collect() refreshes the whole group: prom-client collects in registration order.
    const leasedHere = new Gauge({
      name: 'parley_model_server_seats_leased',
      help: 'seats of this PersonaPlex server this process holds',
      labelNames,
      registers: [registry],
      async collect() {
        const leased = await view.seatsLeased().catch(() => new Map<string, number>());
        for (const s of view.status()) {
          const l = { server: s.url };
          const all = leased.get(s.url) ?? s.active;
          leasedHere.set(l, s.active);
          leasedAll.set(l, all);
          capacity.set(l, s.capacity);
          busy.set(l, all >= s.capacity ? 1 : 0);
          up.set(l, s.state === 'up' ? 1 : 0);
          benched.set(l, s.benched ? 1 : 0);
          errors.set(l, s.errors);
        }
      },
    });
    const leasedAll = g('parley_model_server_seats_leased_cluster', 'seats of this PersonaPlex server leased by any game-server process (this one alone without REDIS_URL)');
    const capacity = g('parley_model_server_capacity', 'conversations this PersonaPlex server holds at once');
    const busy = g('parley_model_server_busy', '1 when every seat of this PersonaPlex server is taken (by any process)');
    const up = g('parley_model_server_up', '1 when this PersonaPlex server answers its health check and is not benched');
    const benched = g('parley_model_server_benched', '1 while this PersonaPlex server is benched after failed conversations');
    // a gauge mirroring the engine's running total at scrape time
    const errors = g('parley_model_server_errors', 'conversations that failed to start or stalled, plus outages, on this PersonaPlex server since this process started');
  }
  return { registry, render: () => registry.metrics(), contentType: registry.contentType };
}
