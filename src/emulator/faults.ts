// Fault switches of one portal, seeded so a fault test is repeatable: the queue server's event faults (events.ts)
// and REST faults — a 503 or 429 storm, answers lost after the work was done, latency spikes — that otherwise need
// a proxy in front of the emulator. The refusals carry the documented bodies (_includes/system-errors.md).

/** mulberry32: a tiny seeded generator (repeatable fault patterns). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface EventFaults {
  /** Share (0..1) of event deliveries silently dropped. */
  dropRate?: number;
  /** Share (0..1) of event deliveries sent twice. */
  duplicateRate?: number;
  /** Seed of the random choice, so a fault test is repeatable. */
  seed?: number;
  /** Drop exactly the next N event deliveries. */
  dropNext?: number;
  /** Send the next N event deliveries twice. */
  duplicateNext?: number;
}

export interface RestFaults {
  /** Share (0..1) of REST requests refused up front with 503 QUERY_LIMIT_EXCEEDED (nothing executed). */
  rest503Rate?: number;
  /** Share (0..1) of method calls refused with 429 OPERATION_TIME_LIMIT (batch commands one by one; nothing executed). */
  rest429Rate?: number;
  /** Share (0..1) of REST requests executed and then left without an answer (the connection is destroyed). */
  lostAnswerRate?: number;
  /** Extra delay of a spiked answer, after the work is done. */
  latencySpikeMs?: number;
  /** Share (0..1) of REST requests answered `latencySpikeMs` late. */
  latencySpikeRate?: number;
  /** Refuse exactly the next N REST requests with 503. */
  rest503Next?: number;
  /** Refuse exactly the next N method calls with 429. */
  rest429Next?: number;
  /** Execute the next N REST requests and drop their answers. */
  lostAnswerNext?: number;
  seed?: number;
}

/** Every switch of PUT /_control/faults: the event faults and the REST faults, with one seed. */
export type Faults = EventFaults & RestFaults;

const RATES = ['dropRate', 'duplicateRate', 'rest503Rate', 'rest429Rate', 'lostAnswerRate', 'latencySpikeRate'] as const;
const COUNTERS = ['dropNext', 'duplicateNext', 'rest503Next', 'rest429Next', 'lostAnswerNext'] as const;
const KNOWN = new Set<string>([...RATES, ...COUNTERS, 'latencySpikeMs', 'seed']);
const MAX_SPIKE_MS = 600_000;

/** Checks fault switches as given (JSON or in-process); the message names the switch and what it takes. */
export function faultsProblem(input: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(input)) {
    if (!KNOWN.has(key)) return `unknown fault switch "${key}": use ${[...KNOWN].join(', ')}`;
    if (value === undefined) continue;
    const n = value as number;
    if ((RATES as readonly string[]).includes(key) && !(typeof n === 'number' && n >= 0 && n <= 1)) return `${key} takes a share between 0 and 1 (got ${JSON.stringify(value)})`;
    if ((COUNTERS as readonly string[]).includes(key) && !(Number.isInteger(n) && n >= 0)) return `${key} takes a whole number of requests, 0 or more (got ${JSON.stringify(value)})`;
    if (key === 'latencySpikeMs' && !(Number.isInteger(n) && n >= 0 && n <= MAX_SPIKE_MS)) return `latencySpikeMs takes whole milliseconds from 0 to ${MAX_SPIKE_MS} (got ${JSON.stringify(value)})`;
    if (key === 'seed' && !Number.isInteger(n)) return `seed takes an integer (got ${JSON.stringify(value)})`;
  }
  return undefined;
}

export function eventPart(faults: Faults): EventFaults {
  const { dropRate, duplicateRate, dropNext, duplicateNext, seed } = faults;
  return { dropRate, duplicateRate, dropNext, duplicateNext, seed };
}

export function restPart(faults: Faults): RestFaults {
  const { rest503Rate, rest429Rate, lostAnswerRate, latencySpikeMs, latencySpikeRate, rest503Next, rest429Next, lostAnswerNext, seed } = faults;
  return { rest503Rate, rest429Rate, lostAnswerRate, latencySpikeMs, latencySpikeRate, rest503Next, rest429Next, lostAnswerNext, seed };
}

/** What happens to one REST request that reached its method. */
export interface AnswerFault {
  lost: boolean;
  delayMs: number;
}

/**
 * The REST fault switches of one portal. Its generator is separate from the event faults' one (same seed, another
 * stream), so REST traffic does not change which events are dropped. Decisions are drawn in request order: the 503
 * at the front door, the lost answer and the spike once the request is authorised, the 429 per method call.
 */
export class RestFaultInjector {
  private faults: Required<Omit<RestFaults, 'seed'>> = RestFaultInjector.none();
  private seed: number | undefined;
  private random: () => number = seededRandom(RestFaultInjector.stream(1));

  private static none(): Required<Omit<RestFaults, 'seed'>> {
    return { rest503Rate: 0, rest429Rate: 0, lostAnswerRate: 0, latencySpikeMs: 0, latencySpikeRate: 0, rest503Next: 0, rest429Next: 0, lostAnswerNext: 0 };
  }

  private static stream(seed: number): number {
    return (seed ^ 0x5bd1e995) >>> 0;
  }

  set(faults: RestFaults): void {
    const none = RestFaultInjector.none();
    this.faults = Object.fromEntries(Object.entries(none).map(([k, v]) => [k, faults[k as keyof RestFaults] ?? v])) as typeof none;
    this.seed = faults.seed;
    this.random = seededRandom(RestFaultInjector.stream(faults.seed ?? 1));
  }

  get(): RestFaults {
    return { ...this.faults, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }

  /** A share is drawn only when it is on, so switching one fault on does not shift another's pattern. */
  private draw(rate: number): boolean {
    return rate > 0 && this.random() < rate;
  }

  private take(counter: 'rest503Next' | 'rest429Next' | 'lostAnswerNext'): boolean {
    if (this.faults[counter] <= 0) return false;
    this.faults[counter]--;
    return true;
  }

  /** At the front door, before the rate limit: refuse this request with 503? */
  refuseRequest(): boolean {
    return this.take('rest503Next') || this.draw(this.faults.rest503Rate);
  }

  /** Per method call (batch commands one by one, `batch` itself exempt like the operating limit): refuse with 429? */
  refuseCall(): boolean {
    return this.take('rest429Next') || this.draw(this.faults.rest429Rate);
  }

  /** For an authorised request about to run: is its answer lost, is it late? */
  answer(): AnswerFault {
    const lost = this.take('lostAnswerNext') || this.draw(this.faults.lostAnswerRate);
    const spiked = this.faults.latencySpikeMs > 0 && this.draw(this.faults.latencySpikeRate);
    return { lost, delayMs: spiked ? this.faults.latencySpikeMs : 0 };
  }
}
