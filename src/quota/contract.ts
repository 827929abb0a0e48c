/**
 * A quota shared by every limiter that uses one API key: several runs in one process (the local store) or on
 * several hosts (the Redis store). The rate limiter consults it after its own window agrees.
 *
 * The rules every store keeps (those of the in-process limiter, see src/vt/rate-limiter.ts):
 * - A granted slot occupies the minute window from its grant until 60 s after its reply; while in flight it
 *   is leased: a holder that dies without settling frees it `leaseMs` + 60 s after its last renewal.
 * - The day's and month's budgets (UTC calendar windows) are reserved at grant time and given back for what
 *   was not counted (a refusal, a failure), so concurrent holders can never overspend them.
 * - Checks and updates are atomic: two holders never both take the last slot.
 */
import type { ExhaustedBudget, RateLimits, ServerUsage } from '../vt/rate-limiter.js';

/** Slots granted by a store; settle once, when the reply (or the failure) is in. */
export interface QuotaLease {
  readonly count: number;
  /** Dates the slots by now; `counted` of them stay charged to the day and month, the rest are given back. */
  settle(counted: number): void;
}

/** What {@link QuotaStore.acquire} resolves to. */
export type QuotaGrant =
  | { readonly lease: QuotaLease }
  /** No room yet: ask again after this many ms (a bound: slots may free earlier). */
  | { readonly waitMs: number }
  | { readonly exhausted: ExhaustedBudget }
  | { readonly aborted: true };

/** A store of slots and budgets shared by limiters. */
export interface QuotaStore {
  /** Where it is, for messages (never a password). */
  readonly location: string;
  /**
   * Takes up to `count` slots (fewer only when the day's or month's budget has fewer left) if the window has
   * room for them, else says how long to wait. Never rejects: a store that cannot be reached is retried (the
   * run pauses; nothing is sent without a grant) until it answers or `signal` aborts.
   */
  acquire(count: number, limits: RateLimits, signal?: AbortSignal): Promise<QuotaGrant>;
  /** The server's own count (v3 overall_quotas): the shared view never holds less than it. */
  applyServerUsage(usage: ServerUsage): void;
  /** The server said a budget is spent. */
  exhaust(budget: ExhaustedBudget, limits: RateLimits): void;
  /** Settles what is pending and lets go of the connection. */
  close(): Promise<void>;
}

/** The sliding window, as VirusTotal counts it. */
export const WINDOW_MS = 60_000;
/** A server may count a request exactly 60 s old as still inside: a slot leaves 1 ms later. */
export const WINDOW_MARGIN_MS = 1;
/** How long an in-flight slot stays leased without a renewal. @default */
export const DEFAULT_LEASE_MS = 15_000;
export const DAY_MS = 86_400_000;

/** UTC month number (year × 12 + month) of an epoch time. */
export function monthKey(epochMs: number): number {
  const date = new Date(epochMs);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
}

/** A limit as a finite number for a store (-1: none). */
export function finiteLimit(limit: number): number {
  return Number.isFinite(limit) ? limit : -1;
}
