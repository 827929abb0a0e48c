/**
 * The lookup stage: every distinct observable is looked up in VirusTotal (v3 or v2) at exactly the pace the
 * key allows, and gets exactly one result, whatever happens.
 *
 * Design decisions:
 * - Workers (`concurrency` of them) each take the next unit of work (one v3 object, one v2 batch of up to
 *   `batchSize` hashes or URLs, one v2 domain/IP) from a shared, serialised reader, ask the limiter for its
 *   slots, send it and retry it in place. A v2 batch is formed only when full (or when the input is done),
 *   so a public key's 4 lookups a minute carry 4 observables per request.
 * - `before` runs when an item is taken into a unit, right before its request: an alias answered by a reply
 *   that arrived meanwhile (md5 then sha256 of one file) costs nothing. An item put back (a batch not yet full,
 *   an answer missing from a batch reply) may meet `before` again.
 * - A v2 batch reply that answers fewer items than were sent means the server drops what is over its batch
 *   limit: the batch size shrinks to what it answered, and the unanswered items go back to the front.
 * - A quota refusal (v3 429 QuotaExceededError, v2 204) asks overall_quotas (v3) whether the day or month is
 *   spent; otherwise it is retried with backoff, and a refusal that persists for a whole minute window (at
 *   least three refusals) means the day or month is spent; an hour when overall_quotas shows room left (a
 *   passing refusal: another client on the key, an hourly quota). Then nothing more is submitted: every remaining
 *   observable that `before` cannot answer gets `NotSubmitted: daily quota exhausted` (or monthly).
 * - 401 (and v2's 403, which is how v2 refuses a key) ends the run: the promise rejects with
 *   ApiError('AUTHENTICATION') once in-flight work is settled; items already taken get `Failed: <code>`, the
 *   ones not yet read get no result. A hook or the input throwing ends the run the same way, with its error.
 */
import { ApiError } from '../errors.js';
import { failedResult, normalizeReply } from '../normalize.js';
import type { LookupResult, LookupStatus, Observable, VtReply } from '../types.js';
import { parseRetryAfter, retryDelay } from './backoff.js';
import { HttpClient, NetworkFailure, type HttpReply } from './http-client.js';
import { v3Collection } from './ids.js';
import { normalizeLookupOptions, type LookupOptions, type NormalizedLookupOptions } from './options.js';
import {
  classify,
  matchBatch,
  parseOverallQuotas,
  redact,
  v2Endpoint,
  v2ReportPath,
  v3ObjectPath,
  v3QuotasPath,
  v3ResolutionsPath,
  type Classified,
} from './protocol.js';
import { RateLimiter, type ExhaustedBudget, type ServerUsage } from './rate-limiter.js';

export { normalizeLookupOptions, systemClock, TIER_DEFAULTS } from './options.js';
export type { Clock, LookupOptions, NormalizedLookupOptions, Tier } from './options.js';

/** Why the stage stopped submitting. */
export type LookupStopReason = 'complete' | 'daily quota exhausted' | 'monthly quota exhausted' | 'interrupted';

/** The pipeline's hooks into the stage. */
export interface LookupHooks {
  /**
   * Called right before an item is submitted; a result returned here (from the cache, or a hash alias already
   * answered in this run) is used instead and no request is made. May be called again for an item put back.
   */
  before?(observable: Observable): LookupResult | undefined;
  /** Each reply as it arrives (the cache commits it). */
  onReply?(observable: Observable, reply: VtReply): void;
  /**
   * Exactly once per observable read from the input, whatever happens. When the run itself fails (a 401, a
   * hook or the input throwing), observables not yet read get none: the promise rejects instead.
   */
  onResult(observable: Observable, result: LookupResult): void;
  /** After each result. */
  onProgress?(progress: LookupProgress): void;
}

/** A progress snapshot. */
export interface LookupProgress {
  /** Observables with a result so far. */
  readonly done: number;
  readonly lookedUp: number;
  readonly failed: number;
  readonly notSubmitted: number;
  readonly requests: number;
  readonly retries: number;
  /** Quota used today and this month as known to the client (server usage at start plus this run's). */
  readonly dayUsed: number;
  readonly perDay: number;
  readonly monthUsed: number;
  readonly perMonth: number;
  readonly perMinute: number;
}

/** The stage's accounting. */
export interface LookupStats {
  /** HTTP requests made (lookups, resolutions, quota checks; retries included). */
  requests: number;
  /** Requests that repeated an earlier one after a failure or refusal. */
  retries: number;
  /** Observables with a Success or NotFound result, including those answered by `before`. */
  lookedUp: number;
  /** Of lookedUp, NotFound ones. */
  notFound: number;
  /** Of lookedUp, those `before` answered without a request. */
  answeredBefore: number;
  failed: number;
  notSubmitted: number;
  /** 429 and v2 204 replies. */
  quotaRefusals: number;
  /** Replies by HTTP status; network failures under `network`. */
  byHttpStatus: Record<string, number>;
  stopReason: LookupStopReason;
}

interface Item {
  readonly observable: Observable;
  /** Times a batch reply left it out. */
  missing: number;
  done: boolean;
}

type Lane = 'single' | 'file' | 'url';

interface Unit {
  readonly lane: Lane;
  /** v3 collection or v2 endpoint name: 403 closes it for the rest of the run. */
  readonly endpoint: string;
  items: Item[];
}

/** What one request cycle (with its retries) came to. */
type Exchange =
  | { readonly kind: 'ok'; readonly json: unknown }
  | { readonly kind: 'notFound' }
  | { readonly kind: 'forbidden'; readonly code: string }
  | { readonly kind: 'failed'; readonly status: LookupStatus }
  /** Not submitted: quota spent, interrupted, or the key was refused. */
  | { readonly kind: 'stopped'; readonly status: LookupStatus };

// A quota refusal counts as persistent only after this many refusals spanning a whole minute window, so that a
// passing per-minute refusal (another client on the same key) is never mistaken for a spent day.
const PERSISTENT_REFUSALS = 3;
const MINUTE_WINDOW_MS = 60_000;
const HOUR_WINDOW_MS = 3_600_000;

class LookupRun {
  private readonly options: NormalizedLookupOptions;
  private readonly hooks: LookupHooks;
  private readonly limiter: RateLimiter;
  private readonly http: HttpClient;
  private readonly stats: LookupStats;
  private iterator: AsyncIterator<Observable> | Iterator<Observable> | undefined;
  private sourceDone = false;
  private readonly lanes: Record<Lane, Item[]> = { single: [], file: [], url: [] };
  private batchSize: number;
  private stopReason: LookupStopReason | undefined;
  // What ends the run: a refused key (ApiError), or an error thrown by a hook or by the input iterator.
  private fatal: { readonly error: unknown } | undefined;
  private readonly forbidden = new Set<string>();
  private reading: Promise<unknown> = Promise.resolve();
  /** One headers object for every lookup (v2 carries the key in the query), so the client merges it once. */
  private readonly lookupHeaders: Readonly<Record<string, string>>;
  private done = 0;

  constructor(options: NormalizedLookupOptions, hooks: LookupHooks) {
    this.options = options;
    this.hooks = hooks;
    this.limiter = new RateLimiter(options, options.clock, options.signal, options.quotaStore);
    // One spare socket for the quota checks that can run beside the lookups.
    this.http = new HttpClient(options.baseUrl, { maxSockets: options.concurrency + 1, timeoutMs: options.timeoutMs });
    this.batchSize = options.batchSize;
    this.lookupHeaders = options.api === 'v3' ? { 'x-apikey': options.apiKey } : {};
    this.stats = {
      requests: 0,
      retries: 0,
      lookedUp: 0,
      notFound: 0,
      answeredBefore: 0,
      failed: 0,
      notSubmitted: 0,
      quotaRefusals: 0,
      byHttpStatus: {},
      stopReason: 'complete',
    };
  }

  async run(observables: Iterable<Observable> | AsyncIterable<Observable>): Promise<LookupStats> {
    this.iterator =
      Symbol.asyncIterator in observables
        ? (observables as AsyncIterable<Observable>)[Symbol.asyncIterator]()
        : (observables as Iterable<Observable>)[Symbol.iterator]();
    try {
      if (this.options.api === 'v3') await this.readServerUsage();
      if (this.fatal === undefined) {
        const workers: Array<Promise<void>> = [];
        for (let i = 0; i < this.options.concurrency; i++) workers.push(this.worker());
        await Promise.all(workers);
      }
      if (this.fatal !== undefined) throw this.fatal.error;
      const unfinished = !this.sourceDone || Object.values(this.lanes).some((lane) => lane.length > 0);
      if (this.options.signal?.aborted === true && unfinished) this.stop('interrupted');
      if (this.stopReason !== undefined) await this.drain(this.stopReason);
      this.stats.stopReason = this.stopReason ?? 'complete';
      return this.stats;
    } finally {
      this.http.close();
    }
  }

  // ---- reading and forming units -------------------------------------------------------------------------

  private nextUnit(): Promise<Unit | undefined> {
    // The input iterator and the lanes are shared: one reader at a time.
    const next = this.reading.then(() => this.formUnit());
    this.reading = next.catch(() => undefined);
    return next;
  }

  private async formUnit(): Promise<Unit | undefined> {
    for (;;) {
      if (this.stopReason !== undefined || this.fatal !== undefined || this.options.signal?.aborted === true)
        return undefined;
      const single = this.takeSingle();
      if (single !== undefined) return single;
      for (const lane of ['file', 'url'] as const) {
        const items = this.lanes[lane];
        if (items.length >= this.batchSize || (this.sourceDone && items.length > 0)) {
          const batch = this.takeBatch(lane);
          if (batch !== undefined) return batch;
        }
      }
      if (this.sourceDone) return undefined;
      await this.readOne();
    }
  }

  private async readOne(): Promise<void> {
    const next = await (this.iterator as AsyncIterator<Observable>).next();
    if (next.done === true) {
      this.sourceDone = true;
      return;
    }
    const observable = next.value;
    const item: Item = { observable, missing: 0, done: false };
    if (this.options.api === 'v3') this.lanes.single.push(item);
    else {
      const endpoint = v2Endpoint(observable.type);
      this.lanes[endpoint === 'file' || endpoint === 'url' ? endpoint : 'single'].push(item);
    }
  }

  private endpointOf(item: Item): string {
    const { type } = item.observable;
    return this.options.api === 'v3' ? v3Collection(type) : v2Endpoint(type);
  }

  private answeredBefore(item: Item): boolean {
    const result = this.hooks.before?.(item.observable);
    if (result === undefined) return false;
    this.stats.answeredBefore++;
    this.finish(item, result);
    return true;
  }

  private takeSingle(): Unit | undefined {
    const lane = this.lanes.single;
    while (lane.length > 0) {
      const item = lane.shift() as Item;
      if (this.answeredBefore(item)) continue;
      return { lane: 'single', endpoint: this.endpointOf(item), items: [item] };
    }
    return undefined;
  }

  private takeBatch(lane: 'file' | 'url'): Unit | undefined {
    const queue = this.lanes[lane];
    const batch: Item[] = [];
    const keys = new Set<string>();
    const skipped: Item[] = [];
    while (queue.length > 0 && batch.length < this.batchSize) {
      const item = queue.shift() as Item;
      if (this.answeredBefore(item)) continue;
      // The same observable twice in one batch would be charged twice and answered once.
      if (keys.has(item.observable.key)) skipped.push(item);
      else {
        keys.add(item.observable.key);
        batch.push(item);
      }
    }
    queue.unshift(...skipped);
    if (batch.length === 0) return undefined;
    if (batch.length < this.batchSize && !this.sourceDone && skipped.length === 0) {
      // Not full yet: wait for more input rather than spend a request on a partial batch.
      queue.unshift(...batch);
      return undefined;
    }
    return { lane, endpoint: lane, items: batch };
  }

  // ---- executing units ------------------------------------------------------------------------------------

  private async worker(): Promise<void> {
    let unit: Unit | undefined;
    try {
      for (;;) {
        unit = await this.nextUnit();
        if (unit === undefined) return;
        await this.execute(unit);
      }
    } catch (error) {
      // A hook or the input failed: the other workers stop at their next step, and the run rethrows it.
      this.fatal ??= { error };
      for (const item of unit?.items ?? []) if (!item.done) this.finishQuietly(item, failedResult(this.fatalStatus()));
    }
  }

  /** finish() for the failure path: a hook that threw once may throw again; the run's error is already kept. */
  private finishQuietly(item: Item, result: LookupResult): void {
    try {
      this.finish(item, result);
    } catch {
      // Already failing: the first error is the one reported.
    }
  }

  private async execute(unit: Unit): Promise<void> {
    if (this.forbidden.has(unit.endpoint)) {
      for (const item of unit.items) this.finish(item, failedResult('Failed: ForbiddenError'));
      return;
    }
    const outcome = await this.exchange(unit, () => this.pathOf(unit), unit.lane === 'single' ? undefined : unit.lane);
    switch (outcome.kind) {
      case 'ok':
        if (unit.lane === 'single') await this.deliver(unit.items[0] as Item, outcome.json);
        else this.deliverBatch(unit, outcome.json);
        return;
      case 'notFound':
        await this.deliver(unit.items[0] as Item, null);
        return;
      case 'forbidden':
        this.forbidden.add(unit.endpoint);
        this.options.logger?.warn(
          { endpoint: unit.endpoint, code: outcome.code },
          'VirusTotal refused this endpoint to the key: its items fail',
        );
        for (const item of unit.items) this.finish(item, failedResult(`Failed: ${outcome.code}`));
        return;
      case 'failed':
      case 'stopped':
        for (const item of unit.items) this.finish(item, failedResult(outcome.status));
        return;
    }
  }

  private pathOf(unit: Unit): string {
    const { api, apiKey } = this.options;
    const first = (unit.items[0] as Item).observable;
    if (api === 'v3') return v3ObjectPath(first);
    return v2ReportPath(
      v2Endpoint(first.type),
      unit.items.map((item) => item.observable.value),
      apiKey,
    );
  }

  /**
   * Sends the unit's request until it has an answer: paced by the limiter, retried with backoff. `batchLane`
   * is set for v2 batches, which may be cut down to the budget left (the rest go back to the lane).
   */
  private async exchange(unit: Unit, path: () => string, batchLane: 'file' | 'url' | undefined): Promise<Exchange> {
    const { options } = this;
    let retries = 0;
    let refusals = 0;
    let firstRefusal = 0;
    for (;;) {
      if (this.fatal !== undefined) return { kind: 'stopped', status: this.fatalStatus() };
      if (options.signal?.aborted === true) {
        this.stop('interrupted');
        return { kind: 'stopped', status: 'NotSubmitted: interrupted' };
      }
      const acquired = await this.limiter.acquire(unit.items.length);
      if ('aborted' in acquired) {
        this.stop('interrupted');
        return { kind: 'stopped', status: 'NotSubmitted: interrupted' };
      }
      if ('exhausted' in acquired) return this.exhausted(acquired.exhausted);
      const { permit } = acquired;
      if (permit.count < unit.items.length && batchLane !== undefined) {
        this.lanes[batchLane].unshift(...unit.items.splice(permit.count));
      }
      const classified = await this.send(path(), this.lookupHeaders);
      switch (classified.kind) {
        case 'ok':
        case 'notFound':
          permit.settle(permit.count);
          return classified;
        case 'auth':
          permit.settle(0);
          this.fail401(classified.code, classified.status);
          return { kind: 'stopped', status: `Failed: ${classified.code}` };
        case 'forbidden':
          permit.settle(0);
          return { kind: 'forbidden', code: classified.code };
        case 'failed':
          permit.settle(0);
          return { kind: 'failed', status: `Failed: ${classified.code}` };
        case 'retry':
        case 'quota': {
          permit.settle(0);
          const now = options.clock.now();
          if (classified.kind === 'quota') {
            refusals++;
            if (refusals === 1) firstRefusal = now;
            const spent = await this.spentBudget(refusals, now - firstRefusal);
            if (spent !== undefined) {
              this.limiter.exhaust(spent);
              return this.exhausted(spent);
            }
          } else if (retries - refusals >= options.maxRetries) {
            // Quota refusals are bounded by time (above); only the other failures spend maxRetries.
            return { kind: 'failed', status: `Failed: ${classified.code}` };
          }
          const delay = retryDelay(retries, parseRetryAfter(classified.retryAfter, now), {
            baseMs: options.backoffBaseMs,
            maxMs: options.backoffMaxMs,
            random: options.random,
          });
          options.logger?.debug(
            { code: classified.code, retry: retries + 1, delayMs: delay },
            'VirusTotal request will be retried',
          );
          retries++;
          this.stats.retries++;
          await options.clock.sleep(delay, options.signal);
          continue;
        }
      }
    }
  }

  private async send(path: string, headers: Readonly<Record<string, string>>): Promise<Classified> {
    this.stats.requests++;
    let reply: HttpReply | NetworkFailure;
    try {
      reply = await this.http.get(path, headers);
    } catch (error) {
      reply = error instanceof NetworkFailure ? error : new NetworkFailure('ENETWORK', 'network error');
    }
    const status = reply instanceof NetworkFailure ? 'network' : String(reply.status);
    this.stats.byHttpStatus[status] = (this.stats.byHttpStatus[status] ?? 0) + 1;
    const classified = classify(this.options.api, reply);
    if (classified.kind === 'quota' || (reply instanceof NetworkFailure === false && reply.status === 429))
      this.stats.quotaRefusals++;
    return classified;
  }

  /**
   * After a quota refusal: which budget is spent, if any. v3 asks overall_quotas; otherwise (and as a safety
   * bound) a refusal that has persisted over a whole minute window means the day or the month.
   */
  private async spentBudget(refusals: number, refusedForMs: number): Promise<ExhaustedBudget | undefined> {
    let persistence = MINUTE_WINDOW_MS;
    if (this.options.api === 'v3') {
      const usage = await this.fetchServerUsage();
      if (usage !== undefined) {
        if (usage.dayUsed !== undefined && usage.dayAllowed !== undefined && usage.dayUsed >= usage.dayAllowed)
          return 'daily';
        if (usage.monthUsed !== undefined && usage.monthAllowed !== undefined && usage.monthUsed >= usage.monthAllowed)
          return 'monthly';
        // The server says day and month have room: a passing refusal (the minute, or an hourly quota some
        // accounts have). Keep retrying; only a refusal lasting an hour is taken for a spent day.
        if (usage.dayUsed !== undefined || usage.monthUsed !== undefined) persistence = HOUR_WINDOW_MS;
      }
    }
    if (refusals >= PERSISTENT_REFUSALS && refusedForMs > persistence) {
      const { dayUsed, perDay, monthUsed, perMonth } = this.limiter.usage();
      return perMonth - monthUsed < perDay - dayUsed ? 'monthly' : 'daily';
    }
    return undefined;
  }

  private exhausted(budget: ExhaustedBudget): Exchange {
    const reason = budget === 'daily' ? 'daily quota exhausted' : 'monthly quota exhausted';
    this.stop(reason);
    return { kind: 'stopped', status: `NotSubmitted: ${reason}` };
  }

  private stop(reason: LookupStopReason): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    const level = reason === 'interrupted' ? 'info' : 'warn';
    this.options.logger?.[level]({ reason }, 'lookups stop: nothing more is submitted');
  }

  private fail401(code: string, status: number): void {
    if (this.fatal !== undefined) return;
    this.fatal = {
      error: new ApiError(
        'AUTHENTICATION',
        `VirusTotal refused the API key (HTTP ${status} ${code}): no lookup can succeed with it`,
        {
          status,
          vtCode: code,
        },
      ),
    };
  }

  private fatalStatus(): LookupStatus {
    const error = this.fatal?.error;
    return error instanceof ApiError ? `Failed: ${error.vtCode ?? 'AuthenticationError'}` : 'NotSubmitted: run failed';
  }

  private async readServerUsage(): Promise<void> {
    const usage = await this.fetchServerUsage();
    if (usage !== undefined) {
      this.limiter.applyServerUsage(usage);
      this.options.logger?.debug({ usage }, 'VirusTotal quota usage read');
    }
  }

  private async fetchServerUsage(): Promise<ServerUsage | undefined> {
    const classified = await this.send(v3QuotasPath(this.options.apiKey), { 'x-apikey': this.options.apiKey });
    if (classified.kind === 'auth') {
      this.fail401(classified.code, classified.status);
      return undefined;
    }
    return classified.kind === 'ok' ? parseOverallQuotas(classified.json) : undefined;
  }

  // ---- results ----------------------------------------------------------------------------------------------

  private async deliver(item: Item, body: unknown): Promise<void> {
    const { observable } = item;
    let resolutions: unknown[] | undefined;
    if (
      body !== null &&
      this.options.api === 'v3' &&
      this.options.resolutions &&
      (observable.type === 'dns' || observable.type === 'ipv4' || observable.type === 'ipv6') &&
      !this.forbidden.has('resolutions')
    ) {
      resolutions = await this.fetchResolutions(item);
    }
    const reply: VtReply = {
      api: this.options.api,
      type: observable.type,
      value: observable.value,
      body,
      ...(resolutions === undefined ? {} : { resolutions }),
      fetchedAt: this.options.clock.now(),
    };
    this.hooks.onReply?.(observable, reply);
    this.finish(item, normalizeReply(reply, { raw: this.options.raw, redact: this.options.apiKey }));
  }

  /** The first page of resolutions; undefined when they could not be had (the object's result stands). */
  private async fetchResolutions(item: Item): Promise<unknown[] | undefined> {
    const unit: Unit = { lane: 'single', endpoint: 'resolutions', items: [item] };
    const outcome = await this.exchange(unit, () => v3ResolutionsPath(item.observable), undefined);
    if (outcome.kind === 'ok') {
      const data = (outcome.json as { data?: unknown }).data;
      return Array.isArray(data) ? data : [];
    }
    if (outcome.kind === 'notFound') return [];
    if (outcome.kind === 'forbidden') {
      this.forbidden.add('resolutions');
      this.options.logger?.warn({ code: outcome.code }, 'VirusTotal refused resolutions to the key: they are skipped');
    }
    return undefined;
  }

  private deliverBatch(unit: Unit, json: unknown): void {
    const observables = unit.items.map((item) => item.observable);
    const answers = matchBatch(observables, json);
    const answered = answers.filter((answer) => answer !== undefined).length;
    if (answered > 0 && answered < unit.items.length && answered < this.batchSize) {
      this.options.logger?.warn(
        { sent: unit.items.length, answered },
        'VirusTotal answered part of a batch: batches shrink to what it answers',
      );
      this.batchSize = answered;
    }
    const putBack: Item[] = [];
    unit.items.forEach((item, index) => {
      const answer = answers[index];
      if (answer === undefined) {
        item.missing++;
        if (item.missing > this.options.maxRetries)
          this.finish(item, failedResult('Failed: no answer in the batch reply'));
        else putBack.push(item);
        return;
      }
      const notFound = answer['response_code'] === 0;
      const reply: VtReply = {
        api: 'v2',
        type: item.observable.type,
        value: item.observable.value,
        body: notFound ? null : answer,
        fetchedAt: this.options.clock.now(),
      };
      this.hooks.onReply?.(item.observable, reply);
      this.finish(item, normalizeReply(reply, { raw: this.options.raw, redact: this.options.apiKey }));
    });
    if (putBack.length > 0) {
      this.stats.retries++;
      this.lanes[unit.lane === 'url' ? 'url' : 'file'].unshift(...putBack);
    }
  }

  private finish(item: Item, result: LookupResult): void {
    if (item.done) return;
    item.done = true;
    this.done++;
    const { stats } = this;
    if (result.status === 'Success' || result.status === 'NotFound') {
      stats.lookedUp++;
      if (result.status === 'NotFound') stats.notFound++;
    } else if (result.status.startsWith('NotSubmitted')) stats.notSubmitted++;
    else stats.failed++;
    this.hooks.onResult(item.observable, result);
    if (this.hooks.onProgress !== undefined) {
      const usage = this.limiter.usage();
      this.hooks.onProgress({
        done: this.done,
        lookedUp: stats.lookedUp,
        failed: stats.failed,
        notSubmitted: stats.notSubmitted,
        requests: stats.requests,
        retries: stats.retries,
        ...usage,
      });
    }
  }

  /** After a stop: everything not yet answered gets `before`'s answer or `NotSubmitted: <reason>`. */
  private async drain(reason: LookupStopReason): Promise<void> {
    const status: LookupStatus = `NotSubmitted: ${reason}`;
    const settle = (item: Item): void => {
      if (!item.done && !this.answeredBefore(item)) this.finish(item, failedResult(status));
    };
    for (const lane of ['single', 'file', 'url'] as const) {
      for (const item of this.lanes[lane].splice(0)) settle(item);
    }
    while (!this.sourceDone) {
      await this.readOne();
      for (const item of this.lanes.single.splice(0)) settle(item);
      for (const item of this.lanes.file.splice(0)) settle(item);
      for (const item of this.lanes.url.splice(0)) settle(item);
    }
  }
}

/**
 * Looks up every observable and calls `hooks.onResult` exactly once for each. Resolves with the accounting
 * when all have a result; rejects with ApiError('AUTHENTICATION') when the key is refused, and with
 * OptionError for bad options.
 */
export async function lookupObservables(
  observables: Iterable<Observable> | AsyncIterable<Observable>,
  options: LookupOptions | NormalizedLookupOptions,
  hooks: LookupHooks,
): Promise<LookupStats> {
  return new LookupRun(normalizeLookupOptions(options), hooks).run(observables);
}

export { redact };
