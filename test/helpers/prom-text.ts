/**
 * A parser of the Prometheus text exposition format (version 0.0.4), strict enough to fail a test
 * on output Prometheus would reject: HELP/TYPE comments, metric and label names, label value
 * escapes, float values (NaN, ±Inf), optional timestamps; samples grouped into their families
 * (histogram/summary suffixes _bucket, _sum, _count), each family declared once and contiguous.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string | undefined;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * A sample value as Prometheus reads it (Go's ParseFloat: NaN and Inf in any case). prom-client
 * writes NaN as "Nan", e.g. nodejs_eventloop_lag_stddev_seconds when two scrapes come within the
 * event-loop monitor's resolution.
 */
function parseValue(text: string, line: number): number {
  // Prometheus reads values with Go's ParseFloat, which takes Inf and NaN in any case (prom-client writes "Nan").
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`line ${line}: bad value "${text}"`);
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Parses `{a="x",b="y\"z"}` starting at text[0] === '{'; returns labels and the rest of the line. */
function parseLabels(text: string, line: number): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let rest = text.slice(1);
  for (;;) {
    rest = rest.trimStart();
    if (rest.startsWith('}')) return [labels, rest.slice(1)];
    const name = LABEL_NAME.exec(rest)?.[0];
    if (!name) throw new Error(`line ${line}: bad label name at "${rest}"`);
    rest = rest.slice(name.length).trimStart();
    if (!rest.startsWith('="')) throw new Error(`line ${line}: expected =" after label ${name}`);
    rest = rest.slice(2);
    let value = '';
    for (let i = 0; ; i++) {
      const c = rest[i];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') {
        rest = rest.slice(i + 1);
        break;
      }
      if (c === '\\') {
        const next = rest[++i];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`line ${line}: bad escape \\${next}`);
      } else value += c;
    }
    if (name in labels) throw new Error(`line ${line}: label ${name} repeated`);
    labels[name] = value;
    rest = rest.trimStart();
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (!rest.startsWith('}')) throw new Error(`line ${line}: expected , or } after label ${name}`);
  }
}

function familyOf(sampleName: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(sampleName);
  if (exact) return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue;
    const family = families.get(sampleName.slice(0, -suffix.length));
    if (family && (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket'))) return family;
  }
  return undefined;
}

/** Parses a whole exposition into families by name. Throws on anything malformed. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | undefined;
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(raw);
      if (!m) return; // an ordinary comment
      const [, kind, name, rest = ''] = m;
      if (!METRIC_NAME.test(name!) || METRIC_NAME.exec(name!)![0] !== name)
        throw new Error(`line ${line}: bad metric name ${name}`);
      let family = families.get(name!);
      if (!family) {
        if (closed.has(name!)) throw new Error(`line ${line}: family ${name} is not contiguous`);
        family = { name: name!, type: 'untyped', help: undefined, samples: [] };
        families.set(name!, family);
      } else if (family.samples.length > 0) throw new Error(`line ${line}: ${kind} for ${name} after its samples`);
      if (current && current !== family) closed.add(current.name);
      current = family;
      if (kind === 'HELP') {
        if (family.help !== undefined) throw new Error(`line ${line}: second HELP for ${name}`);
        family.help = unescapeHelp(rest);
      } else {
        if (!TYPES.has(rest.trim())) throw new Error(`line ${line}: unknown type "${rest}"`);
        family.type = rest.trim() as MetricType;
      }
      return;
    }
    const name = METRIC_NAME.exec(raw)?.[0];
    if (!name) throw new Error(`line ${line}: bad sample "${raw}"`);
    let rest = raw.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) [labels, rest] = parseLabels(rest, line);
    const fields = rest.trim().split(/\s+/);
    if (fields.length < 1 || fields.length > 2 || fields[0] === '')
      throw new Error(`line ${line}: expected a value and an optional timestamp`);
    const sample: Sample = { name, labels, value: parseValue(fields[0]!, line) };
    if (fields[1] !== undefined) {
      if (!/^-?\d+$/.test(fields[1])) throw new Error(`line ${line}: bad timestamp`);
      sample.timestampMs = Number(fields[1]);
    }
    let family = familyOf(name, families);
    if (!family) {
      family = { name, type: 'untyped', help: undefined, samples: [] };
      families.set(name, family);
    }
    if (closed.has(family.name)) throw new Error(`line ${line}: family ${family.name} is not contiguous`);
    if (current && current !== family) closed.add(current.name);
    current = family;
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** Buckets cumulative, an le="+Inf" bucket equal to _count, per label set. */
function checkHistogram(family: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const s of family.samples) {
    const { le: _le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const samples of groups.values()) {
    const buckets = samples.filter((s) => s.name.endsWith('_bucket'));
    const count = samples.find((s) => s.name.endsWith('_count'));
    let previous = -Infinity;
    for (const b of buckets) {
      if (b.labels.le === undefined) throw new Error(`${family.name}: bucket without le`);
      if (b.value < previous) throw new Error(`${family.name}: buckets not cumulative`);
      previous = b.value;
    }
    const inf = buckets.find((b) => b.labels.le === '+Inf');
    if (!inf || !count || inf.value !== count.value) throw new Error(`${family.name}: +Inf bucket must equal _count`);
  }
}

/** The samples of a family whose labels include `match`. */
export function samplesOf(families: Map<string, Family>, name: string, match: Record<string, string> = {}): Sample[] {
  const family = families.get(name);
  if (!family) throw new Error(`no metric family ${name}; have ${[...families.keys()].join(', ')}`);
  return family.samples.filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
}
