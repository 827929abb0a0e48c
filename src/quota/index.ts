/**
 * Quota stores: the per-minute window and the daily/monthly budgets of one API key, shared by several runs.
 * The rate limiter (src/vt/rate-limiter.ts) keeps its own run's window and consults a store on top.
 */
export { DEFAULT_LEASE_MS, type QuotaGrant, type QuotaLease, type QuotaStore } from './contract.js';
export { LocalQuotaStore } from './local.js';
export { RedisQuotaStore, type RedisQuotaOptions } from './redis.js';
