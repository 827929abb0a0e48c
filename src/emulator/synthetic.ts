/**
 * Deterministic synthetic objects for observables the fixtures do not name. Everything is derived from a
 * SHA-256 of the observable (never from the fault seed or the clock), so the same value gets the same reply
 * in every run, and v2 and v3 agree because both render the same object.
 */
import { createHash } from 'node:crypto';
import { analysisResults, FILE_ENGINE_COUNT, URL_ENGINE_COUNT, type AnalysisStats } from './engines.js';
import type { ObjectKind, Resolution, Verdict } from './model.js';
import { mulberry32 } from './random.js';

/** Shares of synthetic verdicts. */
export interface VerdictRates {
  readonly notFoundRate: number;
  readonly maliciousRate: number;
  readonly suspiciousRate: number;
}

/** A stable pseudo-random byte source for one observable. */
export class ValueBytes {
  private readonly bytes: Buffer;

  constructor(kind: string, key: string) {
    this.bytes = createHash('sha256').update(`${kind}\u0000${key}`, 'utf8').digest();
  }

  private static last: ValueBytes | undefined;
  private static lastKind = '';
  private static lastKey = '';

  /**
   * The bytes of an observable, remembering the last one: a new object's verdict and its attributes read the
   * same digest, one right after the other, so the second read costs no hash. Instances are never mutated.
   */
  static of(kind: string, key: string): ValueBytes {
    if (ValueBytes.last !== undefined && ValueBytes.lastKind === kind && ValueBytes.lastKey === key)
      return ValueBytes.last;
    const bytes = new ValueBytes(kind, key);
    ValueBytes.last = bytes;
    ValueBytes.lastKind = kind;
    ValueBytes.lastKey = key;
    return bytes;
  }

  /** A 32-bit unsigned integer from byte `index` on (indexes 0..28). */
  uint(index: number): number {
    return this.bytes.readUInt32BE(index);
  }

  /** An integer in [min, max], from the 32 bits at `index`. */
  between(index: number, min: number, max: number): number {
    return min + (this.uint(index) % (max - min + 1));
  }

  /** One element of `list`, from the 32 bits at `index`. */
  pick<T>(index: number, list: readonly T[]): T {
    const item = list[this.uint(index) % list.length];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  /** A PRNG seeded from the digest, for long sequences (resolutions) without one hash per item. */
  sequence(): () => number {
    return mulberry32(this.uint(28));
  }

  /** Lower-case hex of the digest, as long as asked (up to 64). */
  hex(length: number): string {
    return this.bytes.toString('hex').slice(0, length);
  }
}

/** The malware family engines name for a detected object. */
export function malwareFamily(bytes: ValueBytes): string {
  return bytes.pick(2, FAMILIES);
}

/** Epoch seconds around which synthetic dates spread (2023-11-14): fixed, so replies never depend on the clock. */
const EPOCH_BASE = 1_700_000_000;
const DAY = 86_400;

/** The verdict of an unknown observable: the first 32 bits of its digest, read as a share. */
export function syntheticVerdict(kind: ObjectKind, key: string, rates: VerdictRates): Verdict {
  const share = ValueBytes.of(kind, key).uint(0) / 2 ** 32;
  if (share < rates.notFoundRate) return 'not-found';
  if (share < rates.notFoundRate + rates.maliciousRate) return 'malicious';
  if (share < rates.notFoundRate + rates.maliciousRate + rates.suspiciousRate) return 'suspicious';
  return 'harmless';
}

/** Analysis stats for a verdict; they add up to the number of engines of the kind. */
export function syntheticStats(kind: ObjectKind, verdict: Verdict, bytes: ValueBytes): AnalysisStats {
  if (kind === 'file') {
    const typeUnsupported = bytes.between(4, 2, 8);
    const malicious = verdict === 'malicious' ? bytes.between(8, 12, 45) : verdict === 'suspicious' ? 1 : 0;
    const suspicious = verdict === 'suspicious' ? bytes.between(12, 1, 3) : 0;
    return {
      harmless: 0,
      'type-unsupported': typeUnsupported,
      suspicious,
      'confirmed-timeout': 0,
      timeout: 0,
      failure: 0,
      malicious,
      undetected: FILE_ENGINE_COUNT - typeUnsupported - malicious - suspicious,
    };
  }
  const malicious = verdict === 'malicious' ? bytes.between(8, 4, 18) : verdict === 'suspicious' ? 1 : 0;
  const suspicious =
    verdict === 'suspicious' ? bytes.between(12, 1, 3) : verdict === 'malicious' ? bytes.between(12, 0, 2) : 0;
  const undetected = bytes.between(4, 8, 20);
  return {
    harmless: URL_ENGINE_COUNT - malicious - suspicious - undetected,
    malicious,
    suspicious,
    undetected,
    timeout: 0,
  };
}

const FAMILIES: readonly string[] = [
  'Emotet',
  'AgentTesla',
  'Formbook',
  'Qakbot',
  'RedLine',
  'Remcos',
  'AsyncRAT',
  'Lokibot',
  'NjRAT',
  'Ramnit',
  'Zbot',
  'Dridex',
];
const WORDS: readonly string[] = [
  'alpha',
  'amber',
  'atlas',
  'beacon',
  'birch',
  'cedar',
  'cobalt',
  'delta',
  'ember',
  'falcon',
  'garnet',
  'harbor',
  'indigo',
  'juniper',
  'kestrel',
  'lumen',
  'maple',
  'nimbus',
  'onyx',
  'orbit',
  'pioneer',
  'quartz',
  'raven',
  'sierra',
  'summit',
  'tango',
  'umber',
  'vertex',
  'willow',
  'zephyr',
];
const TLDS: readonly string[] = ['com', 'net', 'org', 'io', 'info', 'biz', 'xyz', 'online'];
const REGISTRARS: readonly string[] = [
  'Namecheap, Inc.',
  'GoDaddy.com, LLC',
  'Tucows Domains Inc.',
  'NameSilo, LLC',
  'Porkbun LLC',
  'Gandi SAS',
];
const CATEGORY_VENDORS: readonly string[] = ['Forcepoint ThreatSeeker', 'Sophos', 'BitDefender', 'alphaMountain.ai'];
const CLEAN_CATEGORIES: readonly string[] = [
  'information technology',
  'business',
  'news and media',
  'education',
  'shopping',
];
const BAD_CATEGORIES: readonly string[] = [
  'malicious web sites',
  'phishing and other frauds',
  'malware callhome, command and control',
  'spyware and adware',
];

/** Global unicast first octets, so synthetic addresses never look private, reserved or documentation-only. */
const GLOBAL_FIRST_OCTETS: readonly number[] = [
  23, 31, 37, 45, 46, 51, 62, 77, 78, 80, 81, 85, 88, 91, 93, 94, 104, 109, 141, 151, 176, 178, 185, 188, 193, 195, 212,
  213, 217,
];

/** [asn, owner, country] of synthetic IP addresses. */
const NETWORKS: ReadonlyArray<readonly [number, string, string]> = [
  [13335, 'CLOUDFLARENET', 'US'],
  [16509, 'AMAZON-02', 'US'],
  [14061, 'DIGITALOCEAN-ASN', 'US'],
  [24940, 'Hetzner Online GmbH', 'DE'],
  [16276, 'OVH SAS', 'FR'],
  [63949, 'Akamai Connected Cloud', 'US'],
  [9009, 'M247 Europe SRL', 'RO'],
  [51167, 'Contabo GmbH', 'DE'],
  [4134, 'Chinanet', 'CN'],
  [12389, 'Rostelecom', 'RU'],
  [3320, 'Deutsche Telekom AG', 'DE'],
  [20473, 'AS-CHOOPA', 'US'],
];
const CONTINENT: Readonly<Record<string, string>> = { US: 'NA', DE: 'EU', FR: 'EU', RO: 'EU', RU: 'EU', CN: 'AS' };
const REGISTRY: Readonly<Record<string, string>> = {
  US: 'ARIN',
  DE: 'RIPE NCC',
  FR: 'RIPE NCC',
  RO: 'RIPE NCC',
  RU: 'RIPE NCC',
  CN: 'APNIC',
};

/** [type_description, type_tag, extension, magic] of synthetic files. */
const FILE_TYPES: ReadonlyArray<readonly [string, string, string, string]> = [
  ['Win32 EXE', 'peexe', 'exe', 'PE32 executable (GUI) Intel 80386, for MS Windows'],
  ['Win32 DLL', 'pedll', 'dll', 'PE32 executable (DLL) (GUI) Intel 80386, for MS Windows'],
  ['PDF', 'pdf', 'pdf', 'PDF document, version 1.7'],
  ['ZIP', 'zip', 'zip', 'Zip archive data, at least v2.0 to extract'],
  ['Office Open XML Document', 'docx', 'docx', 'Microsoft Word 2007+'],
  ['Shell script', 'shell', 'sh', 'POSIX shell script, ASCII text executable'],
];

/** `YYYYMMDD` by day number: synthetic dates fall on a few hundred days, and Date formatting is not cheap. */
const YMD = new Map<number, string>();

/** `YYYYMMDD` (UTC) of an epoch-seconds date. */
function ymd(epochSeconds: number): string {
  const day = Math.floor(epochSeconds / DAY);
  let text = YMD.get(day);
  if (text === undefined) {
    text = new Date(day * DAY * 1000).toISOString().slice(0, 10).replaceAll('-', '');
    if (YMD.size < 10_000) YMD.set(day, text);
  }
  return text;
}

function hashHex(algorithm: string, text: string): string {
  return createHash(algorithm).update(text, 'utf8').digest('hex');
}

/** The three hashes of a synthetic file named by one of them: the others are derived from it. */
function syntheticHashes(hash: string): { md5: string; sha1: string; sha256: string } {
  const derive = (algorithm: string, length: number): string =>
    hash.length === length ? hash : hashHex(algorithm, `${algorithm}\u0000${hash}`);
  return { md5: derive('md5', 32), sha1: derive('sha1', 40), sha256: derive('sha256', 64) };
}

function pickFrom<T>(random: () => number, list: readonly T[]): T {
  const item = list[Math.floor(random() * list.length)];
  if (item === undefined) throw new RangeError('pick from an empty list');
  return item;
}

function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** A synthetic global IPv4 address drawn from `random`. */
function syntheticIp(random: () => number): string {
  return `${pickFrom(random, GLOBAL_FIRST_OCTETS)}.${between(random, 0, 255)}.${between(random, 0, 255)}.${between(random, 1, 254)}`;
}

/** A synthetic host name drawn from `random`. */
function syntheticHostName(random: () => number): string {
  return `${pickFrom(random, ['', 'www.', 'mail.', 'cdn.', 'api.'])}${pickFrom(random, WORDS)}${pickFrom(random, WORDS)}.${pickFrom(random, TLDS)}`;
}

/** Attributes every kind shares: dates, votes, reputation, tags, stats and results. */
function commonAttributes(
  kind: ObjectKind,
  verdict: Verdict,
  bytes: ValueBytes,
  family: string,
): Record<string, unknown> {
  const lastAnalysisDate = EPOCH_BASE + bytes.between(16, 0, 180 * DAY);
  const stats = syntheticStats(kind, verdict, bytes);
  const bad = verdict === 'malicious';
  return {
    last_analysis_date: lastAnalysisDate,
    last_modification_date: lastAnalysisDate + bytes.between(20, 0, 3 * DAY),
    reputation: bad
      ? -bytes.between(24, 5, 60)
      : verdict === 'suspicious'
        ? -bytes.between(24, 0, 5)
        : bytes.between(24, 0, 20),
    total_votes: bad
      ? { harmless: bytes.between(26, 0, 2), malicious: bytes.between(27, 1, 20) }
      : { harmless: bytes.between(26, 0, 10), malicious: 0 },
    tags: [] as string[],
    last_analysis_stats: stats,
    last_analysis_results: analysisResults(stats, {
      files: kind === 'file',
      offset: bytes.uint(28),
      family,
      familyNumber: bytes.between(6, 1, 99_999),
      update: ymd(lastAnalysisDate),
    }),
  };
}

function categories(verdict: Verdict, bytes: ValueBytes): Record<string, string> {
  const list = verdict === 'malicious' ? BAD_CATEGORIES : CLEAN_CATEGORIES;
  const result: Record<string, string> = {};
  const count = bytes.between(10, 1, 3);
  for (let i = 0; i < count; i += 1) result[CATEGORY_VENDORS[i] ?? 'Sophos'] = bytes.pick(i + 1, list);
  return result;
}

/** Attributes of a synthetic file. */
export function syntheticFile(hash: string, verdict: Verdict): Record<string, unknown> {
  const hashes = syntheticHashes(hash);
  const bytes = ValueBytes.of('file', hashes.sha256);
  const family = malwareFamily(bytes);
  const [typeDescription, typeTag, extension, magic] = bytes.pick(5, FILE_TYPES);
  const common = commonAttributes('file', verdict, bytes, family);
  const lastAnalysisDate = common['last_analysis_date'] as number;
  const firstSubmission = lastAnalysisDate - bytes.between(9, 0, 700 * DAY);
  const size = bytes.between(13, 1_024, 4_000_000);
  const name = `${verdict === 'malicious' ? family.toLowerCase() : bytes.pick(14, WORDS)}_${hashes.sha256.slice(0, 6)}.${extension}`;
  return {
    md5: hashes.md5,
    sha1: hashes.sha1,
    sha256: hashes.sha256,
    ssdeep: `${Math.max(3, Math.round(size / 512))}:${bytes.hex(24)}:${bytes.hex(16)}`,
    tlsh: `T1${hashes.sha256.toUpperCase()}${hashes.md5.slice(0, 6).toUpperCase()}`,
    vhash: bytes.hex(30),
    size,
    magic,
    type_description: typeDescription,
    type_tag: typeTag,
    type_extension: extension,
    trid: [{ file_type: `${typeDescription} (generic)`, probability: 63.5 }],
    names: [name],
    meaningful_name: name,
    creation_date: firstSubmission - bytes.between(15, 0, 30 * DAY),
    first_submission_date: firstSubmission,
    last_submission_date: lastAnalysisDate,
    times_submitted: bytes.between(17, 1, 400),
    unique_sources: bytes.between(18, 1, 60),
    downloadable: true,
    capabilities_tags: [] as string[],
    ...common,
    tags: [typeTag],
  };
}

/** Attributes of a synthetic URL; `url` is the canonical URL ('' when only its SHA-256 id is known). */
export function syntheticUrl(id: string, url: string, verdict: Verdict): Record<string, unknown> {
  const bytes = ValueBytes.of('url', id);
  const common = commonAttributes('url', verdict, bytes, malwareFamily(bytes));
  const lastAnalysisDate = common['last_analysis_date'] as number;
  return {
    url,
    last_final_url: url,
    title: verdict === 'malicious' ? 'Sign in to your account' : `${bytes.pick(14, WORDS)} ${bytes.pick(15, WORDS)}`,
    last_http_response_code: verdict === 'malicious' ? 200 : bytes.pick(11, [200, 200, 200, 301, 404]),
    has_content: false,
    threat_names: verdict === 'malicious' ? ['Mal/HTMLGen-A'] : [],
    categories: categories(verdict, bytes),
    first_submission_date: lastAnalysisDate - bytes.between(9, 0, 400 * DAY),
    last_submission_date: lastAnalysisDate,
    times_submitted: bytes.between(17, 1, 300),
    ...common,
  };
}

/** Attributes of a synthetic domain, given its resolutions (newest first) for `last_dns_records`. */
export function syntheticDomain(
  domain: string,
  verdict: Verdict,
  resolutions: readonly Resolution[],
): Record<string, unknown> {
  const bytes = ValueBytes.of('domain', domain);
  const common = commonAttributes('domain', verdict, bytes, malwareFamily(bytes));
  const lastAnalysisDate = common['last_analysis_date'] as number;
  const creationDate = lastAnalysisDate - bytes.between(9, 30 * DAY, 3_000 * DAY);
  const registrar = bytes.pick(3, REGISTRARS);
  // Current A records: the addresses of the newest resolution date, so last_dns_records and resolutions agree.
  const newest = resolutions[0]?.date;
  const current = resolutions.filter((resolution) => resolution.date === newest);
  return {
    registrar,
    creation_date: creationDate,
    last_update_date: creationDate + bytes.between(13, 0, 365 * DAY),
    categories: categories(verdict, bytes),
    jarm: bytes.hex(62),
    last_dns_records: current.map((resolution) => ({ type: 'A', value: resolution.ipAddress, ttl: 300 })),
    last_dns_records_date: newest ?? lastAnalysisDate,
    popularity_ranks: {},
    whois: `Domain Name: ${domain.toUpperCase()}\nRegistrar: ${registrar}\nCreation Date: ${new Date(creationDate * 1000).toISOString()}\n`,
    ...common,
  };
}

/** Attributes of a synthetic IP address. */
export function syntheticIpAddress(ip: string, verdict: Verdict): Record<string, unknown> {
  const bytes = ValueBytes.of('ip_address', ip);
  const common = commonAttributes('ip_address', verdict, bytes, malwareFamily(bytes));
  const [asn, owner, country] = bytes.pick(3, NETWORKS);
  const network = ip.includes(':')
    ? `${ip.split(':').slice(0, 3).join(':')}::/48`
    : `${ip.split('.').slice(0, 3).join('.')}.0/24`;
  return {
    asn,
    as_owner: owner,
    country,
    continent: CONTINENT[country] ?? 'EU',
    network,
    regional_internet_registry: REGISTRY[country] ?? 'RIPE NCC',
    jarm: bytes.hex(62),
    whois: `CIDR: ${network}\nOriginAS: AS${asn}\nOrganization: ${owner}\nCountry: ${country}\n`,
    whois_date: (common['last_analysis_date'] as number) - bytes.between(9, 0, 200 * DAY),
    ...common,
  };
}

/** Synthetic resolutions, newest first: a domain's IP addresses, or an IP address's host names. */
export function syntheticResolutions(kind: 'domain' | 'ip_address', value: string): Resolution[] {
  const random = new ValueBytes(`${kind}-resolutions`, value).sequence();
  const count = kind === 'domain' ? between(random, 1, 14) : between(random, 0, 12);
  let date = EPOCH_BASE + between(random, 0, 180 * DAY);
  const resolutions: Resolution[] = [];
  for (let i = 0; i < count; i += 1) {
    resolutions.push(
      kind === 'domain'
        ? { date, hostName: value, ipAddress: syntheticIp(random) }
        : { date, hostName: syntheticHostName(random), ipAddress: value },
    );
    date -= between(random, 1, 40) * DAY;
  }
  return resolutions;
}

const HOSTED_FILES: readonly string[] = ['index.php', 'login.html', 'update.exe', 'invoice.pdf', 'gate.php', ''];

/** URLs hosted on a domain or IP address, in a stable, endless order; the store picks among them. */
export function* candidateHostedUrls(host: string): Generator<string> {
  const random = new ValueBytes('hosted-url', host).sequence();
  for (;;) yield `http://${host}/${pickFrom(random, WORDS)}/${pickFrom(random, HOSTED_FILES)}`;
}

/** The number of URLs a synthetic domain or IP hosts (0..3). */
export function hostedUrlCount(host: string): number {
  return new ValueBytes('hosted-urls', host).between(0, 0, 3);
}

/** A synthetic object's context relationships (descriptor ids, or URLs for url relationships), newest first. */
export interface SyntheticContext {
  readonly contacted_domains: readonly string[];
  readonly contacted_ips: readonly string[];
  readonly contacted_urls: readonly string[];
  readonly communicating_files: readonly string[];
}

/**
 * What a file contacted (domains, IPs, URLs on those domains), or which files communicate with a domain or IP
 * (sha256s), derived from the object's id like everything else: the same object always has the same context.
 */
export function syntheticContext(kind: 'file' | 'domain' | 'ip_address', id: string): SyntheticContext {
  const random = new ValueBytes(`${kind}-context`, id).sequence();
  if (kind !== 'file') {
    const files = Array.from({ length: between(random, 0, 14) }, (_, i) =>
      hashHex('sha256', `communicating\u0000${id}\u0000${i}`),
    );
    return { contacted_domains: [], contacted_ips: [], contacted_urls: [], communicating_files: files };
  }
  const domains = Array.from({ length: between(random, 0, 5) }, () => syntheticHostName(random));
  const ips = Array.from({ length: between(random, 0, 4) }, () => syntheticIp(random));
  const urls = domains.map((domain) => `http://${domain}/${pickFrom(random, WORDS)}/${pickFrom(random, HOSTED_FILES)}`);
  return { contacted_domains: domains, contacted_ips: ips, contacted_urls: urls, communicating_files: [] };
}
