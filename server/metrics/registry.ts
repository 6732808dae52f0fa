/**
 * A small Prometheus text-format registry: counters, gauges and histograms with labels. Enough for /metrics
 * without pulling a client library into the hot path; updates are plain map writes.
 */
type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

abstract class Metric {
  constructor(readonly name: string, readonly help: string) {}
  abstract readonly type: string;
  abstract lines(): string[];
}

/** One number per label set. */
abstract class LabelledValues extends Metric {
  protected values = new Map<string, number>();
  inc(labels: Labels = {}, by = 1) {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(key(labels)) ?? 0;
  }
  lines() {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Counter extends LabelledValues {
  readonly type = 'counter';
}

export class Gauge extends LabelledValues {
  readonly type = 'gauge';
  set(value: number, labels: Labels = {}) {
    this.values.set(key(labels), value);
  }
}

export class Histogram extends Metric {
  readonly type = 'histogram';
  private counts: number[];
  private sum = 0;
  private count = 0;
  constructor(name: string, help: string, readonly buckets: number[]) {
    super(name, help);
    this.counts = buckets.map(() => 0);
  }
  observe(value: number) {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.counts[i]!++;
  }
  lines() {
    const out = this.buckets.map((b, i) => `${this.name}_bucket{le="${b}"} ${this.counts[i]}`);
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return out;
  }
}

export class Registry {
  private metrics: Metric[] = [];
  counter(name: string, help: string) {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string) {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets: number[]) {
    return this.add(new Histogram(name, help, buckets));
  }
  private add<M extends Metric>(m: M): M {
    this.metrics.push(m);
    return m;
  }
  /** Prometheus text exposition format 0.0.4 */
  render(): string {
    return this.metrics.map((m) => [`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.lines()].join('\n')).join('\n') + '\n';
  }
}
