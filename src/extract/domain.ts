/**
 * Domain name rules, shared by extraction and screening: label syntax, the public-suffix test (tldts, ICANN
 * section only) and the file-name policy.
 */
import { createRequire } from 'node:module';
import { domainToASCII, domainToUnicode } from 'node:url';
import type * as Tldts from 'tldts';

// tldts is CommonJS: imported as an ES module, Node first scans its 200 KB bundle for export names, about 20 ms
// of every start (30 ms against 8 ms with require, measured here), which `extract` of a small file feels.
const { parse } = createRequire(import.meta.url)('tldts') as typeof Tldts;

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Names reserved for local or special use (RFC 6761, RFC 6762, ICANN's `.internal`): never a lookup-worthy domain,
 * alone or as the last label. `localhost` is rejected as "does not match expected pattern", as msticpy does.
 */
const SPECIAL_USE = new Set(['localhost', 'localdomain', 'local', 'internal', 'invalid', 'test', 'example']);

/**
 * What {@link publicDomainKind} says of a name: not a valid public domain, a public domain, a public domain whose
 * TLD is also a common file extension (see {@link FILE_EXTENSION_TLDS}), or one whose TLD is also a source-file
 * extension (see {@link SOURCE_FILE_TLDS}).
 */
export const DomainKind = { None: 0, Public: 1, FileExtensionTld: 2, SourceFileTld: 3 } as const;

/** One of the {@link DomainKind} values. */
export type DomainKind = (typeof DomainKind)[keyof typeof DomainKind];

/**
 * Memo of the kind per distinct lower-case name: tldts and the label checks are the hot calls on DNS-heavy
 * logs, where the same few thousand names repeat. Bounded, so memory does not grow with input size: it starts
 * over rather than grow past the bound. The file-extension test is memoised with it: extraction needs both.
 */
const kinds = new Map<string, DomainKind>();
const MAX_MEMO = 100_000;

const TLDTS_OPTIONS = { allowPrivateDomains: false, extractHostname: false, detectIp: false } as const;

/** tldts's answer for a name whose last dot is at `dot` and whose last label is not in {@link ICANN_LEAF_TLDS}. */
function hasIcannRegistrableDomain(name: string, dot: number, top: string): boolean {
  const known = underSecondLevelLeaf(name, dot, top);
  if (known !== undefined) return known;
  const parsed = parse(name, TLDTS_OPTIONS);
  return parsed.isIcann === true && parsed.domain !== null && parsed.publicSuffix !== null;
}

/**
 * Popular top-level domains that are an ICANN rule of the public-suffix list with no ICANN rule (nor exception)
 * under them in the installed tldts: the public suffix of every name that ends in one is that label.
 * test/extract/domain-tld.test.ts checks each against tldts's trie and fails when an upgrade puts a rule under one.
 */
export const ICANN_LEAF_TLDS: ReadonlySet<string> = new Set(
  (
    'com net org edu gov mil info biz name mobi xyz top site online store shop club live tech space website fun ' +
    'icu vip app dev ru su de nl eu ch dk tv cc nu tk cloud link click work life world today news blog email host ' +
    'page one art agency digital solutions network systems company center group services finance money win bid ' +
    'stream download review trade date party racing science loan men cyou sbs bond cfd rest buzz monster lol mom ' +
    'quest uno asia tokyo si md is lu li'
  ).split(' '),
);

/**
 * tldts's answer (an ICANN suffix with a registrable name under it) without tldts, for a name whose last label is
 * in {@link ICANN_LEAF_TLDS} or {@link ICANN_FLAT_TLDS}, or whose last two are in {@link ICANN_LEAF_SECOND_LEVEL}:
 * the suffix is then known from those labels, so the name has a registrable domain exactly when a character other
 * than a dot comes before the suffix's dot (tldts skips leading dots). Undefined for other names.
 * Issue 12: tldts's parse (an options object, a result object and three slices a call) was most of the
 * public-suffix test of a URL's host; this label test is one Set lookup.
 */
function underIcannLeaf(name: string): boolean | undefined {
  const dot = lastDot(name, name.length - 1);
  if (dot <= 0) return undefined;
  const top = name.slice(dot + 1);
  if (ICANN_LEAF_TLDS.has(top)) return hasLabelBefore(name, dot);
  return underSecondLevelLeaf(name, dot, top);
}

/** {@link underIcannLeaf}'s second-level half, for a name whose last dot is at `dot` and last label is `top`. */
function underSecondLevelLeaf(name: string, dot: number, top: string): boolean | undefined {
  const second = lastDot(name, dot - 1);
  const rules = ICANN_FLAT_TLDS.get(top);
  if (rules !== undefined) {
    // The suffix is the last two labels when they are a rule, else the last label alone.
    if (!rules.has(name.slice(second + 1, dot))) return hasLabelBefore(name, dot);
    return second > 0 && hasLabelBefore(name, second);
  }
  if (second <= 0 || !ICANN_LEAF_SECOND_LEVEL.has(name.slice(second + 1))) return undefined;
  return hasLabelBefore(name, second);
}

/**
 * `name.lastIndexOf('.', from)` for `from` below the name's length, as a loop: V8 runs lastIndexOf in its runtime, a
 * call that cost three times this loop over a name's last labels, twice for every distinct URL host and domain
 * name (issue 12).
 */
function lastDot(name: string, from: number): number {
  for (let index = from; index >= 0; index -= 1) {
    if (name.charCodeAt(index) === DOT) return index;
  }
  return -1;
}

/** True when a character other than a dot comes before `dot` (tldts skips leading dots). */
function hasLabelBefore(name: string, dot: number): boolean {
  for (let index = 0; index < dot; index += 1) if (name.charCodeAt(index) !== DOT) return true;
  return false;
}

/**
 * Popular second-level ICANN rules (`co.uk`, `com.br`) with no ICANN rule, wildcard or exception under them in the
 * installed tldts: the public suffix of every name that ends in one is that rule, as {@link ICANN_LEAF_TLDS} are
 * for top-level labels. test/extract/domain-tld.test.ts checks each against tldts's trie. A name under one is
 * tested without tldts's parse: 400-620 ns a name with it, about 90 ns without (issue 12: the all-unique benchmark
 * has 50,000 distinct names and URL hosts under uk, br, cn and io).
 */
export const ICANN_LEAF_SECOND_LEVEL: ReadonlySet<string> = new Set(
  (
    'co.uk org.uk ac.uk gov.uk me.uk ltd.uk plc.uk net.uk com.br net.br org.br com.au net.au org.au co.jp ne.jp ' +
    'or.jp ac.jp co.za org.za co.nz org.nz co.kr com.tr com.mx com.ar com.co co.id com.tw com.hk com.sg com.my ' +
    'co.il com.ua com.pl com.vn com.pk com.ng com.eg com.sa com.ph com.gr co.th'
  ).split(' '),
);

/**
 * Popular top-level domains that are an ICANN rule and whose ICANN rules beneath are all second-level, each with no
 * ICANN rule, wildcard or exception under it (private rules do not count: tldts is asked without them), with those
 * second-level labels: the suffix of a name under one is its last two labels when they are one of its rules, else
 * its last label. test/extract/domain-tld.test.ts checks each label set against tldts's trie, both ways. Issue 12:
 * names under io and cn were the only ones still parsed by tldts in the benchmark's corpora (25,000 in the
 * all-unique one, 16,000 in the mixed one).
 */
export const ICANN_FLAT_TLDS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries({
    io: 'co com edu gov mil net nom org',
    cn:
      'ac ah bj com cq edu fj gd gov gs gx gz ha hb he hi hk hl hn jl js jx ln mil mo net nm nx org qh sc sd sh sn ' +
      'sx tj tw xj xn--55qx5d xn--io0a7i xn--od0alg xz yn zj 公司 網絡 网络',
    in:
      '5g 6g ac aero ai alumni am bank bihar biz business ca cn co com coop cs delhi dr edu er fin firm gen gov ' +
      'gujarat ind info int internet io me mil net nic org pg post pro res school travel tv ub uk up us',
  }).map(([top, labels]) => [top, new Set(labels.split(' '))]),
);

/**
 * True when a lower-case host name (a URL's) ends in an ICANN public suffix under a registrable name: the test
 * of {@link isPublicDomain} without its label syntax, which URLs' hosts do not always keep (`my_host.evil.com`).
 */
export function hasPublicSuffix(name: string): boolean {
  // No memo: measured, URL hosts repeat too little for one to pay for its hashing and garbage.
  const known = underIcannLeaf(name);
  if (known !== undefined) return known;
  const parsed = parse(name, URL_HOST_OPTIONS);
  return parsed.isIcann === true && parsed.domain !== null;
}

/** tldts without its host-name validation: a URL's host is already split out, and this runs once per URL. */
const URL_HOST_OPTIONS = { ...TLDTS_OPTIONS, validateHostname: false, mixedInputs: false } as const;

/** True when a single lower-case label is a valid host name label (letters, digits, inner hyphens, ≤ 63). */
export function isValidLabel(label: string): boolean {
  return LABEL.test(label);
}

/** True for a dot-less name that is reserved for local use (`localhost`, …). */
export function isSpecialUseName(label: string): boolean {
  return SPECIAL_USE.has(label);
}

/**
 * True when a lower-case name is a valid public domain: ≤ 253 characters, every label valid, the last label not
 * numeric, and a registrable domain under an ICANN public suffix (`evil.com`, `a.co.uk`; not `co.uk`,
 * `example.local`, `a.b`).
 */
export function isPublicDomain(name: string): boolean {
  return publicDomainKind(name) !== DomainKind.None;
}

/** {@link isPublicDomain}, telling apart the names whose TLD is also a file extension. */
export function publicDomainKind(name: string): DomainKind {
  const known = kinds.get(name);
  if (known !== undefined) return known;
  const kind = domainKindOf(name);
  if (kinds.size >= MAX_MEMO) kinds.clear();
  // Stored as a copy: `name` is often a slice of an input line, which the memo would otherwise keep alive.
  kinds.set(` ${name}`.slice(1), kind);
  return kind;
}

/** {@link publicDomainKind} without its memo, for a caller that keeps its own (the native engine). */
export function domainKindOf(name: string): DomainKind {
  if (!hasDomainSyntax(name)) return DomainKind.None;
  // The last label, found and sliced once for the three sets and the suffix test. Under a leaf TLD the name has a
  // registrable domain: the syntax test leaves no empty label before the TLD (underIcannLeaf's answer, unasked).
  const dot = lastDot(name, name.length - 1);
  const top = name.slice(dot + 1);
  if (!ICANN_LEAF_TLDS.has(top) && !hasIcannRegistrableDomain(name, dot, top)) return DomainKind.None;
  if (FILE_EXTENSION_TLDS.has(top)) return DomainKind.FileExtensionTld;
  return SOURCE_FILE_TLDS.has(top) ? DomainKind.SourceFileTld : DomainKind.Public;
}

/**
 * Top-level labels with ICANN rules under them but no rule of their own (`co.za` and `ac.za` are rules, `za` is not):
 * `x.za` is no ICANN name while `evil.co.za` is one. test/extract/domain-tld.test.ts finds every such label in the
 * installed tldts and fails when one is missing here.
 */
const TLDS_WITHOUT_OWN_RULE: ReadonlySet<string> = new Set(['za']);

/**
 * False when no name whose last label is `label` can have an ICANN registrable domain, so that
 * {@link domainKindOf} is None for every such name: the native engine asks this once per last label (about a
 * thousand in 50 MB of logs) rather than once per name (97,000, most of them `report.pdf` or `287.93ms`).
 * tldts finds no ICANN rule for a name unless its last label leads to one; `x.<label>` tells whether the label is
 * a rule (or `*.<label>` is), and {@link TLDS_WITHOUT_OWN_RULE} lists the labels that only lead to deeper rules.
 */
export function tldMayBeIcann(label: string): boolean {
  return TLDS_WITHOUT_OWN_RULE.has(label) || parse(`x.${label}`, TLDTS_OPTIONS).isIcann === true;
}

const DOT = 46;
const HYPHEN = 45;

/**
 * The syntax half of {@link isPublicDomain}: 3 to 253 characters, at least two labels, every label valid ({@link
 * LABEL}: letters, digits and inner hyphens, 1 to 63 of them) and the last one not all digits. One pass over the
 * characters, where splitting and a regular expression per label cost more than the public-suffix test after it
 * (test/screen-fast-paths.test.ts compares it with those rules on random names).
 */
export function hasDomainSyntax(name: string): boolean {
  if (name.length > 253 || name.length < 3) return false;
  let labelStart = 0;
  let dots = 0;
  let digitsOnly = true;
  for (let index = 0; index <= name.length; index += 1) {
    const code = index < name.length ? name.charCodeAt(index) : DOT;
    if (code === DOT) {
      const length = index - labelStart;
      if (length === 0 || length > 63) return false;
      if (name.charCodeAt(labelStart) === HYPHEN || name.charCodeAt(index - 1) === HYPHEN) return false;
      if (index === name.length) break;
      dots += 1;
      labelStart = index + 1;
      digitsOnly = true;
    } else if ((code >= 97 && code <= 122) || code === HYPHEN) {
      digitsOnly = false;
    } else if (code < 48 || code > 57) {
      return false;
    }
  }
  return dots > 0 && !digitsOnly;
}

/**
 * File-name policy. These TLDs are far more often file extensions in logs than domains (`invoice.zip`,
 * `readme.md`, `script.py`, `Safari.app`, `oem1.cat`, `notes.one`, `id_rsa.pub`, `lib.so`). Extraction accepts a
 * name ending in one of them only when a hint says it is a host:
 * - the text was defanged (`invoice[.]zip`: nobody defangs a file name),
 * - it starts with `www.`,
 * - a port follows (`evil.zip:443`),
 * - or it is a URL's host (the scheme says so).
 * Screening of pre-typed values does not apply the policy: the user said it is a domain. Popular real TLDs that
 * double as extensions (`.pl`, `.ai`, `.cc`, `.me`) are deliberately left out: missing real domains costs more.
 */
const FILE_EXTENSION_TLDS: ReadonlySet<string> = new Set([
  'app',
  'cab',
  'cat',
  'download',
  'md',
  'mk',
  'mo',
  'mov',
  'nc',
  'one',
  'pm',
  'ps',
  'pub',
  'py',
  'rs',
  'run',
  'sh',
  'so',
  'sv',
  'tf',
  'zip',
]);

/**
 * Second file-name policy, by context. These TLDs have too many real domains to need a hint as
 * {@link FILE_EXTENSION_TLDS} do (`.in`, `.pl`, `.cc`, `.la`), but they are also source-file and build-file
 * extensions (`main.cc`, `Makefile.in`, `libfoo.la`, `configure.ac`, `Makefile.am`, `lib.pl`, `parser.ml`,
 * `view.mm`, `app.pro`). Extraction takes such a name for a file name, when nothing says it is a host (not defanged,
 * no `www.`, no port), in two contexts: right after a path separator (`src/main.cc`, `C:\build\Makefile.in`), or as
 * a command-line argument next to an option (the token before or after it starts with `-`: `gcc -c main.cc`,
 * `-o libfoo.la`). Anywhere else (`evil.cc` in a sentence) it is a domain.
 */
const SOURCE_FILE_TLDS: ReadonlySet<string> = new Set(['ac', 'am', 'as', 'cc', 'in', 'la', 'ml', 'mm', 'pl', 'pro']);

/**
 * The ASCII (punycode) form of a host name, lower case, as VirusTotal knows it (`bücher.de` → `xn--bcher-kva.de`,
 * with node:url's IDNA, the WHATWG URL rules); null when the name cannot be one. An ASCII name is only
 * lower-cased.
 */
export function asciiHostName(name: string): string | null {
  let ascii = true;
  for (let index = 0; index < name.length; index += 1) {
    if (name.charCodeAt(index) >= 128) {
      ascii = false;
      break;
    }
  }
  if (ascii) return name.toLowerCase();
  const converted = domainToASCII(name);
  return converted === '' ? null : converted;
}

/**
 * Scripts whose letters can be told apart by a regular expression's property escapes; a letter of none of them
 * counts as a script of its own (`other`).
 */
const SCRIPTS: ReadonlyArray<readonly [string, RegExp]> = [
  ['Latin', /\p{Script=Latin}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Armenian', /\p{Script=Armenian}/u],
  ['Georgian', /\p{Script=Georgian}/u],
  ['Hebrew', /\p{Script=Hebrew}/u],
  ['Arabic', /\p{Script=Arabic}/u],
  ['Cherokee', /\p{Script=Cherokee}/u],
  ['Han', /\p{Script=Han}/u],
  ['Hiragana', /\p{Script=Hiragana}/u],
  ['Katakana', /\p{Script=Katakana}/u],
  ['Hangul', /\p{Script=Hangul}/u],
  ['Bopomofo', /\p{Script=Bopomofo}/u],
];

/** Script sets that are one writing system, not a mix (Unicode TS 39's "highly restrictive" combinations). */
const SINGLE_SYSTEMS: ReadonlyArray<ReadonlySet<string>> = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

const LETTER = /\p{L}/u;

/**
 * True when an internationalised (punycode) name mixes scripts: its letters, over all its labels, come from more
 * than one writing system, as a Cyrillic `а` in `paypаl.com` (`xn--paypl-7ve.com`) or a Cyrillic label under
 * `.com`. Such names are lookalikes of the names their Latin letters spell; they are still looked up, with a
 * `Lookalike` note. Names in one script (`bücher.de`, `пример.рф`) are not. Whole-script confusables
 * (`аррӏе.рф`, all Cyrillic) are not detected.
 */
export function isLookalike(asciiName: string): boolean {
  if (!asciiName.includes('xn--')) return false;
  const scripts = new Set<string>();
  for (const char of domainToUnicode(asciiName)) {
    if (char.charCodeAt(0) < 128) {
      if ((char >= 'a' && char <= 'z') || (char >= 'A' && char <= 'Z')) scripts.add('Latin');
      continue;
    }
    if (!LETTER.test(char)) continue;
    scripts.add(SCRIPTS.find(([, pattern]) => pattern.test(char))?.[0] ?? 'other');
  }
  if (scripts.size < 2) return false;
  return !SINGLE_SYSTEMS.some((system) => [...scripts].every((script) => system.has(script)));
}
