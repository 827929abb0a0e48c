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
 * - Every request goes through the limiter, the quota queries included: VirusTotal counts requests "of any
 *   nature" against the minute limit.
 * - A quota refusal (v3 429 QuotaExceededError, v2 204) asks overall_quotas (v3) whether the day or month is
 *   spent; otherwise it is retried with backoff, and a refusal that persists for a whole minute window (at
 *   least three refusals) means the day or month is spent; an hour when overall_quotas shows room left (a
 *   passing refusal: another client on the key, an hourly quota). Then nothing more is submitted: every remaining
 *   observable that `before` cannot answer gets `NotSubmitted: daily quota exhausted` (or monthly).
 * - Requests beyond the lookup (a page of resolutions, the context of a hit, a URL submission) are made by the
 *   worker that holds the item, right after its lookup, through the same `exchange()`. Analysis polls are not:
 *   a submitted URL waits in a queue ordered by when its next poll is due, and a worker takes a due poll before
 *   any new lookup, so the slots between polls go to other lookups; a worker sleeps until the next poll only
 *   when nothing else is left. A stop (quota, interrupt) leaves pending analyses `Queued`.
 * - 401 (and v2's 403, which is how v2 refuses a key) ends the run: the promise rejects with
 *   ApiError('AUTHENTICATION') once in-flight work is settled; items already taken get `Failed: <code>`, the
 *   ones not yet read get no result. A hook or the input throwing ends the run the same way, with its error.
 */
import { ApiError } from '../errors.js';
import { failedResult, normalizeReply, queuedResult } from '../normalize.js';
import type { LookupResult, LookupStatus, Observable, VtReply } from '../types.js';
import { parseRetryAfter, retryDelay } from './backoff.js';
import { HttpClient, NetworkFailure, type HttpReply } from './http-client.js';
import { urlIdSha256, v3Collection } from './ids.js';
import { normalizeLookupOptions, type LookupOptions, type NormalizedLookupOptions } from './options.js';
import { proxyAuthenticationMessage } from './proxy.js';
import {
  classify,
  CONTEXT_RELATIONSHIPS,
  ENTERPRISE_RELATIONSHIPS,
  hasResolutions,
  matchBatch,
  member,
  pageCursor,
  parseAnalysis,
  parseOverallQuotas,
  redact,
  submittedAnalysisId,
  v2Endpoint,
  v2Queued,
  v2ReportPath,
  v3AnalysisPath,
  v3ContextPath,
  v3LookupPath,
  v3QuotasPath,
  v3ResolutionsPagePath,
  V3_SUBMIT_URL_PATH,
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
  /** HTTP requests made (lookups, resolutions, context, submissions, polls, quota checks; retries included). */
  requests: number;
  /** Of requests: pages of resolutions beyond the first (`--resolutions`). */
  resolutionPages: number;
  /** Of requests: context requests of hits (`--context`). */
  contextRequests: number;
  /** Of requests: URLs submitted for analysis (v3 `POST /urls`; v2 submits within the report request). */
  submissions: number;
  /** Of requests: polls of submitted URLs' analyses. */
  analysisPolls: number;
  /** Of lookedUp: submitted URLs whose analysis had not finished in time (`Queued`). */
  queued: number;
  /** Context relationships the key may not read (`urls of ip_addresses: ForbiddenError`): their cells stay empty. */
  contextRefused: string[];
  /** Requests that repeated an earlier one after a failure or refusal. */
  retries: number;
  /** Observables with a Success, NotFound or Queued result, including those answered by `before`. */
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
  /** Set for the poll of a submitted URL's analysis. */
  readonly poll?: Poll;
}

/** A submitted URL waiting for its analysis. */
interface Poll {
  readonly item: Item;
  /** v3: the analysis id; v2 polls the URL's report. */
  readonly analysisId: string;
  /** When the next poll is due, and after when none is sent (epoch ms on the stage's clock). */
  due: number;
  readonly deadline: number;
}

/** A request: a GET of a path, or a form POSTed to it. */
type Target = string | { readonly path: string; readonly form: URLSearchParams };

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
  /** Submitted URLs waiting for their analyses, in the order their polls fall due. */
  private readonly polls: Poll[] = [];
  /** The context relationships still asked, by v3 collection (those the key may not read are dropped). */
  private readonly contextAsked = new Map<string, readonly string[]>(Object.entries(CONTEXT_RELATIONSHIPS));
  private reading: Promise<unknown> = Promise.resolve();
  /** One headers object for every lookup (v2 carries the key in the query), so the client merges it once. */
  private readonly lookupHeaders: Readonly<Record<string, string>>;
  private done = 0;

  constructor(options: NormalizedLookupOptions, hooks: LookupHooks) {
    this.options = options;
    this.hooks = hooks;
    this.limiter = new RateLimiter(options, options.clock, options.signal, options.quotaStore);
    // One spare socket for the quota checks that can run beside the lookups.
    this.http = new HttpClient(
      options.baseUrl,
      { maxSockets: options.concurrency + 1, timeoutMs: options.timeoutMs, maxReplyBytes: options.maxReplyBytes },
      options,
    );
    this.batchSize = options.batchSize;
    this.lookupHeaders = options.api === 'v3' ? { 'x-apikey': options.apiKey } : {};
    this.stats = {
      requests: 0,
      resolutionPages: 0,
      contextRequests: 0,
      submissions: 0,
      analysisPolls: 0,
      queued: 0,
      contextRefused: [],
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
      Symbol.asyncIterator in observables ? observables[Symbol.asyncIterator]() : observables[Symbol.iterator]();
    try {
      if (this.options.api === 'v3') await this.readServerUsage();
      if (this.fatal === undefined) {
        const workers: Array<Promise<void>> = [];
        for (let i = 0; i < this.options.concurrency; i++) workers.push(this.worker());
        await Promise.all(workers);
      }
      if (this.fatal !== undefined) throw this.fatal.error;
      const unfinished =
        !this.sourceDone || this.polls.length > 0 || Object.values(this.lanes).some((lane) => lane.length > 0);
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
      const poll = this.takePoll();
      if (poll !== undefined) return poll;
      const single = this.takeSingle();
      if (single !== undefined) return single;
      for (const lane of ['file', 'url'] as const) {
        const items = this.lanes[lane];
        if (items.length >= this.batchSize || (this.sourceDone && items.length > 0)) {
          const batch = this.takeBatch(lane);
          if (batch !== undefined) return batch;
        }
      }
      if (!this.sourceDone) await this.readOne();
      else if (this.polls.length > 0) {
        // Nothing else to do: wait for the next analysis poll (other workers' slots stay free meanwhile).
        const first = this.polls[0] as Poll;
        await this.options.clock.sleep(Math.max(0, first.due - this.options.clock.now()), this.options.signal);
      } else return undefined;
    }
  }

  private takePoll(): Unit | undefined {
    const first = this.polls[0];
    if (first === undefined || first.due > this.options.clock.now()) return undefined;
    this.polls.shift();
    return { lane: 'single', endpoint: 'analyses', items: [first.item], poll: first };
  }

  private schedulePoll(poll: Poll): void {
    const at = this.polls.findIndex((other) => other.due > poll.due);
    if (at === -1) this.polls.push(poll);
    else this.polls.splice(at, 0, poll);
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
    if (unit.poll !== undefined) {
      await this.pollAnalysis(unit, unit.poll);
      return;
    }
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
      case 'notFound': {
        const item = unit.items[0] as Item;
        if (this.submits(item)) await this.submit(item);
        else await this.deliver(item, null);
        return;
      }
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
    if (api === 'v3') return v3LookupPath(first);
    return v2ReportPath(
      v2Endpoint(first.type),
      unit.items.map((item) => item.observable.value),
      apiKey,
      this.submits(unit.items[0] as Item),
    );
  }

  /**
   * Sends the unit's request until it has an answer: paced by the limiter, retried with backoff. `batchLane`
   * is set for v2 batches, which may be cut down to the budget left (the rest go back to the lane).
   */
  private async exchange(unit: Unit, target: () => Target, batchLane: 'file' | 'url' | undefined): Promise<Exchange> {
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
      const classified = await this.send(target(), this.lookupHeaders);
      switch (classified.kind) {
        case 'ok':
        case 'notFound':
          permit.settle(permit.count);
          return classified;
        case 'auth':
          permit.settle(0);
          this.fail401(classified);
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

  private async send(target: Target, headers: Readonly<Record<string, string>>): Promise<Classified> {
    this.stats.requests++;
    let reply: HttpReply | NetworkFailure;
    try {
      reply =
        typeof target === 'string'
          ? await this.http.get(target, headers)
          : await this.http.post(target.path, headers, target.form);
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

  private fail401({ code, status, message }: Extract<Classified, { kind: 'auth' }>): void {
    if (this.fatal !== undefined) return;
    this.fatal = {
      error: new ApiError(
        'AUTHENTICATION',
        message ??
          (status === 407
            ? proxyAuthenticationMessage(this.options.proxy)
            : `VirusTotal refused the API key (HTTP ${status} ${code}): no lookup can succeed with it`),
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

  /**
   * Asks overall_quotas. VirusTotal counts every request "of any nature" against the minute limit, so this one
   * is paced like a lookup, and it is charged to the day and the month too (the documentation does not say it
   * is free there; see the README's *Quotas and pacing*). Without a slot (budget spent, interrupted) it is
   * not asked.
   */
  private async fetchServerUsage(): Promise<ServerUsage | undefined> {
    const acquired = await this.limiter.acquire(1);
    if (!('permit' in acquired)) return undefined;
    const classified = await this.send(v3QuotasPath(this.options.apiKey), { 'x-apikey': this.options.apiKey });
    acquired.permit.settle(1);
    if (classified.kind === 'auth') {
      this.fail401(classified);
      return undefined;
    }
    return classified.kind === 'ok' ? parseOverallQuotas(classified.json) : undefined;
  }

  // ---- results ----------------------------------------------------------------------------------------------

  private async deliver(item: Item, body: unknown): Promise<void> {
    const { observable } = item;
    let reply = body;
    let resolutions: unknown[] | undefined;
    if (body !== null && this.options.api === 'v3') {
      if (this.options.context && positivesOf(body) >= this.options.contextMinPositives)
        reply = (await this.fetchContext(item)) ?? body;
      if (this.options.resolutions && hasResolutions(observable.type))
        resolutions = await this.nextResolutions(item, reply);
    }
    this.settleReply(item, {
      api: this.options.api,
      type: observable.type,
      value: observable.value,
      body: reply,
      ...(resolutions === undefined ? {} : { resolutions }),
      fetchedAt: this.options.clock.now(),
    });
  }

  /** Normalises a reply and finishes its item; only a reply that normalises is handed on (to the cache). */
  private settleReply(item: Item, reply: VtReply): void {
    const result = normalizeReply(reply, { raw: this.options.raw, redact: this.options.apiKey });
    if (!result.status.startsWith('Failed')) this.hooks.onReply?.(item.observable, reply);
    this.finish(item, result);
  }

  /**
   * The resolutions after the first page, which came with the object: one more page (40), when the object's
   * `resolutions` relationship has a cursor. Undefined when there is none or it could not be had.
   */
  private async nextResolutions(item: Item, body: unknown): Promise<unknown[] | undefined> {
    if (this.forbidden.has('resolutions')) return undefined;
    const relationship = member(member(member(body, 'data'), 'relationships'), 'resolutions');
    const cursor = pageCursor(member(member(relationship, 'meta'), 'cursor'));
    if (cursor === undefined) return undefined;
    this.stats.resolutionPages++;
    const unit: Unit = { lane: 'single', endpoint: 'resolutions', items: [item] };
    const outcome = await this.exchange(unit, () => v3ResolutionsPagePath(item.observable, cursor), undefined);
    if (outcome.kind === 'ok') {
      const data = member(outcome.json, 'data');
      return Array.isArray(data) ? (data as unknown[]) : [];
    }
    if (outcome.kind === 'forbidden') {
      this.forbidden.add('resolutions');
      this.options.logger?.warn({ code: outcome.code }, 'VirusTotal refused resolutions to the key: they are skipped');
    }
    return undefined;
  }

  /**
   * The object again with its context relationships (and an IP's or domain's resolutions, so one reply holds
   * all): undefined when they could not be had (the object's own reply stands). A whole-request 403 drops the
   * Enterprise-only relationships and asks once more with the rest; a relationship the reply refuses on its own
   * (an `error` member, or left out) is dropped for the rest of the run. Either is logged once.
   */
  private async fetchContext(item: Item): Promise<unknown> {
    const { observable } = item;
    const collection = v3Collection(observable.type);
    for (;;) {
      const asked = this.contextAsked.get(collection) ?? [];
      if (asked.length === 0) return undefined;
      const relationships = hasResolutions(observable.type) ? ['resolutions', ...asked] : [...asked];
      this.stats.contextRequests++;
      const unit: Unit = { lane: 'single', endpoint: `context ${collection}`, items: [item] };
      const outcome = await this.exchange(unit, () => v3ContextPath(observable, relationships), undefined);
      if (outcome.kind === 'ok') {
        const returned = member(member(outcome.json, 'data'), 'relationships');
        const refused = asked.filter((name) => {
          const relationship = member(returned, name);
          return relationship === undefined || member(relationship, 'error') !== undefined;
        });
        for (const name of refused) {
          const code = member(member(member(returned, name), 'error'), 'code');
          this.refuseContext(collection, [name], typeof code === 'string' ? code : 'not in the reply');
        }
        return outcome.json;
      }
      if (outcome.kind !== 'forbidden') return undefined;
      const rest = asked.filter((name) => !ENTERPRISE_RELATIONSHIPS.has(name));
      // Nothing Enterprise-only to leave out: the key may read no context of this collection.
      this.refuseContext(
        collection,
        rest.length < asked.length ? asked.filter((name) => !rest.includes(name)) : asked,
        outcome.code,
      );
      if (rest.length === asked.length) return undefined;
    }
  }

  private refuseContext(collection: string, names: readonly string[], code: string): void {
    const asked = this.contextAsked.get(collection) ?? [];
    const left = asked.filter((name) => !names.includes(name));
    if (left.length === asked.length) return;
    this.contextAsked.set(collection, left);
    for (const name of names) {
      if (!asked.includes(name)) continue;
      this.stats.contextRefused.push(`${name} of ${collection}: ${code}`);
      this.options.logger?.warn(
        { relationship: name, collection, code },
        'VirusTotal does not give this relationship to the key: its column stays empty',
      );
    }
  }

  // ---- submitting unknown URLs ------------------------------------------------------------------------------

  /** Whether a URL VirusTotal does not know is submitted (`--submit-unknown-urls`; never a file). */
  private submits(item: Item): boolean {
    return this.options.submitUnknownUrls && item.observable.type === 'url';
  }

  /**
   * v3: submits the URL (`POST /urls`) and schedules its first poll. When the submission cannot be made, the
   * URL's answer is the NotFound it had.
   */
  private async submit(item: Item): Promise<void> {
    this.stats.submissions++;
    const unit: Unit = { lane: 'single', endpoint: 'submit urls', items: [item] };
    const form = new URLSearchParams({ url: item.observable.value });
    const outcome = await this.exchange(unit, () => ({ path: V3_SUBMIT_URL_PATH, form }), undefined);
    const analysisId = outcome.kind === 'ok' ? submittedAnalysisId(outcome.json) : undefined;
    if (analysisId === undefined) {
      const code =
        outcome.kind === 'failed' || outcome.kind === 'stopped'
          ? outcome.status
          : outcome.kind === 'ok'
            ? 'no analysis id in the reply'
            : outcome.kind;
      this.options.logger?.warn({ code }, 'a URL VirusTotal does not know could not be submitted: it stays NotFound');
      await this.deliver(item, null);
      return;
    }
    this.queue(item, analysisId);
  }

  /** Schedules the polls of a submitted URL; with no time to wait, it is Queued at once. */
  private queue(item: Item, analysisId: string): void {
    const now = this.options.clock.now();
    const poll: Poll = {
      item,
      analysisId,
      due: now + this.options.analysisPollMs,
      deadline: now + this.options.analysisTimeoutMs,
    };
    if (poll.due > poll.deadline) this.finish(item, queuedResult(item.observable.value, analysisId, now));
    else this.schedulePoll(poll);
  }

  /**
   * One poll of a submitted URL's analysis (v3 `GET /analyses/{id}`, v2 the URL's report). Completed: the row
   * gets the verdict, noted as submitted in this run, and it is cached like any URL. Not yet: polled again
   * while the deadline allows, else `Queued` (never cached, so the next run asks again).
   */
  private async pollAnalysis(unit: Unit, poll: Poll): Promise<void> {
    const { item } = poll;
    const { observable } = item;
    this.stats.analysisPolls++;
    const v3 = this.options.api === 'v3';
    const outcome = await this.exchange(
      unit,
      () => (v3 ? v3AnalysisPath(poll.analysisId) : v2ReportPath('url', [observable.value], this.options.apiKey)),
      undefined,
    );
    const now = this.options.clock.now();
    let body: unknown;
    if (outcome.kind === 'ok') {
      if (v3) {
        const analysis = parseAnalysis(outcome.json);
        if (analysis.completed && analysis.stats !== undefined) body = analysedUrl(observable.value, analysis);
      } else {
        const answer = matchBatch([observable], outcome.json)[0];
        if (answer !== undefined && answer['response_code'] === 1 && !v2Queued(answer)) body = answer;
      }
    }
    if (body !== undefined) {
      this.settleReply(item, {
        api: this.options.api,
        type: 'url',
        value: observable.value,
        body,
        submitted: true,
        fetchedAt: now,
      });
      return;
    }
    const again = now + this.options.analysisPollMs;
    // A stop (quota, interrupt, a refused key) leaves the analysis where it is: Queued, like a timeout.
    if (outcome.kind !== 'stopped' && again <= poll.deadline) this.schedulePoll({ ...poll, due: again });
    else this.finish(item, queuedResult(observable.value, poll.analysisId, now));
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
      if (this.submits(item) && v2Queued(answer)) {
        // scan=1 queued it (v2 submits in the report request itself): poll its report.
        this.stats.submissions++;
        this.queue(item, typeof answer['scan_id'] === 'string' ? answer['scan_id'] : '');
        return;
      }
      const notFound = answer['response_code'] === 0;
      this.settleReply(item, {
        api: 'v2',
        type: item.observable.type,
        value: item.observable.value,
        body: notFound ? null : answer,
        fetchedAt: this.options.clock.now(),
      });
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
    if (result.status === 'Success' || result.status === 'NotFound' || result.status === 'Queued') {
      stats.lookedUp++;
      if (result.status === 'NotFound') stats.notFound++;
      if (result.status === 'Queued') stats.queued++;
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
    for (const poll of this.polls.splice(0))
      this.finish(poll.item, queuedResult(poll.item.observable.value, poll.analysisId, this.options.clock.now()));
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

/** Malicious engines of a v3 object reply (0 when unknown): what `--context-min-positives` compares. */
function positivesOf(body: unknown): number {
  const malicious = member(member(member(member(body, 'data'), 'attributes'), 'last_analysis_stats'), 'malicious');
  return typeof malicious === 'number' && Number.isSafeInteger(malicious) ? malicious : 0;
}

/**
 * A completed analysis as the URL object it made: its stats and date as `last_analysis_stats` and
 * `last_analysis_date`, so that it normalises (and is cached) like any URL reply.
 */
function analysedUrl(url: string, analysis: ReturnType<typeof parseAnalysis>): unknown {
  return {
    data: {
      type: 'url',
      id: analysis.urlId ?? urlIdSha256(url),
      attributes: { url, last_analysis_stats: analysis.stats, last_analysis_date: analysis.date },
    },
  };
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
