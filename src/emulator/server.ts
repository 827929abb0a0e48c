/**
 * The HTTP router: authentication, fault injection, quotas, then the lookup, for API v3 and API v2.
 *
 * Order of checks, per API request: key (401 / 403), route (404), injected fault, quota (429 / 204), id
 * validation (400), lookup (200 / 404). Injected faults and refusals charge no quota: a client's retry of a
 * failed request must not cost it twice, and quota tests must not depend on the fault seed. A slow reply is
 * a correct reply and is charged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { canonicalUrl, urlIdSha256 } from '../vt/ids.js';
import type { FaultInjector } from './faults.js';
import {
  normalizeDomain,
  normalizeFileResource,
  normalizeHash,
  normalizeIp,
  normalizeUrlResource,
  parseUrlId,
} from './ids.js';
import type { ObjectKind, VtObject } from './model.js';
import { V2_BATCH_LIMIT, type FaultKind, type NormalizedEmulatorOptions, type Tier } from './options.js';
import { KeyQuota } from './quota.js';
import {
  v2DomainReport,
  v2FileReport,
  v2IpReport,
  v2Missing,
  v2UrlReport,
  v2Date,
  type HostedUrl,
} from './render-v2.js';
import {
  analysisBody,
  decodeCursor,
  embeddedRelationship,
  errorBody,
  objectBody,
  quotasBody,
  resolutionsPage,
  submissionBody,
  withRelationships,
  type Descriptor,
} from './render-v3.js';
import { Analyses, type Analysis } from './analyses.js';
import type { AnalysisStats } from './engines.js';
import { COLLECTION_OF } from './model.js';
import { copyStats, emptyStats, increment, type EmulatorStats } from './stats.js';
import type { ObjectStore } from './store.js';

/**
 * The largest request body read. VirusTotal's v2 url/report takes at most 25 URLs per request; 1 MiB holds
 * them at any sane length.
 */
const MAX_BODY_BYTES = 1 << 20;

/** A reply ready to send: status and body (empty for v2 204/403); cached object bodies are already bytes. */
interface Reply {
  readonly status: number;
  readonly body: string | Buffer;
}

const V3_PREFIX = '/api/v3/';
const V2_PREFIX = '/vtapi/v2/';
const STATS_PATH = '/__emulator/stats';
const JSON_TYPE = 'application/json; charset=utf-8';
/** The query of a request without one; never mutated. */
const NO_QUERY = new URLSearchParams();

/** v3 collection → store kind. */
const KIND_OF: Readonly<Record<string, ObjectKind>> = {
  files: 'file',
  urls: 'url',
  domains: 'domain',
  ip_addresses: 'ip_address',
};

/** How error messages name each kind, as VirusTotal's do (`URL "…" not found`). */
const KIND_NAME: Readonly<Record<ObjectKind, string>> = {
  file: 'File',
  url: 'URL',
  domain: 'Domain',
  ip_address: 'IP address',
};

/**
 * The relationships an object reply embeds on `?relationships=`, by kind. Which a key may read follows
 * VirusTotal's documentation: public keys get `resolutions`, a file's `contacted_*` and a domain's or IP's
 * `communicating_files`; `urls` and `downloaded_files` of domains and IPs are Enterprise-only, so a public key
 * asking for them is refused (403 ForbiddenError, the whole request, as the relationship's own endpoint is).
 * Premium keys here stand for Enterprise ones. Other names are embedded empty.
 */
const ENTERPRISE_ONLY: ReadonlySet<string> = new Set(['urls', 'downloaded_files']);

/** Per-fault v3 replies; v2 answers a bare status (204 for "too many requests", as for quotas). */
const FAULT_REPLIES: Partial<Record<FaultKind, { status: number; code: string; message: string; v2Status: number }>> = {
  tooManyRequests: { status: 429, code: 'TooManyRequestsError', message: 'Too many requests', v2Status: 204 },
  transient: { status: 503, code: 'TransientError', message: 'Please retry your request later', v2Status: 503 },
  deadline: { status: 504, code: 'DeadlineExceededError', message: 'Deadline exceeded', v2Status: 504 },
};

function v3Error(status: number, code: string, message: string): Reply {
  return { status, body: errorBody(code, message) };
}

/** A path segment, percent-decoded; a broken escape is kept as is, so that it fails validation as a 400. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function json(value: unknown): Reply {
  return { status: 200, body: JSON.stringify(value) };
}

/** The request handler and the state it keeps (quotas, counters, caches). */
export class Router {
  private counters: EmulatorStats = emptyStats();
  private readonly quotas = new Map<string, KeyQuota>();
  /** Serialised v3 bodies by object identity: big objects are not re-serialised or re-encoded per request. */
  private readonly bodies = new WeakMap<VtObject, Buffer>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly analyses: Analyses;
  /** Set once the server listens: links in replies point at the emulator itself. */
  baseUrl = '';

  constructor(
    private readonly options: NormalizedEmulatorOptions,
    private readonly store: ObjectStore,
    private readonly faults: FaultInjector,
  ) {
    this.analyses = new Analyses(options.analysisDelayMs);
  }

  /** A copy of the counters. */
  stats(): EmulatorStats {
    return copyStats(this.counters);
  }

  /** Zeroes the counters (quotas are kept: they are the server's state, not statistics). */
  resetStats(): void {
    this.counters = emptyStats();
  }

  /** Cancels pending slow replies, so that closing the server does not wait for them. */
  cancelPending(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Node's `request` listener. */
  readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    // Most lookups have no query string: no parser object for them (v2 POST gets its own below).
    const query = queryStart === -1 ? NO_QUERY : new URLSearchParams(url.slice(queryStart + 1));
    if (path === STATS_PATH) {
      // Written directly, not through send(): reading the stats must not change them.
      const body = JSON.stringify(this.counters);
      response.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
      response.end(body);
      return;
    }
    this.counters.requests += 1;
    if (request.method === 'POST' && path === `${V3_PREFIX}urls`) {
      // A URL submission: the key is checked before the body is read, and no body past MAX_BODY_BYTES.
      const header = request.headers['x-apikey'];
      if (this.tierOf((Array.isArray(header) ? header[0] : header) ?? '') === undefined) {
        request.resume();
        this.dispatch(request, response, path, query);
        return;
      }
      void this.readBody(request, response).then((body) => {
        if (body !== undefined) this.dispatch(request, response, path, new URLSearchParams(body));
      });
      return;
    }
    if (request.method === 'POST' && path.startsWith(V2_PREFIX)) {
      // v2 accepts its parameters as a form body too; merge them over the query string. A key given in the
      // query is checked before the body is read, and no body is read past MAX_BODY_BYTES.
      if (query.has('apikey') && this.tierOf(query.get('apikey') ?? '') === undefined) {
        request.resume();
        this.dispatch(request, response, path, query);
        return;
      }
      void this.readBody(request, response).then((body) => {
        if (body === undefined) return;
        const merged = new URLSearchParams(query);
        for (const [name, value] of new URLSearchParams(body)) merged.set(name, value);
        this.dispatch(request, response, path, merged);
      });
      return;
    }
    this.dispatch(request, response, path, query);
  };

  /**
   * A request's body as text, or undefined when it was larger than {@link MAX_BODY_BYTES} (then 413 has been
   * sent and the connection closed: reading on would let one client exhaust the emulator's memory).
   */
  private readBody(request: IncomingMessage, response: ServerResponse): Promise<string | undefined> {
    return new Promise((resolve) => {
      const announced = Number(request.headers['content-length']);
      const chunks: Buffer[] = [];
      let size = 0;
      const refuse = (): void => {
        request.removeAllListeners('data');
        response.setHeader('connection', 'close');
        this.send(response, { status: 413, body: errorBody('PayloadTooLargeError', 'Request body too large') });
        request.destroy();
        resolve(undefined);
      };
      if (Number.isFinite(announced) && announced > MAX_BODY_BYTES) return refuse();
      request.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) refuse();
        else chunks.push(chunk);
      });
      request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      request.on('error', () => resolve(undefined));
    });
  }

  private dispatch(request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): void {
    try {
      if (path.startsWith(V3_PREFIX)) this.handleV3(request, response, path.slice(V3_PREFIX.length), query);
      else if (path.startsWith(V2_PREFIX)) this.handleV2(response, path.slice(V2_PREFIX.length), query);
      else {
        increment(this.counters.byEndpoint, 'other');
        this.send(response, v3Error(404, 'NotFoundError', `Resource "${path}" not found`));
      }
    } catch (error) {
      this.send(response, v3Error(500, 'InternalError', error instanceof Error ? error.message : 'internal error'));
    }
  }

  /** The tier of an accepted key, or `undefined` for a key the emulator does not accept. */
  private tierOf(key: string): Tier | undefined {
    if (key === '') return undefined;
    if (this.options.keys.size === 0) return this.options.tier;
    return this.options.keys.get(key);
  }

  private quotaOf(key: string, tier: Tier): KeyQuota {
    let quota = this.quotas.get(key);
    if (quota === undefined) {
      quota = new KeyQuota(this.options.limits[tier]);
      this.quotas.set(key, quota);
    }
    return quota;
  }

  /** Charges `items` lookups (or, `minuteOnly`, requests) to the key; counts a refusal when the quota is exhausted. */
  private charge(key: string, tier: Tier, items: number, minuteOnly = false): boolean {
    if (!this.quotaOf(key, tier).tryConsume(items, this.options.now(), minuteOnly)) {
      this.counters.quotaRefusals += 1;
      return false;
    }
    if (!minuteOnly) this.counters.itemsLookedUp += items;
    if (this.options.recordCharges) {
      const now = this.options.now();
      for (let i = 0; i < items; i++) (this.counters.chargeTimes ??= []).push(now);
    }
    return true;
  }

  private handleV3(request: IncomingMessage, response: ServerResponse, route: string, query: URLSearchParams): void {
    const segments = route.split('/').map(safeDecode);
    const [collection = '', id = '', relationship] = segments;
    const header = request.headers['x-apikey'];
    const key = (Array.isArray(header) ? header[0] : header) ?? '';
    const isQuotas = collection === 'users' && relationship === 'overall_quotas' && segments.length === 3;
    const isSubmission = request.method === 'POST' && collection === 'urls' && segments.length === 1;
    const isAnalysis = collection === 'analyses' && segments.length === 2;
    const kind = KIND_OF[collection];
    // `/{collection}/{id}/resolutions` (objects) or `/{collection}/{id}/relationships/resolutions` (descriptors).
    const descriptors = relationship === 'relationships' && segments.length === 4 && segments[3] === 'resolutions';
    const isResolutions =
      ((relationship === 'resolutions' && segments.length === 3) || descriptors) &&
      (kind === 'domain' || kind === 'ip_address');
    const endpoint = isQuotas
      ? 'v3/overall_quotas'
      : isSubmission
        ? 'v3/submit'
        : isAnalysis
          ? 'v3/analyses'
          : isResolutions
            ? 'v3/resolutions'
            : kind !== undefined && segments.length === 2
              ? `v3/${collection}`
              : 'v3/other';
    increment(this.counters.byEndpoint, endpoint);
    if (key === '')
      return this.send(response, v3Error(401, 'AuthenticationRequiredError', 'X-Apikey header is missing'));
    const tier = this.tierOf(key);
    if (tier === undefined) return this.send(response, v3Error(401, 'WrongCredentialsError', 'Wrong API key'));
    if (isQuotas) {
      // A request "of any nature" takes a slot of the minute window (see quota.ts), unless told otherwise.
      if (!this.options.freeQuotaEndpoint && !this.charge(key, tier, 1, true))
        return this.send(response, v3Error(429, 'QuotaExceededError', 'Quota exceeded'));
      // The key in the path must be one the emulator knows; it is never echoed back.
      const pathTier = this.tierOf(id);
      if (pathTier === undefined) return this.send(response, v3Error(404, 'NotFoundError', 'User not found'));
      return this.send(response, {
        status: 200,
        body: quotasBody(this.quotaOf(id, pathTier).report(this.options.now())),
      });
    }
    if (isSubmission || isAnalysis) {
      this.withFault(response, 'v3', () => {
        if (!this.charge(key, tier, 1)) return v3Error(429, 'QuotaExceededError', 'Quota exceeded');
        return isSubmission ? this.submitUrl(query.get('url')) : this.analysis(id);
      });
      return;
    }
    if (endpoint === 'v3/other' || kind === undefined) {
      // The path is not echoed: under /users/ it holds a key.
      return this.send(response, v3Error(404, 'NotFoundError', 'Endpoint not found'));
    }
    const relationships = isResolutions ? [] : (query.get('relationships') ?? '').split(',').filter((name) => name);
    const refused = tier === 'public' && kind !== 'file' && relationships.some((name) => ENTERPRISE_ONLY.has(name));
    this.withFault(response, 'v3', () => {
      // A refused request still took its slot of the minute ("requests of any nature"), but is no lookup.
      if (!this.charge(key, tier, 1, refused)) return v3Error(429, 'QuotaExceededError', 'Quota exceeded');
      if (refused) return v3Error(403, 'ForbiddenError', 'You are not allowed to perform the requested operation');
      const objectId = this.v3Id(kind, id);
      if (objectId === undefined)
        return v3Error(400, 'InvalidArgumentError', `${KIND_NAME[kind]} id "${id}" is not valid`);
      const object = this.store.get(kind, objectId);
      if (object === undefined) return v3Error(404, 'NotFoundError', `${KIND_NAME[kind]} "${id}" not found`);
      if (isResolutions) return this.resolutions(object, query, descriptors);
      const body = this.objectBody(object);
      return {
        status: 200,
        body: relationships.length === 0 ? body : this.withRelationships(object, body, relationships),
      };
    });
  }

  /** An object reply with the relationships asked embedded (deterministic descriptors, first page). */
  private withRelationships(object: VtObject, body: Buffer, names: readonly string[]): Buffer {
    const objectPath = `${this.baseUrl}/api/v3/${COLLECTION_OF[object.type]}/${object.id}`;
    // Context is derived only when asked for: most requests want resolutions alone.
    let context: ReturnType<ObjectStore['contextOf']> | undefined;
    const contextOf = (): ReturnType<ObjectStore['contextOf']> => (context ??= this.store.contextOf(object));
    const urlDescriptor = (url: string): Descriptor => ({
      type: 'url',
      id: urlIdSha256(url),
      context_attributes: { url: canonicalUrl(url) },
    });
    const members: Record<string, unknown> = {};
    for (const name of names) {
      let items: Descriptor[];
      switch (name) {
        case 'resolutions':
          items = object.resolutions.map((r) => ({ type: 'resolution', id: `${r.ipAddress}${r.hostName}` }));
          break;
        case 'contacted_domains':
          items = contextOf().contacted_domains.map((domain) => ({ type: 'domain', id: domain }));
          break;
        case 'contacted_ips':
          items = contextOf().contacted_ips.map((ip) => ({ type: 'ip_address', id: ip }));
          break;
        case 'contacted_urls':
          items = contextOf().contacted_urls.map(urlDescriptor);
          break;
        case 'communicating_files':
          items = contextOf().communicating_files.map((sha256) => ({ type: 'file', id: sha256 }));
          break;
        case 'urls':
          items = contextOf().urls.map(urlDescriptor);
          break;
        default:
          items = [];
      }
      members[name] = embeddedRelationship(objectPath, name, items);
    }
    return withRelationships(body, members);
  }

  /** `POST /urls` (form field `url`): queues an analysis and answers its descriptor. */
  private submitUrl(value: string | null): Reply {
    const url = value === null ? undefined : normalizeUrlResource(value);
    if (url === undefined) return v3Error(400, 'InvalidArgumentError', 'Unable to canonicalize url');
    const analysis = this.analyses.submit(this.store.rememberUrl(url), canonicalUrl(url), this.options.now());
    return { status: 200, body: submissionBody(analysis.id, this.baseUrl) };
  }

  /** `GET /analyses/{id}`: queued until the analysis delay has passed, then completed with the URL's verdict. */
  private analysis(id: string): Reply {
    const analysis = this.analyses.get(id);
    if (analysis === undefined) return v3Error(404, 'NotFoundError', `Analysis "${id}" not found`);
    const completed = this.completed(analysis);
    const stats = completed?.attributes['last_analysis_stats'] as AnalysisStats | undefined;
    return { status: 200, body: analysisBody(analysis, completed === undefined ? undefined : stats, this.baseUrl) };
  }

  /** The URL object of a completed analysis (known to the store from then on), or undefined while queued. */
  private completed(analysis: Analysis): VtObject | undefined {
    if (this.options.now() < analysis.completesAt) return undefined;
    return this.store.analyse(analysis.url, analysis.date);
  }

  /** The store id of a v3 path id, or `undefined` when malformed. */
  private v3Id(kind: ObjectKind, id: string): string | undefined {
    switch (kind) {
      case 'file':
        return normalizeHash(id);
      case 'url': {
        const parsed = parseUrlId(id);
        if (parsed === undefined) return undefined;
        return parsed.kind === 'sha256' ? parsed.id : this.store.rememberUrl(parsed.url);
      }
      case 'domain':
        return normalizeDomain(id);
      case 'ip_address':
        return normalizeIp(id);
    }
  }

  private objectBody(object: VtObject): Buffer {
    let body = this.bodies.get(object);
    if (body === undefined) {
      body = Buffer.from(objectBody(object, this.baseUrl), 'utf8');
      this.bodies.set(object, body);
    }
    return body;
  }

  private resolutions(object: VtObject, query: URLSearchParams, descriptors: boolean): Reply {
    const limitText = query.get('limit');
    const limit = limitText === null ? 10 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1)
      return v3Error(400, 'InvalidArgumentError', `Invalid limit "${limitText ?? ''}"`);
    const cursor = query.get('cursor');
    const offset = cursor === null || cursor === '' ? 0 : decodeCursor(cursor);
    if (offset === undefined) return v3Error(400, 'InvalidArgumentError', 'Invalid cursor');
    // VirusTotal caps most relationship pages at 40 items.
    const page = { offset, limit: Math.min(limit, 40) };
    return {
      status: 200,
      body: resolutionsPage(
        object,
        page,
        this.baseUrl,
        descriptors ? undefined : (kind, id) => this.store.statsOf(kind, id),
      ),
    };
  }

  private handleV2(response: ServerResponse, route: string, query: URLSearchParams): void {
    const endpoint = `v2/${route}`;
    const known =
      route === 'file/report' || route === 'url/report' || route === 'domain/report' || route === 'ip-address/report';
    increment(this.counters.byEndpoint, known ? endpoint : 'v2/other');
    if (!known) return this.send(response, { status: 404, body: '' });
    const key = query.get('apikey') ?? '';
    const tier = this.tierOf(key);
    // v2 answers 403 with an empty body both for a missing key and for one it does not accept.
    if (tier === undefined) return this.send(response, { status: 403, body: '' });
    const items = this.v2Items(route, query, tier);
    if (items === undefined) return this.send(response, { status: 400, body: '' });
    this.withFault(response, 'v2', () => {
      if (!this.charge(key, tier, items.length)) return { status: 204, body: '' };
      const reports = items.map((item) => this.v2Report(route, item, query.get('scan') === '1'));
      return json(reports.length === 1 ? reports[0] : reports);
    });
  }

  /** The resources of a v2 request, truncated to the tier's batch size as VirusTotal silently does. */
  private v2Items(route: string, query: URLSearchParams, tier: Tier): string[] | undefined {
    if (route === 'domain/report' || route === 'ip-address/report') {
      const value = query.get(route === 'domain/report' ? 'domain' : 'ip');
      return value === null || value.trim() === '' ? undefined : [value.trim()];
    }
    const resource = query.get('resource');
    if (resource === null) return undefined;
    const items = (route === 'file/report' ? resource.split(',') : resource.split('\n'))
      .map((item) => item.trim())
      .filter((item) => item !== '');
    return items.length === 0 ? undefined : items.slice(0, V2_BATCH_LIMIT[tier]);
  }

  private v2Report(route: string, resource: string, scan: boolean): Record<string, unknown> {
    switch (route) {
      case 'file/report': {
        const hash = normalizeFileResource(resource);
        if (hash === undefined) return v2Missing(-1, 'Invalid resource, check what you are submitting', resource);
        const object = this.store.get('file', hash);
        return object === undefined
          ? v2Missing(0, 'The requested resource is not among the finished, queued or pending scans', resource)
          : v2FileReport(object, resource);
      }
      case 'url/report': {
        const url = normalizeUrlResource(resource);
        if (url === undefined) return v2Missing(-1, 'Invalid resource, check what you are submitting', resource);
        const urlId = this.store.rememberUrl(url);
        const pending = this.analyses.ofUrl(urlId);
        if (pending !== undefined) this.completed(pending);
        const object = this.store.get('url', urlId);
        if (object !== undefined) return v2UrlReport(object, resource, canonicalUrl(url));
        if (scan) return this.v2Queued(resource, this.analyses.submit(urlId, canonicalUrl(url), this.options.now()));
        if (pending !== undefined)
          return {
            ...v2Missing(-2, 'Your resource is queued for analysis', resource),
            scan_id: `${urlId}-${pending.date}`,
          };
        return v2Missing(0, 'Resource does not exist in the dataset', resource);
      }
      case 'domain/report': {
        const domain = normalizeDomain(resource);
        if (domain === undefined) return v2Missing(-1, 'Invalid domain');
        const object = this.store.get('domain', domain);
        return object === undefined ? v2Missing(0, 'Domain not found') : v2DomainReport(object, this.hosted(object));
      }
      default: {
        const ip = normalizeIp(resource);
        if (ip === undefined) return v2Missing(-1, 'Invalid IP address');
        const object = this.store.get('ip_address', ip);
        return object === undefined
          ? v2Missing(0, 'IP address not in dataset')
          : v2IpReport(object, this.hosted(object));
      }
    }
  }

  /**
   * `url/report?scan=1` for an unknown URL: VirusTotal answers response_code 1 with the scan_id of the queued
   * analysis (and no verdict); the report has one once the analysis has completed.
   */
  private v2Queued(resource: string, analysis: Analysis): Record<string, unknown> {
    return {
      response_code: 1,
      verbose_msg: 'Scan request successfully queued, come back later for the report',
      resource,
      url: analysis.url,
      scan_id: `${analysis.urlId}-${analysis.date}`,
      scan_date: v2Date(analysis.date),
      permalink: `https://www.virustotal.com/url/${analysis.urlId}/analysis/${analysis.date}/`,
    };
  }

  /** The URLs a domain or IP hosts, each with its own object (unknown URLs are left out). */
  private hosted(object: VtObject): HostedUrl[] {
    const hosted: HostedUrl[] = [];
    for (const url of this.store.hostedUrls(object)) {
      const urlObject = this.store.get('url', this.store.rememberUrl(url));
      if (urlObject !== undefined) hosted.push({ url: canonicalUrl(url), object: urlObject });
    }
    return hosted;
  }

  /** Draws a fault, then answers with `produce()`'s reply, damaged or delayed as the fault says. */
  private withFault(response: ServerResponse, api: 'v2' | 'v3', produce: () => Reply): void {
    const fault = this.faults.next();
    if (fault !== undefined) {
      this.counters.faultsInjected += 1;
      this.counters.faultsByKind[fault] = (this.counters.faultsByKind[fault] ?? 0) + 1;
    }
    const canned = fault === undefined ? undefined : FAULT_REPLIES[fault];
    if (canned !== undefined) {
      this.send(
        response,
        api === 'v3' ? v3Error(canned.status, canned.code, canned.message) : { status: canned.v2Status, body: '' },
      );
      return;
    }
    switch (fault) {
      case 'reset':
        increment(this.counters.byStatus, 'reset');
        response.socket?.destroy();
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.send(response, produce());
        }, this.options.slowDelayMs);
        this.timers.add(timer);
        return;
      }
      case 'truncated': {
        const reply = produce();
        const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
        increment(this.counters.byStatus, String(reply.status));
        // The headers promise the whole body; half of it arrives, then the connection is cut.
        response.writeHead(reply.status, { 'content-type': JSON_TYPE, 'content-length': body.length });
        response.write(body.subarray(0, Math.floor(body.length / 2)), () => response.socket?.destroy());
        return;
      }
      case 'malformed': {
        const reply = produce();
        // A complete reply whose JSON is broken: the last character replaced, as a buggy proxy might do.
        const text = reply.body.toString();
        this.send(response, { status: reply.status, body: `${text.slice(0, -1)}<` });
        return;
      }
      default:
        this.send(response, produce());
    }
  }

  private send(response: ServerResponse, reply: Reply): void {
    increment(this.counters.byStatus, String(reply.status));
    if (reply.body.length === 0) {
      // HTTP forbids a Content-Length on a 204.
      response.writeHead(reply.status, reply.status === 204 ? {} : { 'content-length': 0 });
      response.end();
      return;
    }
    response.writeHead(reply.status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(reply.body) });
    response.end(reply.body);
  }
}
