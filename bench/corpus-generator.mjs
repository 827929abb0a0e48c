// Deterministic synthetic SIEM corpus with a truth file, for the extraction quality test and the benchmarks.
//
// Line kinds: firewall key=value logs, Squid proxy logs (with Chrome user agents), BIND query logs, Windows
// process events, threat-report prose with defanged indicators, and noise (version strings, file names whose
// extension is a TLD, private addresses, low-entropy hex). `truth` lists, per line (text) or data row (csv), the
// observables that must come out of extract + screen as accepted: public addresses, registrable domains, URLs,
// and hashes, normalised (lower-case hashes and hosts, refanged, trailing punctuation dropped).
//
// Repetition: as in real SIEM exports, the same hosts, addresses, URLs and hashes recur across lines. Observables
// are drawn from bounded pools (`poolSize` distinct values per kind, built deterministically from the seed) with a
// skewed, Zipf-like pick, so the number of distinct observables stops growing with the corpus size. `unique: true`
// draws every observable afresh instead (the worst case for memory: nearly every value distinct).
// No dependencies: plain ESM, usable from tests (via vitest) and from node benchmarks.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/** mulberry32: a small, fast, seedable PRNG. */
function rng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = [
  'ka',
  'zo',
  'mir',
  'tec',
  'lo',
  'va',
  'net',
  'sec',
  'pro',
  'bit',
  'on',
  'ex',
  'ra',
  'qu',
  'dy',
  'fin',
  'gal',
  'hub',
  'cdn',
  'web',
];
const TLDS = [
  'com',
  'com',
  'com',
  'net',
  'org',
  'ru',
  'de',
  'info',
  'xyz',
  'top',
  'io',
  'co.uk',
  'com.br',
  'biz',
  'cn',
  'site',
];
const SUBS = ['www', 'mail', 'cdn', 'login', 'update', 'api', 'static', 'files'];
const PATH_WORDS = ['gate', 'Panel', 'admin', 'wp-content', 'uploads', 'img', 'Download', 'api', 'v2', 'Login', 'css'];
const FILES = [
  'invoice.zip',
  'readme.md',
  'script.py',
  'setup.exe',
  'report.pdf',
  'notes.txt',
  'run.sh',
  'Safari.app',
  'lib.so',
  'oem1.cat',
  'data.json',
  'archive.rar',
  'main.rs',
];
const VERSIONS = [
  '10.4.27.5423',
  '1.2.3.4.5',
  '2.0.1',
  'v1.2.3.4',
  '10.0.19045.3693',
  '6.1.7601.24545',
  '3.11.4',
  '120.0.6099.109',
];
const LOW_ENTROPY = [
  '00000000000000000000000000000000',
  '0102030405060708090a0b0c0d0e0f10',
  'aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbcccccccc',
  'ffffffffffffffffffffffffffffffff',
];
const PRIVATE_IPS = [
  '10.1.2.3',
  '192.168.1.20',
  '172.16.5.4',
  '127.0.0.1',
  '169.254.10.20',
  '100.64.3.2',
  '203.0.113.9',
  '198.51.100.23',
];
const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

/** Default number of distinct values per pool (domains, IPv4, IPv6, hashes, URLs). */
const POOL_SIZE = 30_000;

function makeGenerator(seed, { unique = false, poolSize = POOL_SIZE } = {}) {
  const random = rng(seed);
  const int = (n) => Math.floor(random() * n);
  const pick = (list) => list[int(list.length)];
  const chance = (p) => random() < p;
  const hex = (n) => {
    let out = '';
    for (let i = 0; i < n; i += 1) out += '0123456789abcdef'[int(16)];
    return out;
  };
  const label = () => {
    let out = pick(SYLLABLES);
    const parts = 1 + int(3);
    for (let i = 0; i < parts; i += 1) out += pick(SYLLABLES);
    if (chance(0.3)) out += String(int(100));
    if (chance(0.15)) out += `-${pick(SYLLABLES)}`;
    return out;
  };
  const domain = () => `${chance(0.4) ? `${pick(SUBS)}.` : ''}${label()}.${pick(TLDS)}`;
  const publicIp = () => {
    const firsts = [
      5, 8, 23, 31, 37, 45, 46, 52, 62, 77, 78, 81, 85, 91, 93, 104, 107, 142, 151, 176, 185, 188, 195, 212, 217,
    ];
    return `${pick(firsts)}.${int(256)}.${int(256)}.${1 + int(254)}`;
  };
  const publicIpv6 = () =>
    `2a0${1 + int(8)}:${hex(4).replace(/^0+/, '') || '1'}:${(1 + int(4095)).toString(16)}::${(1 + int(65534)).toString(16)}`;
  const hash = () => {
    // Screening rejects hashes below 3 bits/char of entropy; a random one is that flat about once in 2,000 draws.
    for (;;) {
      const value = hex(pick([32, 40, 64]));
      if (entropy(value) >= 3) return value;
    }
  };
  const hashType = (value) => ({ 32: 'md5_hash', 40: 'sha1_hash', 64: 'sha256_hash' })[value.length];
  const url = (host) => {
    const path = Array.from({ length: 1 + int(3) }, () => pick(PATH_WORDS)).join('/');
    const query = chance(0.5) ? `?id=${int(10000)}&Ref=${label()}` : '';
    const port = chance(0.1) ? `:${8000 + int(1000)}` : '';
    return `${pick(['http', 'https'])}://${host}${port}/${path}${chance(0.3) ? '.php' : ''}${query}`;
  };
  const defangHost = (host) => host.replaceAll('.', pick(['[.]', '(.)', '[dot]', '{.}']));
  const defangUrl = (value) => {
    const host = value.split('/')[2];
    const scheme = value.startsWith('https') ? pick(['hxxps', 'hXXps']) : pick(['hxxp', 'hXXp']);
    const separator = pick(['://', '[:]//', '[://]']);
    return `${scheme}${separator}${defangHost(host)}${value.slice(value.indexOf('/', 8))}`;
  };
  // Pools: built lazily (a value the first time its index is drawn) from the main stream, so output is a pure
  // function of the seed and options. Index = floor(size * u^3): the first values are drawn far more often than the
  // last, a heavy head and a long tail like real logs, and every value stays reachable.
  const pooled = (make) => {
    if (unique) return make;
    const values = [];
    return () => {
      const index = Math.floor(poolSize * random() ** 3);
      let value = values[index];
      if (value === undefined) {
        value = make();
        values[index] = value;
      }
      return value;
    };
  };
  const poolDomain = pooled(domain);
  const poolIp = pooled(publicIp);
  const poolIpv6 = pooled(publicIpv6);
  const poolHash = pooled(hash);
  const poolUrl = pooled(() => url(chance(0.2) ? publicIp() : domain()));
  const poolDomainUrl = pooled(() => url(domain()));
  const time = () =>
    `2026-11-${10 + int(20)}T${String(int(24)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}:${String(int(60)).padStart(2, '0')}.${int(1000)}Z`;

  /** Each returns { fields: string[], truth: [{ type, value }] } for one record. */
  const kinds = [
    function firewall() {
      const truth = [];
      const v6 = chance(0.15);
      const dst = v6 ? poolIpv6() : poolIp();
      truth.push({ type: v6 ? 'ipv6' : 'ipv4', value: dst });
      const src = pick(PRIVATE_IPS);
      return {
        fields: [
          time(),
          `fw0${int(9)}`,
          `action=${pick(['allow', 'deny'])} proto=TCP src=${src} sport=${1024 + int(60000)}`,
          `dst=${dst} dport=${pick([443, 80, 53, 8443])} bytes=${int(100000)} rule=web-${int(99)}`,
        ],
        truth,
      };
    },
    function proxy() {
      const target = poolUrl();
      const via = poolIp();
      return {
        fields: [
          `${1700000000 + int(9999999)}.${int(1000)} ${int(900)} ${pick(PRIVATE_IPS)} TCP_MISS/200 ${int(99999)} GET ${target} - HIER_DIRECT/${via} text/html`,
          UA,
        ],
        truth: [
          { type: 'url', value: target },
          { type: 'ipv4', value: via },
        ],
      };
    },
    function connect() {
      const host = poolDomain();
      return {
        fields: [`${time()} proxy CONNECT ${host.toUpperCase()}:443 user=alice status=200 ua="${UA}"`],
        truth: [{ type: 'dns', value: host }],
      };
    },
    function dnsLog() {
      const name = poolDomain();
      return {
        fields: [
          `22-Nov-2026 01:02:03.${int(999)} queries: info: client @0x7f${hex(10)} ${pick(PRIVATE_IPS)}#${int(65000)} (${name}): query: ${name} IN ${pick(['A', 'AAAA', 'TXT'])} + (10.0.0.53)`,
        ],
        truth: [
          { type: 'dns', value: name },
          { type: 'dns', value: name },
        ],
      };
    },
    function processEvent() {
      const value = poolHash();
      const upper = chance(0.3);
      return {
        fields: [
          `EventID=4688 Image=C:\\Windows\\System32\\${pick(['cmd.exe', 'rundll32.exe', 'powershell.exe'])} Parent=explorer.exe File=${pick(FILES)}`,
          `Hashes=${hashType(value).replace('_hash', '').toUpperCase()}=${upper ? value.toUpperCase() : value}`,
        ],
        truth: [{ type: hashType(value), value }],
      };
    },
    function prose() {
      const target = poolDomainUrl();
      const ip = poolIp();
      const value = poolHash();
      const mail = poolDomain();
      const fileName = pick(FILES);
      const parts = [
        `The actor staged payloads at ${defangUrl(target)}.`,
        `C2 traffic went to ${ip.replaceAll('.', pick(['[.]', '(.)', '.']))} over TCP/443, and the dropper (${fileName}) had MD5/SHA ${value}.`,
        `Phishing mail came from billing[@]${defangHost(mail)}; build ${pick(VERSIONS)} and ${pick(VERSIONS)} are not addresses.`,
      ];
      return {
        fields: [parts.join(' ')],
        truth: [
          { type: 'url', value: target },
          { type: 'ipv4', value: ip },
          { type: hashType(value), value },
          { type: 'dns', value: mail },
        ],
      };
    },
    function noise() {
      return {
        fields: [
          `job ${pick(['backup', 'sync', 'scan'])} ok files=${pick(FILES)},${pick(FILES)} version=${pick(VERSIONS)} host=${pick(PRIVATE_IPS)} token=${pick(LOW_ENTROPY)} user.name=svc_${label()} took ${int(999)}.${int(99)}ms`,
        ],
        truth: [],
      };
    },
    function parenthesised() {
      const target = poolDomainUrl();
      return {
        fields: [
          `See the report (${target}), then "${pick(PRIVATE_IPS)}" and [${pick(['fe80::1', '::1', 'fd00::5'])}]; done.`,
        ],
        truth: [{ type: 'url', value: target }],
      };
    },
  ];
  return { pick, kinds, random };
}

function entropy(value) {
  const counts = new Map();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) bits -= (count / value.length) * Math.log2(count / value.length);
  return bits;
}

function csvField(value) {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** The `fields` of a record as a text line or a CSV row (fields joined, quoted when needed). */
function render(record, format) {
  if (format === 'csv') return record.fields.map(csvField).join(',');
  return record.fields.join(' ');
}

/** CSV header: records have up to 4 fields; shorter ones are padded. */
const CSV_HEADER = 'message,detail,extra,more';

function padFields(record) {
  while (record.fields.length < 4) record.fields.push('');
  return record;
}

/**
 * Generate `lines` records deterministically from `seed` (options `unique` and `poolSize`: see the top of the file). Returns the text (a header first for csv) and the truth:
 * one `{ line, type, value }` per expected accepted observable, `line` being the 0-based text line or data row.
 */
export function generateCorpus({ seed = 1, lines = 1000, format = 'text', unique = false, poolSize = POOL_SIZE } = {}) {
  const { pick, kinds } = makeGenerator(seed, { unique, poolSize });
  const out = format === 'csv' ? [CSV_HEADER] : [];
  const truth = [];
  for (let line = 0; line < lines; line += 1) {
    const record = pick(kinds)();
    if (format === 'csv') padFields(record);
    out.push(render(record, format));
    for (const item of record.truth) truth.push({ line, ...item });
  }
  return { text: `${out.join('\n')}\n`, truth };
}

/**
 * Stream a corpus of about `bytes` bytes to `path` (no truth kept: memory stays flat for 500 MB files).
 * Resolves to { bytes, lines }.
 */
export async function writeCorpus(
  path,
  { seed = 1, bytes = 50 * 1024 * 1024, format = 'text', unique = false, poolSize = POOL_SIZE } = {},
) {
  const { pick, kinds } = makeGenerator(seed, { unique, poolSize });
  const stream = createWriteStream(path);
  let written = 0;
  let lines = 0;
  const write = async (chunk) => {
    written += Buffer.byteLength(chunk);
    if (!stream.write(chunk)) await once(stream, 'drain');
  };
  if (format === 'csv') await write(`${CSV_HEADER}\n`);
  while (written < bytes) {
    let chunk = '';
    for (let i = 0; i < 1000 && written + chunk.length < bytes; i += 1) {
      const record = pick(kinds)();
      if (format === 'csv') padFields(record);
      chunk += `${render(record, format)}\n`;
      lines += 1;
    }
    await write(chunk);
  }
  await new Promise((resolve, reject) => stream.end((error) => (error ? reject(error) : resolve())));
  return { bytes: written, lines };
}

const PROXY_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0',
  'Microsoft-CryptoAPI/10.0',
  'Windows-Update-Agent/10.0.10011.16384 Client-Protocol/2.50',
  'curl/8.4.0',
];
const PROXY_PATHS = [
  'api',
  'v1',
  'v2',
  'static',
  'img',
  'js',
  'css',
  'assets',
  'search',
  'login',
  'news',
  'item',
  'cdn',
];
const PROXY_FILES = ['index.html', 'app.js', 'main.css', 'logo.png', 'pixel.gif', 'data.json', 'update.cab', ''];
const PROXY_QUERY_KEYS = ['q', 'id', 'sid', 'utm_source', 'ref', 'page', 'token', 'lang', 'cb'];

/**
 * Stream about `bytes` of web-proxy log lines to `path`: Squid native, Zscaler-like and BlueCoat-like lines
 * (timestamp, client IP, user, method, URL, status, bytes, user agent; BlueCoat lines also carry the host and the
 * server address as fields of their own). Proxy logs are the input with the most distinct values: here about
 * `distinctUrls` distinct URLs (most lines fetch a URL never fetched before: a fresh path or query on a host drawn
 * from `hosts` hosts, skewed), plus a fixed set of popular URLs that recur, a few thousand client addresses
 * (private: rejected, as they are in real exports) and the servers' public addresses. Deterministic (seed).
 * Resolves to { bytes, lines }.
 */
export async function writeProxyCorpus(
  path,
  { seed = 7, bytes = 500 * 1024 * 1024, distinctUrls = 1_100_000, hosts = 60_000 } = {},
) {
  const random = rng(seed);
  const int = (n) => Math.floor(random() * n);
  const pick = (list) => list[int(list.length)];
  const hex = (n) => {
    let out = '';
    for (let i = 0; i < n; i += 1) out += '0123456789abcdef'[int(16)];
    return out;
  };
  const word = () => {
    let out = pick(SYLLABLES);
    for (let i = int(3); i > 0; i -= 1) out += pick(SYLLABLES);
    return out;
  };
  const hostPool = [];
  const serverOf = [];
  const host = () => {
    const index = Math.floor(hosts * random() ** 2);
    if (hostPool[index] === undefined) {
      hostPool[index] =
        `${random() < 0.5 ? `${pick(SUBS)}.` : ''}${word()}${random() < 0.3 ? int(100) : ''}.${pick(TLDS)}`;
      serverOf[index] = `${pick([23, 31, 52, 93, 104, 142, 151, 185, 212])}.${int(256)}.${int(256)}.${1 + int(254)}`;
    }
    return index;
  };
  // A fresh URL: a path of one to five segments and, often, a query with ids and tokens (40 to 250 characters).
  const freshUrl = (hostName) => {
    let url = `${random() < 0.8 ? 'https' : 'http'}://${hostName}`;
    for (let i = 1 + int(4); i > 0; i -= 1) url += `/${random() < 0.6 ? pick(PROXY_PATHS) : word() + int(10000)}`;
    url += `/${pick(PROXY_FILES)}`;
    if (random() < 0.7) {
      const keys = 1 + int(4);
      for (let i = 0; i < keys; i += 1)
        url += `${i === 0 ? '?' : '&'}${pick(PROXY_QUERY_KEYS)}=${random() < 0.5 ? hex(8 + int(24)) : word()}`;
    }
    return url;
  };
  const popular = Array.from({ length: 20_000 }, () => {
    const index = host();
    return { url: freshUrl(hostPool[index]), index };
  });
  const users = Array.from({ length: 3_000 }, () => `${word()}_${word()}`);
  const clients = Array.from({ length: 3_000 }, () => `10.${int(256)}.${int(256)}.${1 + int(254)}`);
  // About 270 bytes a line: the share of lines with a fresh URL that gives `distinctUrls` over `bytes`.
  const lineCount = bytes / 270;
  const fresh = Math.min(1, Math.max(0, (distinctUrls - popular.length) / lineCount));
  const stamp = Date.UTC(2026, 10, 21) / 1000;
  const stream = createWriteStream(path);
  let written = 0;
  let lines = 0;
  while (written < bytes) {
    let chunk = '';
    for (let i = 0; i < 1000; i += 1) {
      let url;
      let index;
      if (random() < fresh) {
        index = host();
        url = freshUrl(hostPool[index]);
      } else {
        ({ url, index } = pick(popular));
      }
      const seconds = stamp + lines / 20;
      const client = pick(clients);
      const user = pick(users);
      const status = pick([200, 200, 200, 200, 204, 301, 302, 304, 403, 404, 503]);
      const size = int(200_000);
      const agent = pick(PROXY_AGENTS);
      const method = random() < 0.85 ? 'GET' : 'POST';
      const style = lines % 3;
      if (style === 0) {
        // Squid native
        chunk += `${seconds.toFixed(3)} ${String(1 + int(3000)).padStart(6)} ${client} TCP_MISS/${status} ${size} ${method} ${url} ${user} HIER_DIRECT/${serverOf[index]} text/html "${agent}"\n`;
      } else if (style === 1) {
        // Zscaler NSS-like
        const when = new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19);
        chunk += `${when} reason=Allowed user=${user}@corp.example cip=${client} method=${method} url=${url} status=${status} respsize=${size} ua="${agent}" urlcat=Business\n`;
      } else {
        // BlueCoat ELFF-like: the host and the server address are fields of their own.
        const when = new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19);
        chunk += `${when} ${1 + int(900)} ${client} ${status} TCP_NC_MISS ${size} ${method} ${hostPool[index]} ${serverOf[index]} "${url}" ${user} "${agent}"\n`;
      }
      lines += 1;
    }
    written += Buffer.byteLength(chunk);
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  await new Promise((resolve, reject) => stream.end((error) => (error ? reject(error) : resolve())));
  return { bytes: written, lines };
}
