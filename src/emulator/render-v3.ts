/**
 * API v3 reply bodies: objects, resolution pages and errors, in VirusTotal's shapes. Links point at the
 * emulator itself, so a client that follows `links.next` keeps talking to it.
 */
import { resultsJson, type AnalysisStats, type EngineResult } from './engines.js';
import { COLLECTION_OF, type Resolution, type VtObject } from './model.js';

/** `{"error": {"code", "message"}}`, VirusTotal's error body. */
export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

const RESULTS = 'last_analysis_results';

/**
 * JSON of an object's attributes, in their own order. One native JSON.stringify of the whole record is
 * several times cheaper than one per attribute, so when the results map is the last attribute (as in every
 * synthetic object) the record is serialised without it and the map's ready-made JSON appended; a copy whose
 * last property is deleted stays a fast object (V8 undoes the last transition). Otherwise, attribute by attribute.
 */
function attributesJson(attributes: Readonly<Record<string, unknown>>): string {
  const names = Object.keys(attributes);
  const results = attributes[RESULTS];
  if (names[names.length - 1] === RESULTS && results !== undefined) {
    const rest: Record<string, unknown> = { ...attributes };
    delete rest[RESULTS];
    const head = JSON.stringify(rest);
    const tail = `"${RESULTS}":${resultsJson(results as Record<string, EngineResult>)}}`;
    return head === '{}' ? `{${tail}` : `${head.slice(0, -1)},${tail}`;
  }
  const members: string[] = [];
  for (const name of names) {
    const value = attributes[name];
    if (value === undefined) continue;
    const json = name === RESULTS ? resultsJson(value as Record<string, EngineResult>) : JSON.stringify(value);
    members.push(`${JSON.stringify(name)}:${json}`);
  }
  return `{${members.join(',')}}`;
}

/** `{"data": {...}}` for one object; the results map goes through the fast {@link resultsJson}. */
export function objectBody(object: VtObject, baseUrl: string): string {
  const self = JSON.stringify(`${baseUrl}/api/v3/${COLLECTION_OF[object.type]}/${object.id}`);
  return `{"data":{"type":${JSON.stringify(object.type)},"id":${JSON.stringify(object.id)},"links":{"self":${self}},"attributes":${attributesJson(object.attributes)}}}`;
}

/** Paging of a relationship listing. The cursor is opaque to clients; here it is the base64 of an offset. */
function encodeCursor(offset: number): string {
  return Buffer.from(String(offset), 'utf8').toString('base64');
}

/** The offset in a cursor, or `undefined` when it is not one of ours. */
export function decodeCursor(cursor: string): number | undefined {
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  return /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

/** Stats of the other end of a resolution, or `undefined` when VirusTotal does not know it. */
export type StatsLookup = (kind: 'domain' | 'ip_address', id: string) => AnalysisStats | undefined;

const EMPTY_STATS: AnalysisStats = { harmless: 0, malicious: 0, suspicious: 0, undetected: 0, timeout: 0 };

function resolutionItem(resolution: Resolution, baseUrl: string, statsOf: StatsLookup): unknown {
  const id = `${resolution.ipAddress}${resolution.hostName}`;
  return {
    type: 'resolution',
    id,
    links: { self: `${baseUrl}/api/v3/resolutions/${id}` },
    attributes: {
      date: resolution.date,
      host_name: resolution.hostName,
      ip_address: resolution.ipAddress,
      resolver: 'VirusTotal',
      host_name_last_analysis_stats: statsOf('domain', resolution.hostName.toLowerCase()) ?? EMPTY_STATS,
      ip_address_last_analysis_stats: statsOf('ip_address', resolution.ipAddress) ?? EMPTY_STATS,
    },
  };
}

/**
 * One page of `/{collection}/{id}/resolutions` (full objects), or of `.../relationships/resolutions`
 * (descriptors `{type, id}`) when `statsOf` is undefined. The last page has no `meta.cursor` and no `links.next`.
 */
export function resolutionsPage(
  object: VtObject,
  page: { readonly offset: number; readonly limit: number },
  baseUrl: string,
  statsOf: StatsLookup | undefined,
): string {
  const base = `${baseUrl}/api/v3/${COLLECTION_OF[object.type]}/${object.id}`;
  const path = statsOf === undefined ? `${base}/relationships/resolutions` : `${base}/resolutions`;
  const items = object.resolutions.slice(page.offset, page.offset + page.limit);
  const nextOffset = page.offset + items.length;
  const more = nextOffset < object.resolutions.length;
  const self =
    page.offset === 0
      ? `${path}?limit=${page.limit}`
      : `${path}?cursor=${encodeURIComponent(encodeCursor(page.offset))}&limit=${page.limit}`;
  const cursor = encodeCursor(nextOffset);
  return JSON.stringify({
    data: items.map((resolution) =>
      statsOf === undefined
        ? { type: 'resolution', id: `${resolution.ipAddress}${resolution.hostName}` }
        : resolutionItem(resolution, baseUrl, statsOf),
    ),
    meta: more ? { count: object.resolutions.length, cursor } : { count: object.resolutions.length },
    links: {
      self,
      ...(statsOf === undefined ? { related: `${base}/resolutions` } : {}),
      ...(more ? { next: `${path}?cursor=${encodeURIComponent(cursor)}&limit=${page.limit}` } : {}),
    },
  });
}

/** `/users/{key}/overall_quotas`: used and allowed per window, in VirusTotal's shape. */
export function quotasBody(report: {
  minute: { used: number; allowed: number };
  hour: { used: number; allowed: number };
  day: { used: number; allowed: number };
  month: { used: number; allowed: number };
}): string {
  // JSON has no Infinity: an unlimited window reports a number no client will reach.
  const entry = ({ used, allowed }: { used: number; allowed: number }): unknown => ({
    user: { used, allowed: Number.isFinite(allowed) ? allowed : Number.MAX_SAFE_INTEGER },
  });
  return JSON.stringify({
    data: {
      api_requests_minutely: entry(report.minute),
      api_requests_hourly: entry(report.hour),
      api_requests_daily: entry(report.day),
      api_requests_monthly: entry(report.month),
    },
  });
}

/** A relationship descriptor: `{type, id}`, with `context_attributes.url` for URLs as VirusTotal lists them. */
export interface Descriptor {
  readonly type: string;
  readonly id: string;
  readonly context_attributes?: { readonly url: string };
}

/** How many descriptors of each relationship an object reply embeds (VirusTotal's default page). */
const EMBEDDED_LIMIT = 10;

/**
 * One relationship as an object reply embeds it (`?relationships=name`): the first {@link EMBEDDED_LIMIT}
 * descriptors, and `meta.cursor` / `links.next` when there are more (paged at `.../relationships/name`).
 */
export function embeddedRelationship(objectPath: string, name: string, descriptors: readonly Descriptor[]): unknown {
  const more = descriptors.length > EMBEDDED_LIMIT;
  const cursor = encodeCursor(EMBEDDED_LIMIT);
  const self = `${objectPath}/relationships/${name}`;
  return {
    data: descriptors.slice(0, EMBEDDED_LIMIT),
    ...(more ? { meta: { cursor } } : {}),
    links: {
      self: `${self}?limit=${EMBEDDED_LIMIT}`,
      related: `${objectPath}/${name}`,
      ...(more ? { next: `${self}?cursor=${encodeURIComponent(cursor)}&limit=${EMBEDDED_LIMIT}` } : {}),
    },
  };
}

/** An object body (as {@link objectBody} renders it) with a `relationships` member added to its `data`. */
export function withRelationships(body: Buffer, relationships: Readonly<Record<string, unknown>>): Buffer {
  // The body ends with the `data` object's and the reply's closing braces: the bytes before them are reused.
  const tail = Buffer.from(`,"relationships":${JSON.stringify(relationships)}}}`, 'utf8');
  return Buffer.concat([body.subarray(0, body.length - 2), tail]);
}

/** The reply to `POST /urls`: the analysis descriptor. */
export function submissionBody(analysisId: string, baseUrl: string): string {
  return JSON.stringify({
    data: { type: 'analysis', id: analysisId, links: { self: `${baseUrl}/api/v3/analyses/${analysisId}` } },
  });
}

/**
 * `/analyses/{id}` of a URL: `queued` (zero stats, no results), or `completed` with the URL object's verdict.
 * Engine results are left out (`results: {}`): nothing reads them from an analysis, and the object has them.
 */
export function analysisBody(
  analysis: { readonly id: string; readonly urlId: string; readonly url: string; readonly date: number },
  completed: AnalysisStats | undefined,
  baseUrl: string,
): string {
  return JSON.stringify({
    data: {
      type: 'analysis',
      id: analysis.id,
      links: { self: `${baseUrl}/api/v3/analyses/${analysis.id}` },
      attributes: {
        date: analysis.date,
        status: completed === undefined ? 'queued' : 'completed',
        stats: completed ?? EMPTY_STATS,
        results: {},
      },
    },
    meta: { url_info: { id: analysis.urlId, url: analysis.url } },
  });
}
