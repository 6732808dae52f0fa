import { Registry } from './registry.ts';

/**
 * Every Parley figure the server exposes at GET /metrics (on prom-client; the process metrics join the same
 * registry, server/metrics/process-metrics.ts); one instance per server, shared by its rooms.
 */
export function createParleyMetrics() {
  const registry = new Registry();
  const metrics = {
    registry,
    sessions: registry.gauge('parley_sessions', 'NPC model sessions open (or opening)'),
    capacity: registry.gauge('parley_engine_capacity', 'sessions the engine declares it can step in real time'),
    npcs: registry.gauge('parley_npcs', 'NPCs by status', ['status']),
    players: registry.gauge('parley_players', 'players connected'),
    tickDuration: registry.histogram(
      'parley_tick_duration_seconds',
      'wall time of one tick: mixing, the batched engine step and voice out',
      [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.16, 0.32, 0.64],
    ),
    tickLateness: registry.histogram(
      'parley_tick_lateness_seconds',
      'how late each tick fired against its deadline on the fixed 80 ms grid',
      [0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08],
    ),
    uplinkTickWait: registry.histogram(
      'parley_uplink_tick_wait_seconds',
      "a player's voice frame from its arrival to the first tick after it (the tick's phase against the player's frames)",
      [0.005, 0.01, 0.02, 0.04, 0.06, 0.08],
    ),
    uplinkBufferWait: registry.histogram(
      'parley_uplink_buffer_wait_seconds',
      "a player's voice frame held by the uplink jitter buffer past the first tick after its arrival",
      [0.001, 0.04, 0.08, 0.16, 0.24, 0.32],
    ),
    ticksLate: registry.counter('parley_ticks_late_total', 'ticks whose engine step was skipped because the previous step overran'),
    framesLate: registry.counter('parley_frames_late_total', 'frames that arrived after their slot, by stream', ['stream', 'reason']),
    framesDropped: registry.counter('parley_frames_dropped_total', 'frames dropped, by stream and reason', ['stream', 'reason']),
    framesMissing: registry.counter('parley_frames_missing_total', 'player voice slots with no frame in time (lost, late, or held back to widen the buffer): concealed or silence'),
    bytesReceived: registry.counter('parley_bytes_received_total', 'bytes received from players, by stream kind', ['stream', 'codec']),
    bytesSent: registry.counter('parley_bytes_sent_total', 'bytes sent to players, by stream kind', ['stream', 'codec']),
    refused: registry.counter('parley_refused_total', 'player messages refused, by reason', ['reason']),
    sessionErrors: registry.counter('parley_session_errors_total', 'NPC sessions that failed (open or step)'),
  };
  metrics.sessions.set(0);
  metrics.players.set(0);
  metrics.ticksLate.inc({}, 0);
  return metrics;
}

export type ParleyMetrics = ReturnType<typeof createParleyMetrics>;
