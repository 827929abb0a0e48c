/**
 * The scanning engines and how a `last_analysis_results` map is derived from `last_analysis_stats`, so that a
 * fixture only has to state its stats and every reply's results agree with them.
 */

/** v3 analysis stats: category → number of engines. */
export type AnalysisStats = Record<string, number>;

/** One engine's verdict in `last_analysis_results`. */
export interface EngineResult {
  category: string;
  engine_name: string;
  method: string;
  result: string | null;
  engine_version?: string;
  engine_update?: string;
}

/** Antivirus engines that scan files: [name, version]. */
const FILE_ENGINES: ReadonlyArray<readonly [string, string]> = [
  ['Bkav', '2.0.0.1'],
  ['Lionic', '7.5'],
  ['Elastic', '4.0.120'],
  ['MicroWorld-eScan', '14.0.409.0'],
  ['ClamAV', '1.2.2.0'],
  ['CAT-QuickHeal', '22.00'],
  ['Skyhigh', 'v2021.2.0+4045'],
  ['McAfee', '6.0.6.653'],
  ['Malwarebytes', '4.5.5.54'],
  ['Zillya', '2.0.0.5000'],
  ['Sangfor', '2.23.0.0'],
  ['K7AntiVirus', '12.126.50603'],
  ['Alibaba', '0.3.0.5'],
  ['K7GW', '12.126.50604'],
  ['CrowdStrike', '1.0'],
  ['Arcabit', '2022.0.0.18'],
  ['Baidu', '1.0.0.2'],
  ['VirIT', '9.5.606'],
  ['Symantec', '1.21.0.0'],
  ['ESET-NOD32', '28391'],
  ['TrendMicro-HouseCall', '10.0.0.1040'],
  ['Avast', '23.9.8494.0'],
  ['Cynet', '4.0.0.27'],
  ['Kaspersky', '22.0.1.28'],
  ['BitDefender', '7.2'],
  ['NANO-Antivirus', '1.0.146.25908'],
  ['SUPERAntiSpyware', '5.6.0.1032'],
  ['Tencent', '1.0.0.1'],
  ['Emsisoft', '2022.6.0.32461'],
  ['F-Secure', '18.10.1547.307'],
  ['DrWeb', '7.0.61.8090'],
  ['VIPRE', '6.0.0.35'],
  ['TrendMicro', '11.0.0.1006'],
  ['Sophos', '2.4.3.0'],
  ['SentinelOne', '23.4.2.3'],
  ['Jiangmin', '16.0.100'],
  ['Google', '1701216043'],
  ['Avira', '8.3.3.16'],
  ['Antiy-AVL', '3.0'],
  ['Kingsoft', 'None'],
  ['Microsoft', '1.1.23110.2'],
  ['Xcitium', '36206'],
  ['GData', 'A:25.36870B:27.33682'],
  ['Varist', '6.5.1.2'],
  ['AhnLab-V3', '3.24.1.10477'],
  ['Acronis', '1.2.0.121'],
  ['VBA32', '5.0.0'],
  ['ALYac', '1.1.3.1'],
  ['MAX', '2023.1.4.1'],
  ['Panda', '4.6.4.2'],
  ['Zoner', '2.2.2.0'],
  ['Rising', '25.0.0.27'],
  ['Yandex', '5.5.2.24'],
  ['Ikarus', '6.2.4.0'],
  ['MaxSecure', '1.0.0.1'],
  ['Fortinet', 'None'],
  ['AVG', '23.9.8494.0'],
  ['Cybereason', '1.2.449'],
  ['DeepInstinct', '3.1.0.15'],
  ['Trapmine', '4.0.14.97'],
];

/** Blocklists and URL scanners that rate URLs, domains and IP addresses. */
const URL_ENGINES: readonly string[] = [
  'Bkav',
  'CMC Threat Intelligence',
  'Snort IP sample list',
  '0xSI_f33d',
  'ViriBack',
  'PhishLabs',
  'K7AntiVirus',
  'CINS Army',
  'Quttera',
  'PrecisionSec',
  'OpenPhish',
  'VX Vault',
  'ArcSight Threat Intelligence',
  'Scantitan',
  'AlienVault',
  'Sophos',
  'Phishtank',
  'Cyan',
  'Spam404',
  'SecureBrain',
  'CRDF',
  'Fortinet',
  'alphaMountain.ai',
  'Lionic',
  'Cyble',
  'Seclookup',
  'Xcitium Verdict Cloud',
  'Google Safebrowsing',
  'SafeToOpen',
  'ADMINUSLabs',
  'ESTsecurity',
  'Juniper Networks',
  'Heimdal Security',
  'AutoShun',
  'Trustwave',
  'AICC (MONITORAPP)',
  'CyRadar',
  'Dr.Web',
  'Emsisoft',
  'Abusix',
  'Webroot',
  'Avira',
  'securolytics',
  'Antiy-AVL',
  'AlphaSOC',
  'Acronis',
  'Quick Heal',
  'URLQuery',
  'Viettel Threat Intelligence',
  'DNS8',
  'benkow.cc',
  'EmergingThreats',
  'Chong Lua Dao',
  'Yandex Safebrowsing',
  'Lumu',
  'zvelo',
  'Kaspersky',
  'Segasec',
  'Sucuri SiteCheck',
  'desenmascara.me',
  'URLhaus',
  'PREBYTES',
  'StopForumSpam',
  'Blueliv',
];

/** Number of engines that rate files. */
export const FILE_ENGINE_COUNT = FILE_ENGINES.length;
/** Number of engines that rate URLs, domains and IP addresses. */
export const URL_ENGINE_COUNT = URL_ENGINES.length;

/** The order categories are handed out to engines. */
const FILE_CATEGORY_ORDER = [
  'malicious',
  'suspicious',
  'undetected',
  'harmless',
  'type-unsupported',
  'timeout',
  'confirmed-timeout',
  'failure',
];
const URL_CATEGORY_ORDER = ['malicious', 'suspicious', 'harmless', 'undetected', 'timeout'];

/** Malware-name styles of different vendors, as functions: no string replacement per engine and object. */
const MALWARE_NAME_FORMATS: ReadonlyArray<(family: string, n: number) => string> = [
  (_f, n) => `Trojan.GenericKD.${n}`,
  (f) => `Win32:${f}-A [Trj]`,
  (f) => `Trojan:Win32/${f}!ml`,
  (f, n) => `Gen:Variant.${f}.${n}`,
  (f) => `HEUR:Trojan.Win32.${f}.gen`,
  (f) => `W32/${f}.A!tr`,
  (f) => `Trojan.${f}`,
  (_f, n) => `Malware.AI.${n}`,
  (f, n) => `Trojan/Win32.${f}.C${n}`,
  (f, n) => `TR/${f}.${n}`,
];
const URL_MALICIOUS_RESULTS: readonly string[] = ['malicious', 'phishing', 'malware'];

function fileResult(category: string, engineIndex: number, family: string, familyNumber: number): string | null {
  if (category !== 'malicious' && category !== 'suspicious') return null;
  const format = MALWARE_NAME_FORMATS[(engineIndex + familyNumber) % MALWARE_NAME_FORMATS.length];
  return format === undefined ? `Trojan.${family}` : format(family, familyNumber);
}

function urlResult(category: string, engineIndex: number): string | null {
  switch (category) {
    case 'malicious':
      return URL_MALICIOUS_RESULTS[engineIndex % URL_MALICIOUS_RESULTS.length] ?? 'malicious';
    case 'suspicious':
      return 'suspicious';
    case 'harmless':
      return 'clean';
    case 'undetected':
      return 'unrated';
    default:
      return null;
  }
}

/** What {@link analysisResults} needs to know about the object besides its stats. */
export interface ResultsContext {
  /** Which engines: files get antivirus engines with versions, the others blocklists. */
  readonly files: boolean;
  /** Rotates which engines get which category, so objects differ. */
  readonly offset: number;
  /** Malware family named by file engines that detect it. */
  readonly family: string;
  readonly familyNumber: number;
  /** `YYYYMMDD` of the analysis, for `engine_update`. */
  readonly update: string;
}

/**
 * The JSON of each results map {@link analysisResults} made, written as the map was built. A synthetic
 * object's results are most of its body (about 60 engines), and serialising that many small objects per new
 * object dominated the cost of serving it; the maps are never mutated after they are made, so their JSON is
 * known up front.
 */
const GENERATED = new WeakMap<object, string>();

/** JSON of the short strings that repeat across objects (engine names, categories, versions, dates). */
const QUOTED = new Map<string, string>();

function quoted(text: string): string {
  let json = QUOTED.get(text);
  if (json === undefined) {
    json = JSON.stringify(text);
    // The set is small (engines × versions, categories, a few hundred dates); the bound is a safety net.
    if (QUOTED.size < 10_000) QUOTED.set(text, json);
  }
  return json;
}

/** `"name":{...}`: one results-map member, fields in VirusTotal's order whatever the entry's own order. */
function memberJson(name: string, entry: EngineResult): string {
  const version = entry.engine_version === undefined ? '' : `,"engine_version":${quoted(entry.engine_version)}`;
  const update = entry.engine_update === undefined ? '' : `,"engine_update":${quoted(entry.engine_update)}`;
  const result = entry.result === null ? 'null' : JSON.stringify(entry.result);
  // Built by join(), which makes one flat string: a template literal makes a rope, which every join of a
  // results map would walk again (it was most of a map's cost).
  return [
    quoted(name),
    ':{"category":',
    quoted(entry.category),
    ',"engine_name":',
    quoted(entry.engine_name),
    version,
    ',"result":',
    result,
    ',"method":',
    quoted(entry.method),
    update,
    '}',
  ].join('');
}

/** A results-map member with its JSON. */
interface Member {
  readonly name: string;
  readonly entry: EngineResult;
  readonly json: string;
}

/** A member; `shared` ones are frozen, as every map that lists them holds the same entry. */
function member(name: string, entry: EngineResult, shared: boolean): Member {
  return { name, entry: shared ? Object.freeze(entry) : entry, json: memberJson(name, entry) };
}

/**
 * Members that do not depend on the object, shared by every map (frozen, so sharing is safe): a URL engine's
 * verdict depends only on the engine and the category; a file engine's that names no malware only on the
 * engine, the category and the update date. Only detections (which name the object's family) are built per
 * object, so a new object costs a few small allocations instead of 60 entries and their serialisation.
 */
const URL_MEMBERS = new Map<string, Member[]>();
const FILE_MEMBERS = new Map<string, Member[]>();
/** Bounds the per-date tables (about 180 synthetic dates × a few categories); past it members are not kept. */
const SHARED_TABLE_LIMIT = 4_096;

function sharedTable(tables: Map<string, Member[]>, key: string): Member[] | undefined {
  let table = tables.get(key);
  if (table === undefined && tables.size < SHARED_TABLE_LIMIT) {
    table = [];
    tables.set(key, table);
  }
  return table;
}

function urlMember(category: string, index: number, table: Member[] | undefined): Member {
  let found = table?.[index];
  if (found === undefined) {
    const name = URL_ENGINES[index] ?? 'Unknown';
    found = member(
      name,
      { category, engine_name: name, method: 'blacklist', result: urlResult(category, index) },
      table !== undefined,
    );
    if (table !== undefined) table[index] = found;
  }
  return found;
}

/** The shared members of one category for one object (`undefined`: detections, built per object). */
function tableOf(category: string, context: ResultsContext): Member[] | undefined {
  if (!context.files) return sharedTable(URL_MEMBERS, category);
  if (category === 'malicious' || category === 'suspicious') return undefined;
  return sharedTable(FILE_MEMBERS, `${context.update}\u0000${category}`);
}

function fileMember(category: string, index: number, context: ResultsContext, table: Member[] | undefined): Member {
  let found = table?.[index];
  if (found === undefined) {
    const [name, version] = FILE_ENGINES[index] ?? ['Unknown', '1.0'];
    found = member(
      name,
      {
        category,
        engine_name: name,
        engine_version: version,
        result: fileResult(category, index, context.family, context.familyNumber),
        method: 'blacklist',
        engine_update: context.update,
      },
      table !== undefined,
    );
    if (table !== undefined) table[index] = found;
  }
  return found;
}

/** JSON of a results map: written when {@link analysisResults} made it, else (fixtures' own maps) generic. */
export function resultsJson(results: Record<string, EngineResult>): string {
  return GENERATED.get(results) ?? JSON.stringify(results);
}

/**
 * The `last_analysis_results` map that agrees with `stats`: each category is handed to as many engines as
 * the stats say, starting at a per-object offset. Stats that add up to fewer engines than exist leave the
 * others out (as when engines did not answer); more than exist is a fixture error the loader reports.
 * Entries may be shared between maps and are frozen: treat the map as read-only.
 */
export function analysisResults(stats: AnalysisStats, context: ResultsContext): Record<string, EngineResult> {
  const engineCount = context.files ? FILE_ENGINE_COUNT : URL_ENGINE_COUNT;
  const order = context.files ? FILE_CATEGORY_ORDER : URL_CATEGORY_ORDER;
  // Slot k (counted from the per-object offset) gets the k-th category in `order`, repeated as the stats say.
  const slots: string[] = [];
  for (const category of order) {
    const count = stats[category] ?? 0;
    for (let i = 0; i < count && slots.length < engineCount; i += 1) slots.push(category);
  }
  const offset = context.offset % engineCount;
  const results: Record<string, EngineResult> = {};
  const parts: string[] = [];
  // Looked up once per category and object, not per engine (by the category's place in `order`).
  const tables: Array<Member[] | undefined> = [];
  const looked: boolean[] = [];
  // Engines are listed in their own order, as VirusTotal does, not in the order categories were handed out.
  for (let index = 0; index < engineCount; index += 1) {
    const category = slots[(index - offset + engineCount) % engineCount];
    if (category === undefined) continue;
    const place = order.indexOf(category);
    if (looked[place] !== true) {
      tables[place] = tableOf(category, context);
      looked[place] = true;
    }
    const table = tables[place];
    const {
      name,
      entry,
      json: piece,
    } = context.files ? fileMember(category, index, context, table) : urlMember(category, index, table);
    results[name] = entry;
    parts.push(piece);
  }
  // join() writes one flat string; a chain of concatenations would be a rope that is walked again on use.
  GENERATED.set(results, `{${parts.join(',')}}`);
  return results;
}
