/**
 * A validator for the STIX 2.1 objects ioc-enrich emits, written from the specification (STIX Version 2.1, OASIS
 * Standard, sections 3 (common properties), 4.7 (identity), 4.8 (indicator), 5 (relationship, sighting), 6 (SCOs:
 * domain-name, file, ipv4-addr, ipv6-addr, url), 7.2 (marking-definition), 8 (bundle), 9 (patterning)) and the
 * rules of the OASIS cti-stix2-json-schemas for the same types, plus the TLP 2.0 extension's marking definitions.
 * It returns every problem found, so a failing test says what is wrong.
 */

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}';
const IDENTIFIER = new RegExp(`^([a-z][a-z0-9-]+[a-z0-9])--(${UUID})$`);
/** RFC 3339, UTC ("Z"), as section 3.2 requires. */
const TIMESTAMP = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?Z$/;
/** created/modified: at least millisecond precision (section 3.2). */
const TIMESTAMP_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3,}Z$/;
/** Property names (section 3.1): a-z, 0-9, underscore, 3 to 250 characters ("id" is the one shorter). */
const PROPERTY_NAME = /^([a-z0-9_]{3,250}|id)$/;
const TYPE_NAME = /^(?!.*--)[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$/;
const HASH_VALUE: Readonly<Record<string, RegExp>> = {
  MD5: /^[a-fA-F0-9]{32}$/,
  'SHA-1': /^[a-fA-F0-9]{40}$/,
  'SHA-256': /^[a-fA-F0-9]{64}$/,
  'SHA-512': /^[a-fA-F0-9]{128}$/,
};
const EXTENSION_TYPES = ['new-sdo', 'new-sco', 'new-sro', 'property-extension', 'toplevel-property-extension'];
const IDENTITY_CLASSES = ['individual', 'group', 'system', 'organization', 'class', 'unknown'];
const INDICATOR_TYPES = [
  'anomalous-activity',
  'anonymization',
  'benign',
  'compromised',
  'malicious-activity',
  'attribution',
  'unknown',
];
const PATTERN_TYPES = ['stix', 'pcre', 'sigma', 'snort', 'suricata', 'yara'];
const SDO_SRO = new Set(['identity', 'indicator', 'relationship', 'sighting']);
const SCO = new Set(['domain-name', 'file', 'ipv4-addr', 'ipv6-addr', 'url']);

type Json = Record<string, unknown>;

class Problems {
  readonly list: string[] = [];
  constructor(readonly where: string) {}
  add(problem: string): void {
    this.list.push(`${this.where}: ${problem}`);
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkId(problems: Problems, name: string, value: unknown, type?: string | readonly string[]): void {
  const match = typeof value === 'string' ? IDENTIFIER.exec(value) : null;
  if (match === null) return problems.add(`${name} is not an identifier: ${JSON.stringify(value)}`);
  const types = type === undefined ? undefined : typeof type === 'string' ? [type] : type;
  if (types !== undefined && !types.includes(match[1] as string)) {
    problems.add(`${name} must reference ${types.join(' or ')}, got ${String(value)}`);
  }
}

function checkTimestamp(problems: Problems, name: string, value: unknown, millis = false): void {
  if (typeof value !== 'string' || !TIMESTAMP.test(value) || Number.isNaN(Date.parse(value))) {
    problems.add(`${name} is not an RFC 3339 UTC timestamp: ${JSON.stringify(value)}`);
  } else if (millis && !TIMESTAMP_MILLIS.test(value)) {
    problems.add(`${name} needs millisecond precision: ${value}`);
  }
}

function checkStringList(problems: Problems, name: string, value: unknown, vocabulary?: readonly string[]): void {
  if (!Array.isArray(value) || value.length === 0) return problems.add(`${name} must be a non-empty list`);
  for (const item of value) {
    if (typeof item !== 'string' || item === '') problems.add(`${name} holds a non-string or empty item`);
    else if (vocabulary !== undefined && !vocabulary.includes(item)) problems.add(`${name}: ${item} not in vocabulary`);
  }
}

function checkRequired(problems: Problems, object: Json, names: readonly string[]): void {
  for (const name of names) if (!Object.hasOwn(object, name)) problems.add(`missing required property ${name}`);
}

/** Section 3.1 and the schemas' common rules: names, no nulls, no empty lists. */
function checkProperties(problems: Problems, object: Json, path = ''): void {
  for (const [name, value] of Object.entries(object)) {
    if (path === '' && !PROPERTY_NAME.test(name)) problems.add(`property name ${name} is not allowed`);
    if (value === null) problems.add(`${path}${name} is null`);
    if (Array.isArray(value) && value.length === 0) problems.add(`${path}${name} is an empty list`);
  }
}

function checkCommon(problems: Problems, object: Json): void {
  checkProperties(problems, object);
  const type = object['type'];
  if (typeof type !== 'string' || !TYPE_NAME.test(type)) problems.add(`bad type ${JSON.stringify(type)}`);
  checkId(problems, 'id', object['id'], typeof type === 'string' ? type : undefined);
  if (object['spec_version'] !== '2.1') problems.add('spec_version must be "2.1"');
  if (object['created_by_ref'] !== undefined) checkId(problems, 'created_by_ref', object['created_by_ref'], 'identity');
  if (object['object_marking_refs'] !== undefined) {
    const refs = object['object_marking_refs'];
    if (!Array.isArray(refs) || refs.length === 0) problems.add('object_marking_refs must be a non-empty list');
    else for (const ref of refs) checkId(problems, 'object_marking_refs', ref, 'marking-definition');
  }
  if (object['labels'] !== undefined) checkStringList(problems, 'labels', object['labels']);
  if (object['confidence'] !== undefined) {
    const confidence = object['confidence'];
    if (!Number.isInteger(confidence) || (confidence as number) < 0 || (confidence as number) > 100) {
      problems.add(`confidence must be an integer 0-100, got ${JSON.stringify(confidence)}`);
    }
  }
  const references = object['external_references'];
  if (references !== undefined) {
    if (!Array.isArray(references) || references.length === 0) problems.add('external_references must be a list');
    else {
      for (const reference of references) {
        if (!isObject(reference) || typeof reference['source_name'] !== 'string') {
          problems.add('an external reference needs source_name');
          continue;
        }
        if (
          reference['description'] === undefined &&
          reference['url'] === undefined &&
          reference['external_id'] === undefined
        ) {
          problems.add('an external reference needs description, url or external_id');
        }
        if (reference['url'] !== undefined && !isUri(reference['url']))
          problems.add('external reference url is no URI');
      }
    }
  }
}

function checkSdoTimes(problems: Problems, object: Json): void {
  checkRequired(problems, object, ['created', 'modified']);
  checkTimestamp(problems, 'created', object['created'], true);
  checkTimestamp(problems, 'modified', object['modified'], true);
  if (typeof object['created'] === 'string' && typeof object['modified'] === 'string') {
    if (Date.parse(object['modified']) < Date.parse(object['created'])) problems.add('modified is before created');
  }
}

function isUri(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

const VALIDATORS: Readonly<Record<string, (problems: Problems, object: Json) => void>> = {
  identity(problems, object) {
    checkSdoTimes(problems, object);
    checkRequired(problems, object, ['name']);
    if (typeof object['name'] !== 'string') problems.add('name must be a string');
    if (object['identity_class'] !== undefined && !IDENTITY_CLASSES.includes(object['identity_class'] as string)) {
      problems.add(`identity_class ${JSON.stringify(object['identity_class'])} not in identity-class-ov`);
    }
  },
  indicator(problems, object) {
    checkSdoTimes(problems, object);
    checkRequired(problems, object, ['pattern', 'pattern_type', 'valid_from']);
    if (typeof object['pattern'] !== 'string') problems.add('pattern must be a string');
    if (!PATTERN_TYPES.includes(object['pattern_type'] as string)) problems.add('pattern_type not in pattern-type-ov');
    if (object['indicator_types'] !== undefined) {
      checkStringList(problems, 'indicator_types', object['indicator_types'], INDICATOR_TYPES);
    }
    checkTimestamp(problems, 'valid_from', object['valid_from']);
    if (object['valid_until'] !== undefined) {
      checkTimestamp(problems, 'valid_until', object['valid_until']);
      if (Date.parse(object['valid_until'] as string) <= Date.parse(object['valid_from'] as string)) {
        problems.add('valid_until must be later than valid_from');
      }
    }
    if (object['pattern_type'] === 'stix') {
      for (const problem of checkPattern(String(object['pattern']))) problems.add(`pattern: ${problem}`);
    }
  },
  relationship(problems, object) {
    checkSdoTimes(problems, object);
    checkRequired(problems, object, ['relationship_type', 'source_ref', 'target_ref']);
    if (typeof object['relationship_type'] !== 'string' || !/^[a-z0-9-]+$/.test(object['relationship_type'])) {
      problems.add('relationship_type must be lower-case letters, digits and hyphens');
    }
    checkId(problems, 'source_ref', object['source_ref']);
    checkId(problems, 'target_ref', object['target_ref']);
  },
  sighting(problems, object) {
    checkSdoTimes(problems, object);
    checkRequired(problems, object, ['sighting_of_ref']);
    checkId(problems, 'sighting_of_ref', object['sighting_of_ref']);
    const count = object['count'];
    if (count !== undefined && (!Number.isInteger(count) || (count as number) < 0 || (count as number) > 999_999_999)) {
      problems.add('count must be an integer 0-999999999');
    }
    if (object['first_seen'] !== undefined) checkTimestamp(problems, 'first_seen', object['first_seen']);
    if (object['last_seen'] !== undefined) checkTimestamp(problems, 'last_seen', object['last_seen']);
    if (Date.parse(object['last_seen'] as string) < Date.parse(object['first_seen'] as string)) {
      problems.add('last_seen is before first_seen');
    }
    const where = object['where_sighted_refs'];
    if (where !== undefined) {
      if (!Array.isArray(where) || where.length === 0) problems.add('where_sighted_refs must be a non-empty list');
      else for (const ref of where) checkId(problems, 'where_sighted_refs', ref, ['identity', 'location']);
    }
  },
  'marking-definition'(problems, object) {
    checkRequired(problems, object, ['created']);
    checkTimestamp(problems, 'created', object['created'], true);
    const extensions = object['extensions'];
    if (extensions === undefined) {
      checkRequired(problems, object, ['definition_type', 'definition']);
      return;
    }
    if (!isObject(extensions)) return problems.add('extensions must be a dictionary');
    for (const [key, extension] of Object.entries(extensions)) {
      checkId(problems, 'extensions key', key, 'extension-definition');
      if (!isObject(extension) || !EXTENSION_TYPES.includes(extension['extension_type'] as string)) {
        problems.add(`extension ${key} needs a valid extension_type`);
      }
    }
  },
  'ipv4-addr'(problems, object) {
    checkRequired(problems, object, ['value']);
    if (typeof object['value'] !== 'string' || !/^(\d{1,3})(\.\d{1,3}){3}(\/\d{1,2})?$/.test(object['value'])) {
      problems.add('value must be an IPv4 address');
    }
  },
  'ipv6-addr'(problems, object) {
    checkRequired(problems, object, ['value']);
    if (typeof object['value'] !== 'string' || !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(object['value'])) {
      problems.add('value must be an IPv6 address');
    }
  },
  'domain-name'(problems, object) {
    checkRequired(problems, object, ['value']);
    if (typeof object['value'] !== 'string' || object['value'] === '') problems.add('value must be a domain name');
  },
  url(problems, object) {
    checkRequired(problems, object, ['value']);
    if (!isUri(object['value'])) problems.add('value must be a URL');
  },
  file(problems, object) {
    if (object['hashes'] === undefined && object['name'] === undefined) problems.add('file needs hashes or name');
    const hashes = object['hashes'];
    if (hashes !== undefined) {
      if (!isObject(hashes) || Object.keys(hashes).length === 0) return problems.add('hashes must be a dictionary');
      for (const [algorithm, value] of Object.entries(hashes)) {
        const shape = HASH_VALUE[algorithm];
        if (shape === undefined) problems.add(`hash algorithm ${algorithm} not in hash-algorithm-ov`);
        else if (typeof value !== 'string' || !shape.test(value)) problems.add(`${algorithm} value is malformed`);
      }
    }
  },
};

/** The problems of one STIX object ([] when it is valid). */
export function validateStixObject(object: unknown): string[] {
  if (!isObject(object)) return ['not an object'];
  const type = String(object['type']);
  const problems = new Problems(`${type} ${String(object['id'])}`);
  const validate = VALIDATORS[type];
  if (validate === undefined) return [`${type}: not a type ioc-enrich emits`];
  checkCommon(problems, object);
  if (SCO.has(type)) {
    for (const name of ['created', 'modified', 'created_by_ref']) {
      if (Object.hasOwn(object, name)) problems.add(`an SCO has no ${name}`);
    }
  }
  validate(problems, object);
  return problems.list;
}

/** The problems of a bundle: its own shape, every object, and references to objects it does not hold. */
export function validateBundle(bundle: unknown): string[] {
  if (!isObject(bundle)) return ['the bundle is not an object'];
  const problems = new Problems('bundle');
  if (bundle['type'] !== 'bundle') problems.add('type must be "bundle"');
  checkId(problems, 'id', bundle['id'], 'bundle');
  if (Object.hasOwn(bundle, 'spec_version')) problems.add('a STIX 2.1 bundle has no spec_version');
  const objects = bundle['objects'];
  if (!Array.isArray(objects) || objects.length === 0) return [...problems.list, 'objects must be a non-empty list'];
  const ids = new Set<string>();
  for (const object of objects) {
    problems.list.push(...validateStixObject(object));
    const id = isObject(object) ? String(object['id']) : '';
    if (ids.has(id)) problems.add(`duplicate id ${id}`);
    ids.add(id);
  }
  for (const object of objects as Json[]) {
    const refs = [
      object['created_by_ref'],
      object['source_ref'],
      object['target_ref'],
      object['sighting_of_ref'],
      ...((object['object_marking_refs'] as unknown[] | undefined) ?? []),
      ...((object['where_sighted_refs'] as unknown[] | undefined) ?? []),
    ].filter((ref): ref is string => typeof ref === 'string');
    for (const ref of refs)
      if (!ids.has(ref)) problems.add(`${String(object['id'])} references ${ref}, not in the bundle`);
    if (SDO_SRO.has(String(object['type'])) && object['sighting_of_ref'] !== undefined) {
      if (SCO.has(JSON.stringify(object['sighting_of_ref']).slice(1).split('--')[0] ?? ''))
        problems.add('a sighting is of an SDO');
    }
  }
  return problems.list;
}

// ---- Patterning (STIX 2.1 section 9, the ANTLR grammar STIXPattern.g4) ----

type Token = { kind: string; text: string };

const KEYWORDS = new Set([
  'AND',
  'OR',
  'NOT',
  'FOLLOWEDBY',
  'LIKE',
  'MATCHES',
  'ISSUPERSET',
  'ISSUBSET',
  'IN',
  'START',
  'STOP',
  'WITHIN',
  'REPEATS',
  'TIMES',
  'SECONDS',
  'LAST',
  'true',
  'false',
]);

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < pattern.length) {
    const char = pattern[at] as string;
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    if (char === "'") {
      // StringLiteral: QUOTE ( ~['\\] | '\\\'' | '\\\\' )* QUOTE
      let value = '';
      at++;
      for (;;) {
        if (at >= pattern.length) throw new Error('unterminated string literal');
        const c = pattern[at] as string;
        if (c === "'") break;
        if (c === '\\') {
          const next = pattern[at + 1];
          if (next !== "'" && next !== '\\') throw new Error(`bad escape \\${String(next)} in a string literal`);
          value += next;
          at += 2;
          continue;
        }
        value += c;
        at++;
      }
      at++;
      tokens.push({ kind: 'string', text: value });
      continue;
    }
    const two = pattern.slice(at, at + 2);
    if (['!=', '<>', '<=', '>='].includes(two)) {
      tokens.push({ kind: 'op', text: two });
      at += 2;
      continue;
    }
    if ('[]():.=<>,'.includes(char)) {
      tokens.push({ kind: char === '=' || char === '<' || char === '>' ? 'op' : char, text: char });
      at++;
      continue;
    }
    const word = /^[A-Za-z0-9_-]+/.exec(pattern.slice(at));
    if (word === null) throw new Error(`unexpected character ${char}`);
    tokens.push({ kind: KEYWORDS.has(word[0]) ? word[0] : 'word', text: word[0] });
    at += word[0].length;
  }
  return tokens;
}

/** A comparison found in a pattern: object type, property path, operator and literal. */
export interface PatternComparison {
  readonly objectType: string;
  readonly path: readonly string[];
  readonly operator: string;
  readonly value: string;
}

/** Parses a STIX pattern; throws on a syntax error. Returns its comparisons. */
export function parsePattern(pattern: string): PatternComparison[] {
  const tokens = tokenize(pattern);
  let at = 0;
  const comparisons: PatternComparison[] = [];
  const peek = (): Token | undefined => tokens[at];
  const take = (kind: string): Token => {
    const token = tokens[at];
    if (token?.kind !== kind) throw new Error(`expected ${kind} at token ${at}, got ${token?.text ?? 'the end'}`);
    at++;
    return token;
  };
  const observationExpressions = (): void => {
    observation();
    while (peek()?.kind === 'AND' || peek()?.kind === 'OR' || peek()?.kind === 'FOLLOWEDBY') {
      at++;
      observation();
    }
  };
  const observation = (): void => {
    if (peek()?.kind === '(') {
      at++;
      observationExpressions();
      take(')');
      return;
    }
    take('[');
    comparisonExpression();
    take(']');
  };
  const comparisonExpression = (): void => {
    comparisonTerm();
    while (peek()?.kind === 'AND' || peek()?.kind === 'OR') {
      at++;
      comparisonTerm();
    }
  };
  const comparisonTerm = (): void => {
    if (peek()?.kind === '(') {
      at++;
      comparisonExpression();
      take(')');
      return;
    }
    // objectPath: objectType ':' firstPathComponent objectPathComponent?
    const objectType = take('word').text;
    if (!/^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(objectType)) throw new Error(`bad object type ${objectType}`);
    take(':');
    const path: string[] = [];
    const component = (): void => {
      const token = peek();
      if (token?.kind === 'string') path.push(take('string').text);
      else {
        const word = take('word').text;
        // IdentifierWithoutHyphen
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(word)) throw new Error(`bad path component ${word}`);
        path.push(word);
      }
    };
    component();
    while (peek()?.kind === '.') {
      at++;
      component();
    }
    if (peek()?.kind === 'NOT') at++;
    const operator = peek();
    if (
      operator === undefined ||
      !(operator.kind === 'op' || ['LIKE', 'MATCHES', 'ISSUBSET', 'ISSUPERSET'].includes(operator.kind))
    ) {
      throw new Error(`expected a comparison operator after ${objectType}:${path.join('.')}`);
    }
    at++;
    const literal = take('string');
    comparisons.push({ objectType, path, operator: operator.text, value: literal.text });
  };
  observationExpressions();
  if (at !== tokens.length) throw new Error(`unexpected ${tokens[at]?.text ?? ''} after the pattern`);
  return comparisons;
}

/** Object paths the patterns may use, per SCO type (properties from section 6). */
const PATTERN_PATHS: Readonly<Record<string, (path: readonly string[]) => boolean>> = {
  'ipv4-addr': (path) => path.length === 1 && path[0] === 'value',
  'ipv6-addr': (path) => path.length === 1 && path[0] === 'value',
  'domain-name': (path) => path.length === 1 && path[0] === 'value',
  url: (path) => path.length === 1 && path[0] === 'value',
  file: (path) => path.length === 2 && path[0] === 'hashes' && HASH_VALUE[path[1] as string] !== undefined,
};

/** The problems of a STIX pattern ioc-enrich writes: its grammar, and object paths that exist. */
export function checkPattern(pattern: string): string[] {
  let comparisons: PatternComparison[];
  try {
    comparisons = parsePattern(pattern);
  } catch (error) {
    return [(error as Error).message];
  }
  const problems: string[] = [];
  for (const comparison of comparisons) {
    const valid = PATTERN_PATHS[comparison.objectType];
    if (valid === undefined) problems.push(`object type ${comparison.objectType} is not one we emit`);
    else if (!valid(comparison.path))
      problems.push(`${comparison.objectType}:${comparison.path.join('.')} is no property`);
    if (comparison.objectType === 'file' && !HASH_VALUE[comparison.path[1] as string]?.test(comparison.value)) {
      problems.push(`${comparison.path[1]} value ${comparison.value} is malformed`);
    }
  }
  return problems;
}
