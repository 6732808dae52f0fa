/**
 * Parley's figures on prom-client (the Node ecosystem's Prometheus library): counters, gauges and histograms
 * with declared label names, in one prom-client registry that /metrics serves together with prom-client's
 * default process metrics (server/metrics/process-metrics.ts adds those to the same registry).
 *
 * The wrapper keeps the calls the server makes (`inc(labels, by)`, `set(value, labels)`, `observe(v)`) and two
 * rules the hot path needs: labels are passed in sorted order (stable output) and any label name not declared is
 * dropped rather than thrown (prom-client throws on it; a metric must never take down a tick). `get()` reads a
 * local copy, synchronously, for the server's own decisions (free seats, drain).
 */
import * as prom from 'prom-client';

type Labels = Record<string, string>;

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}
  /** only declared labels, in sorted order */
  protected clean(labels: Labels): Labels {
    const out: Labels = {};
    for (const k of Object.keys(labels).sort()) if (this.labelNames.includes(k)) out[k] = String(labels[k]);
    return out;
  }
  protected key(labels: Labels): string {
    return Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  }
}

/** One number per label set, mirrored locally for synchronous reads. */
abstract class LabelledValues extends Metric {
  protected values = new Map<string, number>();
  get(labels: Labels = {}): number {
    return this.values.get(this.key(this.clean(labels))) ?? 0;
  }
}

export class Counter extends LabelledValues {
  readonly type = 'counter';
  private readonly prom: prom.Counter<string>;
  constructor(registry: prom.Registry, name: string, help: string, labelNames: readonly string[]) {
    super(name, help, labelNames);
    this.prom = new prom.Counter({ name, help, labelNames: [...labelNames], registers: [registry] });
  }
  inc(labels: Labels = {}, by = 1) {
    if (!(by >= 0)) return; // a counter never goes down (prom-client throws)
    const l = this.clean(labels);
    const k = this.key(l);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
    this.prom.inc(l, by);
  }
}

export class Gauge extends LabelledValues {
  readonly type = 'gauge';
  private readonly prom: prom.Gauge<string>;
  constructor(registry: prom.Registry, name: string, help: string, labelNames: readonly string[]) {
    super(name, help, labelNames);
    this.prom = new prom.Gauge({ name, help, labelNames: [...labelNames], registers: [registry] });
  }
  inc(labels: Labels = {}, by = 1) {
    const l = this.clean(labels);
    const k = this.key(l);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
    this.prom.inc(l, by);
  }
  set(value: number, labels: Labels = {}) {
    const l = this.clean(labels);
    this.values.set(this.key(l), value);
    this.prom.set(l, value);
  }
}

export class Histogram extends Metric {
  readonly type = 'histogram';
  private readonly prom: prom.Histogram<string>;
  /** local copies of the sum and count, for synchronous reads (benches) */
  sum = 0;
  count = 0;
  constructor(registry: prom.Registry, name: string, help: string, readonly buckets: number[]) {
    super(name, help, []);
    this.prom = new prom.Histogram({ name, help, buckets, registers: [registry] });
  }
  observe(value: number) {
    if (!Number.isFinite(value)) return;
    this.sum += value;
    this.count++;
    this.prom.observe(value);
  }
}

export class Registry {
  /** the one prom-client registry of this server; process metrics register here too */
  readonly prom = new prom.Registry();
  private readonly histograms = new Map<string, Histogram>();

  counter(name: string, help: string, labelNames: readonly string[] = []) {
    return new Counter(this.prom, name, help, labelNames);
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []) {
    return new Gauge(this.prom, name, help, labelNames);
  }
  histogram(name: string, help: string, buckets: number[]) {
    const h = new Histogram(this.prom, name, help, buckets);
    this.histograms.set(name, h);
    return h;
  }
  /** a histogram of this registry by name (synchronous sum and count) */
  histogramNamed(name: string): Histogram | undefined {
    return this.histograms.get(name);
  }
  /** Prometheus text exposition format 0.0.4 (prom-client's) */
  render(): Promise<string> {
    return this.prom.metrics();
  }
  get contentType(): string {
    return this.prom.contentType;
  }
}
