import { describe, expect, it } from 'vitest';
import { Registry } from '../../server/metrics/registry.ts';

describe('metrics registry', () => {
  it('renders Prometheus text with labels and histogram buckets', () => {
    const r = new Registry();
    r.counter('x_total', 'xs').inc({ stream: 'voice' }, 3);
    const h = r.histogram('d_seconds', 'durations', [0.01, 0.1]);
    h.observe(0.005);
    h.observe(0.05);
    const text = r.render();
    expect(text).toContain('# TYPE x_total counter\nx_total{stream="voice"} 3');
    expect(text).toContain('d_seconds_bucket{le="0.01"} 1\nd_seconds_bucket{le="0.1"} 2\nd_seconds_bucket{le="+Inf"} 2');
    expect(text).toContain('d_seconds_count 2');
  });
});
