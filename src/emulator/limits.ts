// The two limits of a cloud portal (reference: server notes §1, docs limits.md).
import type { Clock } from './time.js';

export interface RateLimit { burst: number; drainPerSecond: number }
export interface OperatingLimit { limitSeconds: number; windowSeconds: number }

/** Enterprise plans (ent*) 5/s with a burst of 250; every other plan 2/s with a burst of 50. */
export function planRateLimit(plan: string): RateLimit {
  return /^ent/.test(plan) ? { burst: 250, drainPerSecond: 5 } : { burst: 50, drainPerSecond: 2 };
}

/**
 * The request-rate leaky bucket in front of the portal: every REST HTTP request adds 1; the counter drains by
 * `drainPerSecond`; while the counter is above `burst`, requests are refused (and not counted).
 * Time elapsed is the larger of real time and portal-clock time, so a test that advances the clock also drains it.
 */
export class LeakyBucket {
  private level = 0;
  private lastClock: number;
  private lastReal = performance.now();

  constructor(
    private limit: RateLimit,
    private readonly clock: Clock,
  ) {
    this.lastClock = clock.now();
  }

  setLimit(limit: RateLimit): void {
    this.limit = limit;
  }

  private drain(): void {
    const nowClock = this.clock.now();
    const nowReal = performance.now();
    const elapsedSeconds = Math.max(nowClock - this.lastClock, nowReal - this.lastReal, 0) / 1000;
    this.lastClock = nowClock;
    this.lastReal = nowReal;
    this.level = Math.max(0, this.level - elapsedSeconds * this.limit.drainPerSecond);
  }

  /** True when the request may pass (and is counted). */
  take(): boolean {
    this.drain();
    if (this.level > this.limit.burst) return false;
    this.level += 1;
    return true;
  }

  get counter(): number {
    this.drain();
    return this.level;
  }

  reset(): void {
    this.level = 0;
  }
}

const BUCKET_COUNT = 10;
/** LoadLimiter::$minimalFixTime: calls of 0.1 s or less are not recorded. */
export const MINIMAL_RECORDED_SECONDS = 0.1;

/**
 * The per-method operating-time limit (rest/lib/engine/access/loadlimiter.php): execution time summed per
 * (auth type, app or webhook, method) in ten buckets over the window; above the limit the NEXT call of that method
 * is refused with 429; the call that crossed it completes.
 */
export class OperatingLimiter {
  private readonly buckets = new Map<string, Map<number, number>>();

  constructor(
    private limit: OperatingLimit,
    private readonly clock: Clock,
  ) {}

  setLimit(limit: OperatingLimit): void {
    this.limit = limit;
  }

  private get bucketSeconds(): number {
    return this.limit.windowSeconds / BUCKET_COUNT;
  }

  private currentBucket(): number {
    return Math.floor(this.clock.now() / 1000 / this.bucketSeconds);
  }

  private live(key: string): Map<number, number> | undefined {
    const map = this.buckets.get(key);
    if (!map) return undefined;
    const oldest = this.currentBucket() - BUCKET_COUNT + 1;
    for (const index of map.keys()) if (index < oldest) map.delete(index);
    if (map.size === 0) {
      this.buckets.delete(key);
      return undefined;
    }
    return map;
  }

  /** Accumulated seconds in the window. */
  used(key: string): number {
    let sum = 0;
    for (const seconds of this.live(key)?.values() ?? []) sum += seconds;
    return sum;
  }

  isBlocked(key: string): boolean {
    return this.used(key) > this.limit.limitSeconds;
  }

  record(key: string, seconds: number): number {
    if (seconds <= MINIMAL_RECORDED_SECONDS) return 0;
    const index = this.currentBucket();
    let map = this.buckets.get(key);
    if (!map) this.buckets.set(key, (map = new Map()));
    map.set(index, (map.get(index) ?? 0) + seconds);
    return seconds;
  }

  /** Unix time when the oldest non-empty bucket stops counting; undefined when nothing is recorded. */
  resetAt(key: string): number | undefined {
    const map = this.live(key);
    if (!map) return undefined;
    const oldest = Math.min(...map.keys());
    return Math.round((oldest + BUCKET_COUNT) * this.bucketSeconds);
  }

  reset(): void {
    this.buckets.clear();
  }
}
