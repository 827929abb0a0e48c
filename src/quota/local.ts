/**
 * The quota shared by the runs of one process (a library user running several `enrich` calls at once on one
 * key): the rules of contract.ts kept in memory. Nothing is leased: a process cannot die apart from itself.
 */
import type { Clock } from '../vt/options.js';
import type { ExhaustedBudget, RateLimits, ServerUsage } from '../vt/rate-limiter.js';
import { DAY_MS, monthKey, WINDOW_MARGIN_MS, WINDOW_MS, type QuotaGrant, type QuotaStore } from './contract.js';

/** A {@link QuotaStore} in this process's memory. */
export class LocalQuotaStore implements QuotaStore {
  readonly location = 'in-process';
  // Expiry times of settled slots (any order), and the number of slots in flight (they expire after settling).
  #settled: number[] = [];
  #inFlight = 0;
  #day = -1;
  #dayUsed = 0;
  #month = -1;
  #monthUsed = 0;

  constructor(private readonly clock: Clock) {}

  acquire(count: number, limits: RateLimits, signal?: AbortSignal): Promise<QuotaGrant> {
    if (signal?.aborted === true) return Promise.resolve({ aborted: true });
    const now = this.#advance();
    const leftDay = limits.perDay - this.#dayUsed;
    const leftMonth = limits.perMonth - this.#monthUsed;
    if (leftDay <= 0 || leftMonth <= 0) return Promise.resolve({ exhausted: leftDay <= 0 ? 'daily' : 'monthly' });
    const granted = Math.min(count, leftDay, leftMonth);
    const excess = this.#inFlight + this.#settled.length + granted - limits.perMinute;
    if (excess > 0) {
      // In-flight slots settle soon; until then, ask again shortly.
      const sorted = [...this.#settled].sort((a, b) => a - b);
      const leaves = sorted[excess - 1];
      return Promise.resolve({ waitMs: leaves === undefined ? 100 : Math.max(1, leaves - now) });
    }
    this.#inFlight += granted;
    this.#dayUsed += granted;
    this.#monthUsed += granted;
    const day = this.#day;
    const month = this.#month;
    let open = true;
    return Promise.resolve({
      lease: {
        count: granted,
        settle: (counted: number) => {
          if (!open) return;
          open = false;
          this.#inFlight -= granted;
          const expires = this.clock.now() + WINDOW_MS + WINDOW_MARGIN_MS;
          for (let i = 0; i < granted; i++) this.#settled.push(expires);
          const unused = granted - Math.max(0, Math.min(counted, granted));
          if (this.#day === day) this.#dayUsed -= unused;
          if (this.#month === month) this.#monthUsed -= unused;
        },
      },
    });
  }

  applyServerUsage(usage: ServerUsage): void {
    this.#advance();
    if (usage.dayUsed !== undefined) this.#dayUsed = Math.max(this.#dayUsed, usage.dayUsed);
    if (usage.monthUsed !== undefined) this.#monthUsed = Math.max(this.#monthUsed, usage.monthUsed);
    if (usage.minuteUsed !== undefined) {
      const expires = this.clock.now() + WINDOW_MS + WINDOW_MARGIN_MS;
      for (let i = this.#settled.length + this.#inFlight; i < usage.minuteUsed; i++) this.#settled.push(expires);
    }
  }

  exhaust(budget: ExhaustedBudget, limits: RateLimits): void {
    this.#advance();
    if (budget === 'daily') this.#dayUsed = Math.max(this.#dayUsed, limits.perDay);
    else this.#monthUsed = Math.max(this.#monthUsed, limits.perMonth);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #advance(): number {
    const now = this.clock.now();
    this.#settled = this.#settled.filter((expires) => expires > now);
    const day = Math.floor(now / DAY_MS);
    if (day !== this.#day) {
      this.#day = day;
      this.#dayUsed = 0;
    }
    const month = monthKey(now);
    if (month !== this.#month) {
      this.#month = month;
      this.#monthUsed = 0;
    }
    return now;
  }
}
