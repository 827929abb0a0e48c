/**
 * Domain name rules, shared by extraction and screening: label syntax, the public-suffix test (tldts, ICANN
 * section only) and the file-name policy.
 */
import { createRequire } from 'node:module';
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
 * What {@link publicDomainKind} says of a name: not a valid public domain, a public domain, or a public domain whose
 * TLD is also a common file extension (see {@link FILE_EXTENSION_TLDS}).
 */
export const DomainKind = { None: 0, Public: 1, FileExtensionTld: 2 } as const;

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

function hasIcannRegistrableDomain(name: string): boolean {
  const parsed = parse(name, TLDTS_OPTIONS);
  return parsed.isIcann === true && parsed.domain !== null && parsed.publicSuffix !== null;
}

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
  if (!computePublicDomain(name)) return DomainKind.None;
  return FILE_EXTENSION_TLDS.has(topLabel(name)) ? DomainKind.FileExtensionTld : DomainKind.Public;
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

function computePublicDomain(name: string): boolean {
  if (name.length > 253 || name.length < 3) return false;
  const labels = name.split('.');
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label))) return false;
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return false;
  return hasIcannRegistrableDomain(name);
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
export const FILE_EXTENSION_TLDS: ReadonlySet<string> = new Set([
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

/** The last label of a dotted name. */
export function topLabel(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}
