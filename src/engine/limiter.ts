/**
 * How soon a waiting operation gets a slot: `high` for what opens up more of the graph or lets a
 * parent be written (a manifest's existence check, read, or PUT), `normal` for the bulk (blobs,
 * referrers tags), `low` for what no other step waits on (looking for cosign attachments).
 */
export type Priority = 'high' | 'normal' | 'low';

const ORDER: readonly Priority[] = ['high', 'normal', 'low'];

/**
 * A counting semaphore: at most `limit` registry operations in flight across the whole graph
 * copy. Only leaf operations take a slot (never a step that waits for others), so nesting
 * cannot deadlock. A freed slot goes to the longest-waiting operation of the highest priority.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: Record<Priority, Array<() => void>> = { high: [], normal: [], low: [] };

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>, priority: Priority = 'normal'): Promise<T> {
    // A slot freed while others wait is handed over as it is, so none slips in between.
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting[priority].push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private release(): void {
    for (const p of ORDER) {
      const next = this.waiting[p].shift();
      if (next) {
        next();
        return;
      }
    }
    this.active--;
  }
}
