/**
 * Prometheus metrics of the controller, in the text exposition format (version 0.0.4): counters
 * and histograms with labels, and gauges read when scraped. The format itself is in observe.
 */
import { labelText, PROMETHEUS_CONTENT_TYPE, renderFamily, type Labels, type Sample } from "../../observe/index.js";

export { PROMETHEUS_CONTENT_TYPE };

/** Buckets of the reconcile duration histogram, in seconds. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

/** A counter with labels. */
export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const entry = this.values.get(key);
    if (entry === undefined) this.values.set(key, { labels, value: by });
    else entry.value += by;
  }

  /** The value for exactly these labels, or the sum over all when none are given. */
  get(labels?: Labels): number {
    if (labels === undefined) return [...this.values.values()].reduce((n, e) => n + e.value, 0);
    return this.values.get(labelText(labels))?.value ?? 0;
  }

  /** The sum over the label sets that `match` accepts. */
  sum(match: (labels: Labels) => boolean): number {
    return [...this.values.values()].filter((e) => match(e.labels)).reduce((n, e) => n + e.value, 0);
  }

  render(): string {
    return renderFamily({ name: this.name, type: "counter", help: this.help }, [...this.values.values()]);
  }
}

/** A gauge whose value is read when scraped. */
export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string {
    return renderFamily({ name: this.name, type: "gauge", help: this.help }, [{ labels: {}, value: this.read() }]);
  }
}

/** A gauge with labels whose samples are read when scraped (a series gone from them is gone). */
export class GaugeFamily {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => readonly Sample[],
  ) {}

  render(): string {
    return renderFamily({ name: this.name, type: "gauge", help: this.help }, this.read());
  }
}

/** A histogram with labels. */
export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = DURATION_BUCKETS,
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((le, i) => {
      if (value <= le) s.counts[i]! += 1;
    });
    s.sum += value;
    s.count += 1;
  }

  render(): string {
    const lines = [renderFamily({ name: this.name, type: "histogram", help: this.help }, [])];
    for (const s of this.series.values()) {
      this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(le) })} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join("\n");
  }
}

/** A set of metrics rendered together. */
export class MetricsRegistry {
  private readonly metrics: (Counter | Gauge | GaugeFamily | Histogram)[] = [];

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }

  gauge(name: string, help: string, read: () => number): Gauge {
    return this.add(new Gauge(name, help, read));
  }

  gaugeFamily(name: string, help: string, read: () => readonly Sample[]): GaugeFamily {
    return this.add(new GaugeFamily(name, help, read));
  }

  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  /** Every metric in the text exposition format. */
  render(): string {
    return `${this.metrics.map((m) => m.render()).join("\n")}\n`;
  }

  private add<T extends Counter | Gauge | GaugeFamily | Histogram>(metric: T): T {
    this.metrics.push(metric);
    return metric;
  }
}
