/**
 * Request counters. Benchmarks and reliability tests read them (`stats()` or `GET /__emulator/stats`) to
 * prove, for example, that a run never met a 429.
 */
import type { FaultKind } from './options.js';

/** What the emulator has served since it started (or since `resetStats()`). */
export interface EmulatorStats {
  /** API requests received (the stats endpoint itself is not counted). */
  requests: number;
  /** Replies by HTTP status (`"200"`, `"429"`, …); a connection reset counts as `"reset"`. */
  byStatus: Record<string, number>;
  /** Requests by endpoint (`v3/files`, `v3/resolutions`, `v2/file/report`, …). */
  byEndpoint: Record<string, number>;
  /** Items charged against a quota: one per v3 lookup, one per answered resource of a v2 batch. */
  itemsLookedUp: number;
  /** Requests refused for quota (v3 429 QuotaExceededError, v2 204). */
  quotaRefusals: number;
  /** Faults injected, all kinds. */
  faultsInjected: number;
  /** Faults injected, by kind. */
  faultsByKind: Partial<Record<FaultKind, number>>;
  /** With `recordCharges`: the time (epoch ms) of each item charged, in order. */
  chargeTimes?: number[];
}

/** A fresh, all-zero stats object. */
export function emptyStats(): EmulatorStats {
  return {
    requests: 0,
    byStatus: {},
    byEndpoint: {},
    itemsLookedUp: 0,
    quotaRefusals: 0,
    faultsInjected: 0,
    faultsByKind: {},
  };
}

/** Adds one to `record[key]`. */
export function increment(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

/** A deep copy, so a caller holding it does not see later requests. */
export function copyStats(stats: EmulatorStats): EmulatorStats {
  return {
    ...stats,
    byStatus: { ...stats.byStatus },
    byEndpoint: { ...stats.byEndpoint },
    faultsByKind: { ...stats.faultsByKind },
    ...(stats.chargeTimes === undefined ? {} : { chargeTimes: [...stats.chargeTimes] }),
  };
}
