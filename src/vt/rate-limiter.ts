/**
 * The quota pacer: a sliding-window limit per minute plus daily and monthly budgets, on an injectable clock.
 *
 * Design decisions:
 * - A request occupies a slot of the minute window from the moment it is granted until 60 s after its reply
 *   arrived. VirusTotal counts it at some instant between sending and replying, so dating the slot by the
 *   reply (never by the send) keeps every sliding 60 s window of the server's under the limit, whatever the
 *   latency. Replies arrive in clock order, so the dated slots form a sorted queue that is pruned from its head.
 * - Waiters are served first come, first served, and only the head of the line sleeps: one sleeper at a time
 *   keeps a fake clock (whose sleep advances time) faithful, and a wide v2 batch is never starved by singles.
 * - Budgets are reserved at grant time and given back when the request was not counted (a refusal, a failure),
 *   so concurrent requests can never overspend the day.
 */
import type { QuotaLease, QuotaStore } from '../quota/contract.js';
import type { Clock } from './options.js';

/** The limits the limiter enforces; `Infinity` disables one. */
export interface RateLimits {
  readonly perMinute: number;
  readonly perDay: number;
  readonly perMonth: number;
}

/** Which budget ran out. */
export type ExhaustedBudget = 'daily' | 'monthly';

/** Slots granted to one request; `settle` must be called once when its reply (or failure) is in. */
export interface Permit {
  readonly count: number;
  /** Dates the slots by now; `counted` of them are charged to the day and month, the rest given back. */
  settle(counted: number): void;
}

/** What {@link RateLimiter.acquire} resolves to. */
export type Acquired =
  { readonly permit: Permit } | { readonly exhausted: ExhaustedBudget } | { readonly aborted: true };

/** Usage the server reported (v3 overall_quotas); each field is optional. */
export interface ServerUsage {
  readonly dayUsed?: number;
  readonly dayAllowed?: number;
  readonly monthUsed?: number;
  readonly monthAllowed?: number;
  /** Lookups in the current minute window (e.g. by a run that just ended). */
  readonly minuteUsed?: number;
  readonly minuteAllowed?: number;
}

const WINDOW_MS = 60_000;
// The server may count a request that is exactly 60 s old as still inside the window: wait 1 ms more.
const WINDOW_MARGIN_MS = 1;
const DAY_MS = 86_400_000;

function monthKey(epochMs: number): number {
  const date = new Date(epochMs);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

interface Waiter {
  readonly wanted: number;
  readonly resolve: (acquired: Acquired) => void;
}

/** Paces requests to a per-minute sliding window and daily/monthly budgets. */
export class RateLimiter {
  private readonly clock: Clock;
  private readonly signal: AbortSignal | undefined;
  private perMinute: number;
  private perDay: number;
  private perMonth: number;
  private dayUsed = 0;
  private monthUsed = 0;
  // Set when the server said a budget is spent: a flag, not a count, because an unlimited budget (Infinity)
  // minus an infinite count is NaN, which would pass every `<= 0` test and become a NaN wait.
  private dayExhausted = false;
  private monthExhausted = false;
  private day: number;
  private month: number;
  private inFlight = 0;
  // Reply times of settled slots still inside the window, sorted; `head` is the first live index.
  private settled: number[] = [];
  private head = 0;
  private readonly waiters: Waiter[] = [];
  private pumping = false;
  private settleListeners: Array<() => void> = [];
  /** A quota shared with other runs and hosts (src/quota): consulted after this run's own window agrees. */
  private readonly shared: QuotaStore | undefined;

  constructor(limits: RateLimits, clock: Clock, signal?: AbortSignal, shared?: QuotaStore) {
    this.clock = clock;
    this.signal = signal;
    this.shared = shared;
    this.perMinute = limits.perMinute;
    this.perDay = limits.perDay;
    this.perMonth = limits.perMonth;
    const now = clock.now();
    this.day = Math.floor(now / DAY_MS);
    this.month = monthKey(now);
    signal?.addEventListener('abort', () => this.notifySettled(), { once: true });
  }

  /** Takes the server's view of today's and this month's usage into account (a second run the same day). */
  applyServerUsage(usage: ServerUsage): void {
    this.rollover();
    if (usage.dayAllowed !== undefined) this.perDay = Math.min(this.perDay, usage.dayAllowed);
    if (usage.monthAllowed !== undefined) this.perMonth = Math.min(this.perMonth, usage.monthAllowed);
    if (usage.dayUsed !== undefined) this.dayUsed = Math.max(this.dayUsed, usage.dayUsed);
    if (usage.monthUsed !== undefined) this.monthUsed = Math.max(this.monthUsed, usage.monthUsed);
    this.shared?.applyServerUsage(usage);
    if (usage.minuteAllowed !== undefined) this.perMinute = Math.min(this.perMinute, usage.minuteAllowed);
    if (usage.minuteUsed !== undefined && this.perMinute !== Infinity) {
      // When those lookups happened is unknown: dating them now is the safe guess (they leave the window last).
      const now = this.clock.now();
      const known = this.settled.length - this.head + this.inFlight;
      // More than a full window is a full window (and a hostile count must not make this loop endless).
      const used = Math.min(usage.minuteUsed, this.perMinute);
      for (let i = known; i < used; i++) this.settled.push(now);
    }
  }

  /** Marks a budget spent (the server said so): every later acquire resolves `exhausted`. */
  exhaust(budget: ExhaustedBudget): void {
    if (budget === 'daily') this.dayExhausted = true;
    else this.monthExhausted = true;
    this.shared?.exhaust(budget, this.limits());
  }

  private limits(): RateLimits {
    return { perMinute: this.perMinute, perDay: this.perDay, perMonth: this.perMonth };
  }

  /** Lookups left today and this month (the smaller). */
  remaining(): number {
    this.rollover();
    return Math.min(this.leftToday(), this.leftThisMonth());
  }

  /** Today's usage as known here, for progress reports. */
  usage(): { dayUsed: number; perDay: number; monthUsed: number; perMonth: number; perMinute: number } {
    this.rollover();
    return {
      dayUsed: this.dayUsed,
      perDay: this.perDay,
      monthUsed: this.monthUsed,
      perMonth: this.perMonth,
      perMinute: this.perMinute,
    };
  }

  /**
   * Waits for up to `wanted` slots (at least one). Fewer are granted only when the day's or month's budget has
   * fewer left; none when it has none (`exhausted`).
   */
  acquire(wanted: number): Promise<Acquired> {
    return new Promise<Acquired>((resolve) => {
      this.waiters.push({ wanted: Math.max(1, wanted), resolve });
      void this.pump();
    });
  }

  private leftToday(): number {
    return this.dayExhausted ? 0 : this.perDay - this.dayUsed;
  }

  private leftThisMonth(): number {
    return this.monthExhausted ? 0 : this.perMonth - this.monthUsed;
  }

  private rollover(): void {
    const now = this.clock.now();
    const day = Math.floor(now / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.dayUsed = 0;
      this.dayExhausted = false;
    }
    const month = monthKey(now);
    if (month !== this.month) {
      this.month = month;
      this.monthUsed = 0;
      this.monthExhausted = false;
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiters.length > 0) {
        const waiter = this.waiters[0] as Waiter;
        if (this.signal?.aborted === true) {
          this.waiters.shift();
          waiter.resolve({ aborted: true });
          continue;
        }
        this.rollover();
        const leftToday = this.leftToday();
        const leftMonth = this.leftThisMonth();
        if (leftToday <= 0 || leftMonth <= 0) {
          this.waiters.shift();
          waiter.resolve({ exhausted: leftToday <= 0 ? 'daily' : 'monthly' });
          continue;
        }
        // Never more than a whole window holds, or the wait could never end.
        const count = Math.min(waiter.wanted, leftToday, leftMonth, this.perMinute);
        const wait = this.waitFor(count);
        if (wait === 0) {
          const shared =
            this.shared === undefined ? undefined : await this.shared.acquire(count, this.limits(), this.signal);
          if (shared !== undefined && 'waitMs' in shared) {
            // Other runs hold the shared window: ask again when a slot leaves it (or sooner, a second at most).
            await this.clock.sleep(Math.min(shared.waitMs, 1_000), this.signal);
            continue;
          }
          this.waiters.shift();
          if (shared === undefined || 'lease' in shared) {
            waiter.resolve({ permit: this.grant(shared?.lease.count ?? count, shared?.lease) });
          } else waiter.resolve(shared);
        } else if (wait === 'settle') {
          await new Promise<void>((resolve) => this.settleListeners.push(resolve));
        } else {
          await this.clock.sleep(wait, this.signal);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** 0 when `count` slots are free now; else ms until they are, or 'settle' when in-flight requests hold them. */
  private waitFor(count: number): number | 'settle' {
    if (this.perMinute === Infinity) return 0;
    const now = this.clock.now();
    while (this.head < this.settled.length && (this.settled[this.head] as number) + WINDOW_MS + WINDOW_MARGIN_MS <= now)
      this.head++;
    if (this.head > 1024 && this.head * 2 > this.settled.length) {
      this.settled = this.settled.slice(this.head);
      this.head = 0;
    }
    const live = this.settled.length - this.head;
    const excess = this.inFlight + live + count - this.perMinute;
    if (excess <= 0) return 0;
    // Let the requests in flight settle before sleeping: they are dated by their replies, which come within
    // moments, and the sleep can then be computed exactly (a fake clock jumps while they are in flight).
    if (excess > live || this.inFlight > 0) return 'settle';
    return (this.settled[this.head + excess - 1] as number) + WINDOW_MS + WINDOW_MARGIN_MS - now;
  }

  private grant(count: number, lease?: QuotaLease): Permit {
    this.inFlight += count;
    this.dayUsed += count;
    this.monthUsed += count;
    let open = true;
    return {
      count,
      settle: (counted: number) => {
        if (!open) return;
        open = false;
        this.inFlight -= count;
        const unused = count - Math.max(0, Math.min(counted, count));
        this.dayUsed -= unused;
        this.monthUsed -= unused;
        lease?.settle(counted);
        if (this.perMinute !== Infinity) {
          const now = this.clock.now();
          for (let i = 0; i < count; i++) this.settled.push(now);
        }
        this.notifySettled();
      },
    };
  }

  private notifySettled(): void {
    const listeners = this.settleListeners;
    this.settleListeners = [];
    for (const listener of listeners) listener();
  }
}
