// tldMayBeIcann lets the native engine call a name's domain kind None from its last label alone. That is exact only
// if it is true for every top-level label under which an ICANN rule sits, including labels that are no rule
// themselves (`co.za` is a rule, `za` is not: this test found it). It reads the flat trie out of the installed tldts
// bundle and checks every such label. If a tldts upgrade changes the bundle's layout, this test fails loudly rather
// than passing on nothing.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { compileFunction } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type * as Tldts from 'tldts';
import {
  domainKindOf,
  DomainKind,
  hasPublicSuffix,
  ICANN_FLAT_TLDS,
  ICANN_LEAF_SECOND_LEVEL,
  ICANN_LEAF_TLDS,
  isPublicDomain,
  tldMayBeIcann,
} from '../../src/extract/domain.js';

interface Trie {
  readonly nodeFlags: Uint8Array;
  readonly edgeStart: Uint16Array | Uint32Array;
  readonly edgeLength: Uint8Array;
  readonly edgeChild: Uint16Array | Uint32Array;
  readonly labelText: string;
  readonly rulesRoot: number;
  readonly exceptionsRoot: number;
}

function tldtsTrie(): Trie {
  const require = createRequire(import.meta.url);
  const source = readFileSync(require.resolve('tldts'), 'utf8');
  const names = ['nodeFlags', 'edgeStart', 'edgeLength', 'edgeChild', 'labelText', 'rulesRoot', 'exceptionsRoot'];
  // The bundle's module scope, with a line that hands its trie out (test only: the library never does this).
  const load = compileFunction(`${source}\n;return { ${names.join(', ')} };`, ['module', 'exports', 'require']) as (
    ...args: unknown[]
  ) => Trie;
  return load({ exports: {} }, {}, require);
}

const ICANN = 1;

/** The labels under `node` (under a root, the rules' or the exceptions': the top-level ones), each with its node. */
function children(trie: Trie, node: number): Map<string, number> {
  const edgeOffset: number[] = [];
  for (let at = 0, offset = 0; at < trie.nodeFlags.length; at += 1) {
    for (let edge = trie.edgeStart[at] as number; edge < (trie.edgeStart[at + 1] as number); edge += 1) {
      edgeOffset[edge] = offset;
      offset += trie.edgeLength[edge] as number;
    }
  }
  const labels = new Map<string, number>();
  for (let edge = trie.edgeStart[node] as number; edge < (trie.edgeStart[node + 1] as number); edge += 1) {
    const start = edgeOffset[edge] as number;
    labels.set(trie.labelText.slice(start, start + (trie.edgeLength[edge] as number)), trie.edgeChild[edge] as number);
  }
  return labels;
}

/** True when an ICANN rule sits under `node` (below it only, with `below`; else at it or below). */
function hasIcann(trie: Trie, node: number, below = false): boolean {
  if (!below && ((trie.nodeFlags[node] as number) & ICANN) !== 0) return true;
  for (let edge = trie.edgeStart[node] as number; edge < (trie.edgeStart[node + 1] as number); edge += 1) {
    if (hasIcann(trie, trie.edgeChild[edge] as number)) return true;
  }
  return false;
}

describe('tldMayBeIcann', () => {
  it('is true for every top-level label with an ICANN rule at or under it in tldts, and its false is final', () => {
    const trie = tldtsTrie();
    const checked = new Set<string>();
    for (const root of [trie.rulesRoot, trie.exceptionsRoot]) {
      for (const [label, node] of children(trie, root)) {
        // A wildcard top level would make every label a possible ICANN one.
        expect(label).not.toBe('*');
        if (!hasIcann(trie, node)) continue;
        checked.add(label);
        expect({ label, may: tldMayBeIcann(label) }).toEqual({ label, may: true });
      }
    }
    // The trie was read (over a thousand ICANN top-level domains), including a wildcard-only one (`*.ck`).
    expect(checked.size).toBeGreaterThan(1000);
    for (const label of ['com', 'uk', 'ck', 'za', 'zip', 'xn--p1ai']) expect(checked.has(label)).toBe(true);
  });

  it('is true for za, whose names under co.za are public domains', () => {
    expect(tldMayBeIcann('za')).toBe(true);
    expect(domainKindOf('evil.co.za')).toBe(DomainKind.Public);
  });

  it('is false for file extensions and numbers that are not top-level domains, whose names are never domains', () => {
    for (const label of ['exe', 'pdf', 'dll', '93ms', 'tmp', 'local', 'localhost', 'internal']) {
      expect(tldMayBeIcann(label)).toBe(false);
      expect(domainKindOf(`evil.${label}`)).toBe(DomainKind.None);
      expect(domainKindOf(`a.b.evil.${label}`)).toBe(DomainKind.None);
    }
  });
});

describe('ICANN_LEAF_TLDS, ICANN_LEAF_SECOND_LEVEL and ICANN_FLAT_TLDS', () => {
  /** The node at `labels` (the top-level one first) under `root`, or undefined. */
  function nodeAt(trie: Trie, root: number, labels: readonly string[]): number | undefined {
    let node: number | undefined = root;
    for (const label of labels) node = node === undefined ? undefined : children(trie, node).get(label);
    return node;
  }

  it('hold only ICANN rules with no ICANN rule, wildcard or exception under or beside them in the installed tldts', () => {
    const trie = tldtsTrie();
    expect(ICANN_LEAF_TLDS.size).toBeGreaterThan(50);
    expect(ICANN_LEAF_SECOND_LEVEL.size).toBeGreaterThan(30);
    for (const suffix of [...ICANN_LEAF_TLDS, ...ICANN_LEAF_SECOND_LEVEL]) {
      const labels = suffix.split('.').reverse();
      const node = nodeAt(trie, trie.rulesRoot, labels);
      const parent = nodeAt(trie, trie.rulesRoot, labels.slice(0, -1));
      const exception = nodeAt(trie, trie.exceptionsRoot, labels);
      expect({
        suffix,
        rule: node !== undefined && ((trie.nodeFlags[node] as number) & ICANN) !== 0,
        ruleUnder: node !== undefined && hasIcann(trie, node, true),
        // A wildcard beside it (`*.uk`) would make names under it follow another rule.
        wildcard: parent !== undefined && children(trie, parent).has('*'),
        exception: exception !== undefined && hasIcann(trie, exception),
      }).toEqual({ suffix, rule: true, ruleUnder: false, wildcard: false, exception: false });
    }
  });

  it('list, for each flat top-level domain, exactly its ICANN rules beneath, none with a rule, wildcard or exception under it', () => {
    const trie = tldtsTrie();
    expect(ICANN_FLAT_TLDS.has('io') && ICANN_FLAT_TLDS.has('cn')).toBe(true);
    for (const [top, labels] of ICANN_FLAT_TLDS) {
      const node = nodeAt(trie, trie.rulesRoot, [top]) as number;
      const beneath = children(trie, node);
      const exception = nodeAt(trie, trie.exceptionsRoot, [top]);
      expect({
        top,
        rule: ((trie.nodeFlags[node] as number) & ICANN) !== 0,
        // Every ICANN rule beneath, and nothing else (a private rule is no rule to tldts asked without them).
        rules: [...beneath]
          .filter(([, child]) => ((trie.nodeFlags[child] as number) & ICANN) !== 0)
          .map(([label]) => label)
          .sort(),
        deeper: [...beneath].filter(([, child]) => hasIcann(trie, child, true)).map(([label]) => label),
        wildcard: beneath.has('*'),
        exception: exception !== undefined && hasIcann(trie, exception),
      }).toEqual({ top, rule: true, rules: [...labels].sort(), deeper: [], wildcard: false, exception: false });
    }
  });

  it("gives tldts's answer for names under them, odd dots and labels included", () => {
    const { parse } = createRequire(import.meta.url)('tldts') as typeof Tldts;
    const options = { allowPrivateDomains: false, extractHostname: false, detectIp: false } as const;
    const urlHost = { ...options, validateHostname: false, mixedInputs: false } as const;
    const shapes = [
      'a.',
      '.',
      '..',
      'a..',
      '.a.',
      'A.',
      '-.',
      'a.b.',
      'blogspot.',
      'x.blogspot.',
      'www.evil.',
      '_x.',
      'co.',
      'com.',
      'ac.',
      'gov.',
    ];
    const flat = [...ICANN_FLAT_TLDS].flatMap(([top, labels]) => [
      top,
      ...[...labels].map((label) => `${label}.${top}`),
    ]);
    // Private rules under a flat top-level domain, which tldts asked without them does not follow.
    const privateRules = ['ngrok.io', 'x.ngrok.io', 'beebyte.io', 'amazonaws.com.cn', 'x.compute.amazonaws.com.cn'];
    const labels = [...ICANN_LEAF_TLDS, ...ICANN_LEAF_SECOND_LEVEL, ...flat, ...privateRules];
    for (const label of [...labels, 'uk', 'za', 'exe', 'sch.uk', 'xyz.in', 'xn--fiqs8s']) {
      for (const shape of shapes) {
        const name = `${shape}${label}`;
        const parsed = parse(name, urlHost);
        const tldts = parsed.isIcann === true && parsed.domain !== null;
        expect({ name, suffix: hasPublicSuffix(name) }).toEqual({ name, suffix: tldts });
        const domain = parse(name, options);
        const isDomain = domain.isIcann === true && domain.domain !== null && domain.publicSuffix !== null;
        // isPublicDomain adds the label syntax, which the names with odd dots or characters fail (a Unicode name
        // reaches it as punycode).
        if (!/^[a-z0-9]/.test(name) || /\.\.|_|-\.|[^\x20-\x7e]/.test(name)) continue;
        expect({ name, domain: isPublicDomain(name) }).toEqual({ name, domain: isDomain });
      }
    }
  });
});
