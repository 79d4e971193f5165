// What a portal rarely changes (its pipelines and stages, users, department heads), kept for a short time by the
// service's clock (tests move it) so that jobs running side by side do not each read it: misses at the same time
// share one load, and a failed load is not kept.
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { at: number; value: V }>();
  private readonly loading = new Map<K, Promise<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: () => number,
  ) {}

  /** The value if it is still fresh. */
  peek(key: K): V | undefined {
    const entry = this.entries.get(key);
    return entry && this.clock() - entry.at < this.ttlMs ? entry.value : undefined;
  }

  /** When the fresh value was loaded. */
  loadedAt(key: K): number | undefined {
    return this.peek(key) === undefined ? undefined : this.entries.get(key)?.at;
  }

  /** The fresh value, or the one `load` gives (shared with every caller asking meanwhile). */
  get(key: K, load: () => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    if (entry && this.clock() - entry.at < this.ttlMs) return Promise.resolve(entry.value);
    return this.reload(key, load);
  }

  /** Loads the value again, unless a load is already under way (its answer is as fresh). */
  reload(key: K, load: () => Promise<V>): Promise<V> {
    const running = this.loading.get(key);
    if (running) return running;
    const started = this.clock();
    const promise = load().then((value) => {
      // Nothing found is not remembered: it may be there at the next look.
      if (value !== undefined) this.entries.set(key, { at: started, value });
      return value;
    }).finally(() => this.loading.delete(key));
    this.loading.set(key, promise);
    return promise;
  }

  set(key: K, value: V): void {
    this.entries.set(key, { at: this.clock(), value });
  }
}
