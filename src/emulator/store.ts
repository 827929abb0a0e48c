/**
 * The object store: fixture objects loaded from a directory, and deterministic synthetic objects for every
 * other observable. Lookups take ids already validated and normalised by the router.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { OptionError } from '../errors.js';
import { canonicalUrl, urlIdSha256 } from '../vt/ids.js';
import { normalizeDomain, normalizeIp } from './ids.js';
import { analysisResults, FILE_ENGINE_COUNT, URL_ENGINE_COUNT, type AnalysisStats } from './engines.js';
import type { ObjectKind, Resolution, Verdict, VtObject } from './model.js';
import {
  candidateHostedUrls,
  hostedUrlCount,
  malwareFamily,
  syntheticDomain,
  syntheticFile,
  syntheticIpAddress,
  syntheticContext,
  syntheticResolutions,
  syntheticStats,
  type SyntheticContext,
  syntheticUrl,
  syntheticVerdict,
  ValueBytes,
  type VerdictRates,
} from './synthetic.js';

/** The fixture subdirectory of each kind. */
const FIXTURE_DIRS: ReadonlyArray<readonly [string, ObjectKind]> = [
  ['files', 'file'],
  ['urls', 'url'],
  ['domains', 'domain'],
  ['ip_addresses', 'ip_address'],
];

/** The shape of one fixture file (see fixtures/vt/README.md). */
interface FixtureFile {
  readonly id?: string;
  readonly attributes?: Record<string, unknown>;
  readonly resolutions?: ReadonlyArray<{ date: number; ip_address?: string; host_name?: string }>;
  readonly urls?: readonly string[];
}

/**
 * Built synthetic objects kept for repeated lookups: only the last one (an object asked twice in a row, as a
 * sequential client asks an IoC's object and then its resolutions or context). Measured on 100,000 distinct
 * lookups (`npm run bench enrich`'s input, emulator in its own process): keeping 2,000 cost the emulator
 * 17.4-18.1 s of CPU, 256 15.3-15.9 s, 8 15.4 s, 2 14.0 s, 1 11.3 s, with 160, 160, 131, 86 and 15
 * mark-compacts: kept objects, even a few for a few milliseconds, made the collector promote what each request
 * builds. A run of distinct observables never asks one again, and with concurrency a repeat seldom comes next,
 * so the bigger caches bought nothing there; the emulator bench's four small objects asked in turn are served
 * about as fast rebuilt (18,162 / 27,838 req/s against 18,802 / 29,916). Synthetic objects are deterministic,
 * so the bound changes only what a rebuild costs, never a reply.
 */
const BUILT_CACHE_LIMIT = 1;
/** Aliases remembered (file hash → root hash, URL id → URL); the bound only matters for very long runs. */
const ALIAS_LIMIT = 300_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function verdictOfStats(stats: AnalysisStats | undefined): Verdict {
  if (stats === undefined) return 'harmless';
  if ((stats['malicious'] ?? 0) > 1) return 'malicious';
  return (stats['malicious'] ?? 0) + (stats['suspicious'] ?? 0) > 0 ? 'suspicious' : 'harmless';
}

function setBounded<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  if (map.size >= limit) {
    // FIFO eviction: the oldest entry goes first; Map iterates in insertion order.
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}

/** Fixture and synthetic objects, by kind and normalised id. */
export class ObjectStore {
  private readonly fixtures = new Map<string, VtObject>();
  private readonly notFound = new Set<string>();
  private readonly built = new Map<string, VtObject | null>();
  /** A synthetic file looked up by one hash is found later by the other two. */
  private readonly fileAliases = new Map<string, string>();
  /** The URL behind a SHA-256 URL id, once the URL has been seen (base64 id or v2 resource). */
  private readonly urlsById = new Map<string, string>();
  /** URLs VirusTotal did not know until a submitted analysis of them completed, by SHA-256 id. */
  private readonly analysed = new Map<string, VtObject>();

  constructor(
    fixturesDir: string,
    private readonly rates: VerdictRates,
  ) {
    this.load(fixturesDir);
  }

  /** The object, or `undefined` when VirusTotal does not know it. `id` is normalised (see the router). */
  get(kind: ObjectKind, id: string): VtObject | undefined {
    const fixture = this.fixtures.get(`${kind}:${id}`);
    if (fixture !== undefined) return fixture;
    if (kind === 'url') {
      const analysed = this.analysed.get(id);
      if (analysed !== undefined) return analysed;
    }
    const root = kind === 'file' ? (this.fileAliases.get(id) ?? id) : id;
    const cacheKey = `${kind}:${root}`;
    const cached = this.built.get(cacheKey);
    // A URL first seen by its SHA-256 id alone is rebuilt once its text is known, so it reports its `url`.
    const stale = kind === 'url' && cached?.attributes['url'] === '' && this.urlsById.has(id);
    if (cached !== undefined && !stale) return cached ?? undefined;
    const object = this.synthesize(kind, root);
    setBounded(this.built, cacheKey, object ?? null, BUILT_CACHE_LIMIT);
    return object;
  }

  /**
   * The object a completed analysis of a submitted URL makes: known from then on (a later lookup finds it),
   * analysed at `date` (epoch seconds). A URL already known keeps its object. Its verdict is drawn like any
   * synthetic one's, from other bytes of its id (the unknown URL's own bytes say "not found").
   */
  analyse(url: string, date: number): VtObject {
    const id = this.rememberUrl(url);
    const known = this.get('url', id);
    if (known !== undefined) return known;
    const verdict = syntheticVerdict('url', `analysis\u0000${id}`, { ...this.rates, notFoundRate: 0 });
    const built = this.buildSynthetic('url', id, verdict === 'not-found' ? 'harmless' : verdict, undefined);
    const object: VtObject = { ...built, attributes: { ...built.attributes, last_analysis_date: date } };
    setBounded(this.analysed, id, object, ALIAS_LIMIT);
    return object;
  }

  /**
   * An object's context relationships: a file's contacted domains, IPs and URLs; the files communicating with a
   * domain or IP and the URLs it hosts. Derived from the id, so fixtures get them too.
   */
  contextOf(object: VtObject): SyntheticContext & { readonly urls: readonly string[] } {
    if (object.type === 'url') {
      return { contacted_domains: [], contacted_ips: [], contacted_urls: [], communicating_files: [], urls: [] };
    }
    const context = syntheticContext(object.type, object.id);
    return { ...context, urls: object.type === 'file' ? [] : this.hostedUrls(object) };
  }

  /** Remembers the URL behind its SHA-256 id, so a later lookup by that id reports the URL. */
  rememberUrl(url: string): string {
    const id = urlIdSha256(url);
    if (!this.urlsById.has(id)) setBounded(this.urlsById, id, canonicalUrl(url), ALIAS_LIMIT);
    return id;
  }

  /**
   * Analysis stats of a domain or IP address, or `undefined` when unknown (for resolution objects). Synthetic
   * stats are computed without building the object: a resolutions page names up to 40 other objects.
   */
  statsOf(kind: 'domain' | 'ip_address', id: string): AnalysisStats | undefined {
    const known = this.fixtures.get(`${kind}:${id}`) ?? this.built.get(`${kind}:${id}`);
    if (known !== undefined) {
      const stats = known?.attributes['last_analysis_stats'];
      return isRecord(stats) ? (stats as AnalysisStats) : undefined;
    }
    if (this.notFound.has(`${kind}:${id}`)) return undefined;
    const verdict = syntheticVerdict(kind, id, this.rates);
    // The same bytes and verdict as the object's own attributes (see syntheticDomain, syntheticIpAddress).
    return verdict === 'not-found' ? undefined : syntheticStats(kind, verdict, new ValueBytes(kind, id));
  }

  private synthesize(kind: ObjectKind, id: string): VtObject | undefined {
    if (this.notFound.has(`${kind}:${id}`)) return undefined;
    const verdict = syntheticVerdict(kind, id, this.rates);
    if (verdict === 'not-found') return undefined;
    const object = this.buildSynthetic(kind, id, verdict, undefined);
    if (kind === 'file') {
      for (const alias of [object.attributes['md5'], object.attributes['sha1'], object.id]) {
        if (typeof alias === 'string' && alias !== id) setBounded(this.fileAliases, alias, id, ALIAS_LIMIT);
      }
    }
    return object;
  }

  private buildSynthetic(
    kind: ObjectKind,
    id: string,
    verdict: Verdict,
    fixedResolutions: Resolution[] | undefined,
  ): VtObject {
    switch (kind) {
      case 'file': {
        const attributes = syntheticFile(id, verdict);
        const sha256 = attributes['sha256'] as string;
        return { type: 'file', id: sha256, attributes, resolutions: [] };
      }
      case 'url':
        return { type: 'url', id, attributes: syntheticUrl(id, this.urlsById.get(id) ?? '', verdict), resolutions: [] };
      case 'domain': {
        const resolutions = fixedResolutions ?? syntheticResolutions('domain', id);
        return { type: 'domain', id, attributes: syntheticDomain(id, verdict, resolutions), resolutions };
      }
      case 'ip_address':
        return {
          type: 'ip_address',
          id,
          attributes: syntheticIpAddress(id, verdict),
          resolutions: fixedResolutions ?? syntheticResolutions('ip_address', id),
        };
    }
  }

  /**
   * URLs a domain or IP hosts (only v2 reports list them, so they are derived on demand). A malicious host
   * gets at least one URL that is itself malicious (the first in a stable candidate order), so that v2's
   * detected_urls agrees with the host's verdict.
   */
  hostedUrls(object: VtObject): readonly string[] {
    if (object.urls !== undefined) return object.urls;
    const malicious = (object.attributes['last_analysis_stats'] as AnalysisStats | undefined)?.['malicious'] ?? 0;
    const wanted = hostedUrlCount(object.id) + (malicious > 1 ? 1 : 0);
    const chosen: string[] = [];
    let tries = 0;
    for (const url of candidateHostedUrls(object.id)) {
      if (chosen.length >= wanted || tries >= 32) break;
      tries += 1;
      if (chosen.includes(url)) continue;
      const needBad =
        malicious > 1 && !chosen.some((pick) => syntheticVerdict('url', urlIdSha256(pick), this.rates) === 'malicious');
      // While the malicious one is still missing, keep the last slot free for it.
      if (
        needBad &&
        chosen.length === wanted - 1 &&
        syntheticVerdict('url', urlIdSha256(url), this.rates) !== 'malicious'
      )
        continue;
      chosen.push(url);
    }
    return chosen;
  }

  private load(dir: string): void {
    if (!existsSync(dir)) throw new OptionError('fixturesDir', dir, 'an existing directory');
    for (const [subdir, kind] of FIXTURE_DIRS) {
      const path = join(dir, subdir);
      if (!existsSync(path)) continue;
      for (const name of readdirSync(path)
        .filter((file) => file.endsWith('.json'))
        .sort()) {
        const file = join(path, name);
        const object = this.fixtureObject(kind, file, JSON.parse(readFileSync(file, 'utf8')) as unknown);
        this.fixtures.set(`${kind}:${object.id}`, object);
        if (kind === 'file') {
          for (const hash of [object.attributes['md5'], object.attributes['sha1']]) {
            if (typeof hash === 'string') this.fixtures.set(`file:${hash}`, object);
          }
        }
      }
    }
    const notFoundFile = join(dir, 'not-found.json');
    if (existsSync(notFoundFile)) this.loadNotFound(notFoundFile);
  }

  private loadNotFound(file: string): void {
    const list = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!isRecord(list)) throw new OptionError('fixturesDir', file, 'a not-found.json object of lists');
    for (const [subdir, kind] of FIXTURE_DIRS) {
      const values = list[subdir];
      if (values === undefined) continue;
      if (!Array.isArray(values)) throw new OptionError('fixturesDir', `${file}: ${subdir}`, 'a list of values');
      for (const value of values) {
        if (typeof value !== 'string') continue;
        const id = kind === 'url' ? urlIdSha256(value) : value.toLowerCase();
        if (kind === 'url') this.rememberUrl(value);
        this.notFound.add(`${kind}:${id}`);
      }
    }
  }

  /** A fixture: its attributes laid over a synthetic object of the same id, so that it has every field. */
  private fixtureObject(kind: ObjectKind, file: string, raw: unknown): VtObject {
    if (!isRecord(raw)) throw new OptionError('fixturesDir', file, 'a JSON object');
    const fixture = raw as FixtureFile;
    const attributes = fixture.attributes ?? {};
    const id = this.fixtureId(kind, file, fixture, attributes);
    const stats = isRecord(attributes['last_analysis_stats'])
      ? (attributes['last_analysis_stats'] as AnalysisStats)
      : undefined;
    if (stats !== undefined) {
      const total = Object.values(stats).reduce((sum, count) => sum + count, 0);
      const engines = kind === 'file' ? FILE_ENGINE_COUNT : URL_ENGINE_COUNT;
      if (total > engines)
        throw new OptionError('fixturesDir', file, `last_analysis_stats adding up to at most ${engines} engines`);
    }
    const resolutions = fixture.resolutions
      ?.map((entry) => ({
        date: entry.date,
        hostName: kind === 'domain' ? id : (entry.host_name ?? ''),
        ipAddress: kind === 'ip_address' ? id : (entry.ip_address ?? ''),
      }))
      .sort((a, b) => b.date - a.date);
    const base = this.buildSynthetic(
      kind,
      kind === 'file' ? (attributes['sha256'] as string) : id,
      verdictOfStats(stats),
      resolutions,
    );
    const merged: Record<string, unknown> = { ...base.attributes, ...attributes };
    if (stats !== undefined && attributes['last_analysis_results'] === undefined) {
      const bytes = new ValueBytes(kind, id);
      merged['last_analysis_results'] = analysisResults(stats, {
        files: kind === 'file',
        offset: bytes.uint(28),
        family: malwareFamily(bytes),
        familyNumber: bytes.between(6, 1, 99_999),
        update: new Date(Number(merged['last_analysis_date']) * 1000).toISOString().slice(0, 10).replaceAll('-', ''),
      });
    }
    return fixture.urls === undefined
      ? { type: kind, id, attributes: merged, resolutions: base.resolutions }
      : { type: kind, id, attributes: merged, resolutions: base.resolutions, urls: fixture.urls };
  }

  private fixtureId(kind: ObjectKind, file: string, fixture: FixtureFile, attributes: Record<string, unknown>): string {
    switch (kind) {
      case 'file': {
        const { md5, sha1, sha256 } = attributes;
        if (typeof md5 !== 'string' || typeof sha1 !== 'string' || typeof sha256 !== 'string') {
          throw new OptionError('fixturesDir', file, 'a file fixture with attributes md5, sha1 and sha256');
        }
        return sha256.toLowerCase();
      }
      case 'url': {
        const url = attributes['url'];
        if (typeof url !== 'string') throw new OptionError('fixturesDir', file, 'a URL fixture with attributes.url');
        attributes['url'] = canonicalUrl(url);
        attributes['last_final_url'] ??= attributes['url'];
        return this.rememberUrl(url);
      }
      case 'domain':
      case 'ip_address': {
        const id =
          typeof fixture.id === 'string'
            ? kind === 'domain'
              ? normalizeDomain(fixture.id)
              : normalizeIp(fixture.id)
            : undefined;
        if (id === undefined)
          throw new OptionError(
            'fixturesDir',
            file,
            `a fixture with a valid ${kind === 'domain' ? 'domain' : 'IP address'} \`id\``,
          );
        return id;
      }
    }
  }
}
