import { describe, expect, it } from 'vitest';
import { Registry } from '../../server/metrics/registry.ts';

describe('metrics registry', () => {
  it('renders Prometheus text with labels and histogram buckets', async () => {
    const r = new Registry();
    r.counter('x_total', 'xs', ['stream']).inc({ stream: 'voice' }, 3);
    const h = r.histogram('d_seconds', 'durations', [0.01, 0.1]);
    h.observe(0.005);
    h.observe(0.05);
    const text = await r.render();
    expect(text).toContain('# TYPE x_total counter\nx_total{stream="voice"} 3');
    expect(text).toContain('d_seconds_bucket{le="0.01"} 1\nd_seconds_bucket{le="0.1"} 2\nd_seconds_bucket{le="+Inf"} 2');
    expect(text).toContain('d_seconds_count 2');
  });
});

describe('metrics on prom-client', () => {
  it('one prom-client registry: the default labels (process) join every series; undeclared labels are dropped, not thrown', async () => {
    const r = new Registry();
    r.prom.setDefaultLabels({ process: 'gs-1' });
    const sent = r.counter('b_total', 'bytes', ['codec', 'stream']);
    sent.inc({ stream: 'npc_voice', codec: 'opus' }, 10);
    expect(() => sent.inc({ stream: 'npc_voice', codec: 'opus', extra: 'x' }, 5)).not.toThrow();
    expect(() => sent.inc({ stream: 'npc_voice', codec: 'opus' }, -1)).not.toThrow(); // a counter never goes down
    const g = r.gauge('g', 'players');
    g.inc();
    g.inc({}, -1);
    g.inc();
    const text = await r.render();
    expect(text).toContain('b_total{codec="opus",stream="npc_voice",process="gs-1"} 15');
    expect(text).toContain('g{process="gs-1"} 1');
    expect(sent.get({ codec: 'opus', stream: 'npc_voice' })).toBe(15);
    expect(r.contentType).toMatch(/text\/plain/);
  });
});
