/**
 * Per-key quota accounting, as VirusTotal enforces it: per-minute, per-day and per-month lookups.
 *
 * Design decisions:
 * - The minute window is SLIDING (any 60 s span holds at most `perMinute` lookups). VirusTotal does not say
 *   whether its window is fixed or sliding; sliding is the stricter reading, so a client that never gets a
 *   refusal here never gets one under either reading.
 * - Day and month windows are calendar windows that reset at 00:00 UTC (the 1st, for months), as documented.
 * - A request for n items (a v2 batch) is refused whole when any window lacks room for all n: VirusTotal
 *   does not document partial batches under quota, and refusing whole is again the stricter reading.
 * - A refused request consumes nothing.
 * - Every authenticated request counts against the minute window, as VirusTotal documents ("4 requests of any
 *   nature"); only lookups count against the day and the month (overall_quotas is not a lookup).
 */
import type { QuotaLimits } from './options.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Used and allowed for one window; `allowed` is `Infinity` when unlimited. */
export interface QuotaUsage {
  readonly used: number;
  readonly allowed: number;
}

/** One key's usage in each window at a given time. */
export interface QuotaReport {
  readonly minute: QuotaUsage;
  readonly hour: QuotaUsage;
  readonly day: QuotaUsage;
  readonly month: QuotaUsage;
}

function monthKey(now: number): number {
  const date = new Date(now);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

/**
 * The usage of one key. Lookups are kept as (time, count) events for the last hour, with two moving heads:
 * one for the minute window, one for the hour (only reported, never enforced).
 */
export class KeyQuota {
  private times: number[] = [];
  private counts: number[] = [];
  private minuteHead = 0;
  private hourHead = 0;
  private minuteUsed = 0;
  private hourUsed = 0;
  private dayKey = -1;
  private dayUsed = 0;
  private monthKeyValue = -1;
  private monthUsed = 0;

  constructor(private readonly limits: QuotaLimits) {}

  /**
   * Charges `items` lookups at `now` and returns true, or returns false (charging nothing) when a window is full.
   * `minuteOnly` charges the minute (and hour) window alone: a request that is not a lookup (overall_quotas).
   */
  tryConsume(items: number, now: number, minuteOnly = false): boolean {
    this.advance(now);
    const { perMinute, perDay, perMonth } = this.limits;
    const lookups = minuteOnly ? 0 : items;
    if (this.minuteUsed + items > perMinute || this.dayUsed + lookups > perDay || this.monthUsed + lookups > perMonth)
      return false;
    this.times.push(now);
    this.counts.push(items);
    this.minuteUsed += items;
    this.hourUsed += items;
    this.dayUsed += lookups;
    this.monthUsed += lookups;
    return true;
  }

  /** The usage at `now`. */
  report(now: number): QuotaReport {
    this.advance(now);
    return {
      minute: { used: this.minuteUsed, allowed: this.limits.perMinute },
      hour: { used: this.hourUsed, allowed: this.limits.perMinute * 60 },
      day: { used: this.dayUsed, allowed: this.limits.perDay },
      month: { used: this.monthUsed, allowed: this.limits.perMonth },
    };
  }

  /** Moves the windows to `now`: drops events older than a minute / an hour, resets day and month at 00:00 UTC. */
  private advance(now: number): void {
    while (this.minuteHead < this.times.length && (this.times[this.minuteHead] ?? now) <= now - MINUTE_MS) {
      this.minuteUsed -= this.counts[this.minuteHead] ?? 0;
      this.minuteHead += 1;
    }
    while (this.hourHead < this.times.length && (this.times[this.hourHead] ?? now) <= now - HOUR_MS) {
      this.hourUsed -= this.counts[this.hourHead] ?? 0;
      this.hourHead += 1;
    }
    if (this.hourHead > 1_024 && this.hourHead * 2 > this.times.length) {
      // Compact now and then, so the arrays hold about one hour of events, not the whole run.
      this.times = this.times.slice(this.hourHead);
      this.counts = this.counts.slice(this.hourHead);
      this.minuteHead -= this.hourHead;
      this.hourHead = 0;
    }
    const day = Math.floor(now / DAY_MS);
    if (day !== this.dayKey) {
      this.dayKey = day;
      this.dayUsed = 0;
    }
    const month = monthKey(now);
    if (month !== this.monthKeyValue) {
      this.monthKeyValue = month;
      this.monthUsed = 0;
    }
  }
}
