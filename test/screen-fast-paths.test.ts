// Screening's fast paths against the rules they stand for (issue 12: screening a first sighting cost about 9,000
// instructions). Each test holds the rule as it was written before its fast path, and fails when the fast path
// gives a different answer on values built to reach its edges.
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { mulberry32 as random } from '../src/emulator/random.js';
import { hasDomainSyntax } from '../src/extract/domain.js';
import {
  PRIVATE_V6_CIDRS,
  canonicalIpv6,
  ipv4Value,
  ipv6Range,
  isPrivateIp,
  isValidIpv6,
  looksLikeIpv4,
} from '../src/extract/ip.js';
import { hexHashEntropy, screenRefanged } from '../src/screen.js';

function text(next: () => number, alphabet: string, length: number): string {
  let out = '';
  for (let index = 0; index < length; index += 1) out += alphabet[Math.floor(next() * alphabet.length)];
  return out;
}

describe('hexHashEntropy', () => {
  /** The formula as it was: a log2 per distinct character, in the order of first appearance. */
  function reference(value: string): number {
    const counts = new Map<string, number>();
    for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
    let entropy = 0;
    for (const count of counts.values()) {
      const share = count / value.length;
      entropy -= share * Math.log2(share);
    }
    return entropy;
  }

  it('gives the same double as the formula, hashes and other lengths alike (its terms are kept per length)', () => {
    const next = random(12);
    const values: string[] = ['', 'a', '0123456789abcdef'.repeat(2), 'aaaabbbbccccddddeeeeffff00001111'];
    for (let round = 0; round < 3000; round += 1) {
      const length = [32, 40, 64, 1 + Math.floor(next() * 200)][round % 4] as number;
      // Few distinct characters as well as many, so that counts reach every size.
      const alphabet = '0123456789abcdef'.slice(0, 1 + Math.floor(next() * 16));
      values.push(text(next, alphabet, length));
    }
    for (const value of values) expect(Object.is(hexHashEntropy(value, value.length), reference(value))).toBe(true);
  });

  it('puts a hash of exactly 3 bits a character on the same side of the threshold as the formula', () => {
    // 8 characters, 4 times each: 3 bits exactly.
    const value = '0123456701234567012345670123456'.concat('7');
    expect(reference(value)).toBe(3);
    expect(hexHashEntropy(value, value.length)).toBe(3);
    expect(screenRefanged('md5_hash', value)).toMatchObject({ accepted: true });
  });

  it("is the formula's double for lower-case hex of the length, and -1 for anything else", () => {
    const next = random(21);
    for (let round = 0; round < 4000; round += 1) {
      const length = [32, 40, 64][round % 3] as number;
      const alphabet = '0123456789abcdef'.slice(0, 1 + Math.floor(next() * 16));
      const hash = text(next, alphabet, length);
      expect(Object.is(hexHashEntropy(hash, length), reference(hash)), hash).toBe(true);
      // One character out of the pattern, anywhere: the pattern's answer, and the counts left for the next call.
      const at = Math.floor(next() * length);
      const bad = ['g', 'A', 'F', '/', ':', '`', '@', ' ', 'é'][round % 9] as string;
      const broken = `${hash.slice(0, at)}${bad}${hash.slice(at + 1)}`;
      expect(/^[0-9a-f]*$/.test(broken)).toBe(false);
      expect(hexHashEntropy(broken, length), broken).toBe(-1);
      expect(hexHashEntropy(hash.slice(1), length)).toBe(-1);
      expect(hexHashEntropy(`${hash}0`, length)).toBe(-1);
    }
  });
});

describe('ipv4 screening', () => {
  it('tells a malformed value from an invalid address as the pattern does', () => {
    const next = random(4);
    for (let round = 0; round < 5000; round += 1) {
      const value = text(next, '0123456789..a', 1 + Math.floor(next() * 17));
      const outcome = screenRefanged('ipv4', value);
      if (outcome.accepted) continue;
      const expected = looksLikeIpv4(value)
        ? ['IP address is invalid format', 'IP address is not global', 'IP address is multicast']
        : ['Observable does not match expected pattern for ipv4'];
      expect(expected, value).toContain(outcome.status);
    }
  });
});

describe('IPv6 parsing', () => {
  /** The validity rules as they were: the alphabet, a split at `::` and at colons, a regular expression a group. */
  function referenceValid(value: string): boolean {
    if (value.length > 45 || !/^[0-9a-fA-F:.]+$/.test(value) || value.indexOf(':') === value.lastIndexOf(':')) {
      return false;
    }
    if (!value.includes('::')) {
      const colons = value.split(':').length - 1;
      if (colons !== 7 && colons !== 6) return false;
    }
    const halves = value.split('::');
    if (halves.length > 2) return false;
    const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
    const tailAllowed = halves.length === 1 || (halves[1] ?? '') !== '';
    let width = 0;
    for (let index = 0; index < groups.length; index += 1) {
      const group = groups[index] ?? '';
      if (group.includes('.')) {
        if (!tailAllowed || index !== groups.length - 1 || ipv4Value(group) === -1) return false;
        width += 2;
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return false;
        width += 1;
      }
    }
    return halves.length === 2 ? width <= 7 : width === 8;
  }

  /** Random IPv6-like text: groups of 0-5 digits, single and double colons, dotted tails anywhere. */
  function ipv6Like(next: () => number): string {
    const pieces: string[] = [];
    const count = Math.floor(next() * 10);
    for (let index = 0; index < count; index += 1) {
      const roll = next();
      if (roll < 0.08) pieces.push(`${Math.floor(next() * 300)}.${Math.floor(next() * 300)}.1.${index}`);
      else if (roll < 0.15) pieces.push('');
      else pieces.push(text(next, '0123456789abcdefABCDEF', Math.floor(next() * 6)));
    }
    let value = pieces.join(next() < 0.8 ? ':' : '::');
    if (next() < 0.3) value = `::${value}`;
    if (next() < 0.2) value = `${value}::`;
    if (next() < 0.1) value = `${value}${text(next, ':.0g', 1)}`;
    return value;
  }

  it('accepts exactly what the split rules accept', () => {
    const next = random(61);
    const values = [
      '::',
      ':',
      ':::',
      '::::',
      '1::',
      '::1',
      '1::2::3',
      '1:::2',
      '::1.2.3.4',
      '1.2.3.4::',
      '::ffff:1.2.3.4',
    ];
    values.push('1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:8::', '1:2:3:4:5:6:1.2.3.4');
    values.push('1:2:3:4:5:1.2.3.4', 'a:1.2.3.4::b', '::12345', '::ab1.2.3.4', `${'0:'.repeat(22)}0`);
    for (let round = 0; round < 30_000; round += 1) values.push(ipv6Like(next));
    let valid = 0;
    for (const value of values) {
      const expected = referenceValid(value);
      if (expected) valid += 1;
      expect({ value, valid: isValidIpv6(value) }).toEqual({ value, valid: expected });
    }
    // Both answers were reached often.
    expect(valid).toBeGreaterThan(3000);
    expect(values.length - valid).toBeGreaterThan(3000);
  });

  it("gives ipaddr.js's RFC 5952 text and its multicast and private ranges", () => {
    const next = random(6);
    const values = ['ff02::fb', 'ff00::', 'feff::1', 'fe80::1', '::', '::1', 'fc00::1', 'ff0e::1:2', '2001:db8::1'];
    values.push('0:0:1:0:0:0:1:0', '1:0:0:2:0:0:3:4', '0:0:0:0:0:0:0:1', '1:0:0:0:0:0:0:0', '100::1', '2001:1ff::1');
    values.push('::FFFF:0:1', 'FE80:0:0:0:0:0:0:1', '2001:0DB8:0000::0001', 'fbff::1', 'fec0::1', '::2');
    for (let round = 0; round < 6000; round += 1) {
      // Zero groups often, so that runs of zeros of every length and place are compressed.
      const groups = Array.from({ length: 8 }, () =>
        next() < 0.4
          ? '0'
          : Math.floor(next() * 0x10000)
              .toString(16)
              .padStart(next() < 0.3 ? 4 : 1, '0'),
      );
      const first = [0xfe00, 0xfc00, 0x2001, 0x0100, 0][round % 5] as number;
      if (round % 2 === 0) groups[0] = (first + Math.floor(next() * 0x200)).toString(16);
      if (round % 7 === 0) groups[1] = (0x0db8 + Math.floor(next() * 2)).toString(16);
      if (round % 11 === 0) groups.splice(0, 6, '0', '0', '0', '0', '0', 'ffff');
      values.push(round % 3 === 0 ? groups.join(':').toUpperCase() : groups.join(':'));
    }
    const privateRanges = PRIVATE_V6_CIDRS.map((cidr) => ipaddr.parseCIDR(cidr));
    for (const value of values) {
      expect(isValidIpv6(value)).toBe(true);
      const address = ipaddr.IPv6.parse(value);
      const range = address.range() === 'multicast' ? 'multicast' : undefined;
      const expected = range ?? (privateRanges.some((cidr) => address.match(cidr)) ? 'non-global' : 'global');
      expect({ value, range: ipv6Range(value) }).toEqual({ value, range: expected });
      expect({ value, text: canonicalIpv6(value) }).toEqual({ value, text: address.toRFC5952String() });
      expect({ value, private: isPrivateIp(value) }).toEqual({ value, private: expected === 'non-global' });
    }
  });
});

describe('hasDomainSyntax', () => {
  /** The rules as they were: split on dots, a regular expression per label, the last label not all digits. */
  function reference(name: string): boolean {
    if (name.length > 253 || name.length < 3) return false;
    const labels = name.split('.');
    if (labels.length < 2 || !labels.every((label) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label))) {
      return false;
    }
    return !/^\d+$/.test(labels[labels.length - 1] ?? '');
  }

  it('agrees with the split-and-match rules on random names, long labels and odd characters included', () => {
    const next = random(8);
    const names = ['a.b', 'a..b', '.ab', 'ab.', '-a.b', 'a-.b', 'a.1', 'a.1a', 'a.b-1', 'A.com', 'a_b.com'];
    names.push(`${'a'.repeat(63)}.com`, `${'a'.repeat(64)}.com`, `${'a.'.repeat(126)}com`, `${'a.'.repeat(127)}co`);
    for (let round = 0; round < 20000; round += 1) {
      const alphabet = round % 2 === 0 ? 'a1-.' : 'ab09-._A\u00e9';
      names.push(text(next, alphabet, Math.floor(next() * 12)));
    }
    for (let round = 0; round < 200; round += 1) {
      const label = (): string => text(next, 'ab-', 55 + Math.floor(next() * 12));
      names.push(`${label()}.${label()}.com`);
    }
    for (const name of names) expect({ name, valid: hasDomainSyntax(name) }).toEqual({ name, valid: reference(name) });
  });
});
