/**
 * IP address syntax and special ranges, shared by extraction, screening and the allowlist.
 *
 * Parsing is strict on purpose (no octal, hex or short forms such as `1.2.3` that `ipaddr.js`'s loose parser
 * accepts): a value in a log is only an address when it is written the way people write addresses.
 */

/**
 * Python's `ipaddress` private networks (what msticpy's `is_private` tests), IPv4. `is_global` is "not private and
 * not 100.64/10", so shared address space is rejected as an observable but accepted as a URL host, as in msticpy.
 */
const PRIVATE_V4_CIDRS = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/29',
  '192.0.0.170/31',
  '192.0.2.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '240.0.0.0/4',
];

/** Python's IPv6 private networks: loopback, unspecified, IPv4-mapped, discard, IETF protocol block, documentation, ULA, link-local. */
export const PRIVATE_V6_CIDRS = [
  '::1/128',
  '::/128',
  '::ffff:0:0/96',
  '100::/64',
  '2001::/23',
  '2001:db8::/32',
  'fc00::/7',
  'fe80::/10',
] as const;

const IPV4_SYNTAX = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** True when `value` is a dotted quad of 1–3 digit parts (msticpy's IPv4 pattern), whatever the part values. */
export function looksLikeIpv4(value: string): boolean {
  return IPV4_SYNTAX.test(value);
}

/**
 * The 32-bit value of a valid IPv4 address (four parts 0–255 without leading zeros, Python's `ip_address`), or -1.
 * Read from the character codes: screening calls this for every address in a log.
 */
export function ipv4Value(value: string): number {
  if (value.length < 7 || value.length > 15) return -1;
  let result = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let index = 0; index <= value.length; index += 1) {
    const code = index < value.length ? value.charCodeAt(index) : 46;
    if (code === 46) {
      if (digits === 0 || part > 255) return -1;
      result = result * 256 + part;
      parts += 1;
      part = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57) {
      if (digits === 1 && part === 0) return -1;
      if (++digits > 3) return -1;
      part = part * 10 + code - 48;
    } else {
      return -1;
    }
  }
  return parts === 4 ? result : -1;
}

/** True when `value` is a valid IPv4 address: four parts 0–255 without leading zeros (Python's `ip_address`). */
export function isValidIpv4(value: string): boolean {
  return ipv4Value(value) !== -1;
}

const IPV6_CHARS = /^[0-9a-fA-F:.]+$/;

/** True when `value` has IPv6's alphabet and at least two colons (the loose pattern screening tests first). */
export function looksLikeIpv6(value: string): boolean {
  return IPV6_CHARS.test(value) && value.indexOf(':') !== value.lastIndexOf(':');
}

/** The groups {@link readIpv6} read last: one array, overwritten at each call. */
const groups = new Uint16Array(8);

/** The value of a hex digit's character code, or -1. */
function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 32;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/**
 * Reads a valid IPv6 address in text form into {@link groups} (eight 16-bit numbers); false when `value` is not
 * one: hex groups of 1–4 digits, at most one `::` standing for one group or more, optionally a dotted IPv4 tail as
 * the last two groups. No zone index, no brackets. One pass over the characters: the split, the regular
 * expressions and ipaddr.js's parse it replaced cost about 3 µs an address (issue 12), twice for every distinct
 * one (extraction's test, then screening's); test/screen-fast-paths.test.ts holds it to the split rules.
 */
function readIpv6(value: string): boolean {
  const length = value.length;
  if (length < 2 || length > 45) return false;
  let count = 0;
  let gap = -1;
  let index = 0;
  if (value.charCodeAt(0) === 58) {
    if (value.charCodeAt(1) !== 58) return false;
    gap = 0;
    index = 2;
  }
  while (index < length) {
    // A group: 1-4 hex digits, or a dotted IPv4 tail that ends the text.
    const start = index;
    let group = 0;
    for (let digit = hexDigit(value.charCodeAt(index)); digit !== -1; digit = hexDigit(value.charCodeAt(index))) {
      group = group * 16 + digit;
      index += 1;
    }
    if (value.charCodeAt(index) === 46) {
      const tail = ipv4Value(value.slice(start));
      if (tail === -1) return false;
      groups[count++] = tail >>> 16;
      groups[count++] = tail & 0xffff;
      index = length;
      break;
    }
    if (index === start || index - start > 4) return false;
    groups[count++] = group;
    if (index === length) break;
    if (value.charCodeAt(index) !== 58) return false;
    index += 1;
    if (value.charCodeAt(index) === 58) {
      if (gap !== -1) return false;
      gap = count;
      index += 1;
    } else if (index === length) {
      return false;
    }
  }
  // Past eight groups the typed array drops the writes: the count alone decides then.
  if (gap === -1) return count === 8;
  if (count > 7) return false;
  // The groups after the gap move to the end; zeros fill the gap.
  const after = count - gap;
  groups.copyWithin(8 - after, gap, count);
  groups.fill(0, gap, 8 - after);
  return true;
}

/**
 * True when `value` is a valid IPv6 address in text form: hex groups of 1–4 digits, at most one `::`, optionally
 * an IPv4 tail. No zone index, no brackets.
 */
export function isValidIpv6(value: string): boolean {
  return readIpv6(value);
}

/** Lower case, one `::`, and no group with a leading zero. */
const CANONICAL_LOOKING = /^(?!.*(?:^|:)0[0-9a-f])[0-9a-f:]*::[0-9a-f:]*$/;

/** Canonical RFC 5952 text of a valid IPv6 address (lower case, longest zero run compressed). */
export function canonicalIpv6(value: string): string {
  // A dotted IPv4 tail (`::ffff:1.2.3.4`) is kept as written: it is how people search for it.
  if (value.includes('.')) return value.toLowerCase();
  // Already canonical (lower case, compressed, no leading zeros): skip the parse, the common case in logs.
  if (CANONICAL_LOOKING.test(value) && !value.includes(':0:')) return value;
  if (!readIpv6(value)) throw new Error(`not an IPv6 address: ${value}`);
  return rfc5952(groups);
}

/** RFC 5952 text of eight groups: lower-case hex without leading zeros, the leftmost longest run of 2+ zeros `::`. */
function rfc5952(address: Uint16Array): string {
  let best = -1;
  let bestLength = 1;
  for (let index = 0; index < 8;) {
    if (address[index] !== 0) {
      index += 1;
      continue;
    }
    const start = index;
    while (index < 8 && address[index] === 0) index += 1;
    if (index - start > bestLength) {
      best = start;
      bestLength = index - start;
    }
  }
  let text = '';
  for (let index = 0; index < 8; index += 1) {
    if (index === best) {
      text += '::';
      index += bestLength - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += (address[index] as number).toString(16);
  }
  return text;
}

/**
 * The networks and masks of `cidrs`, one after the other, as unsigned 32-bit numbers: the IPv4 range tests without
 * parsing into objects, and without an iterator and a pair per range (a third of screening an address, measured).
 */
function numericRanges(cidrs: readonly string[]): Uint32Array {
  const ranges = new Uint32Array(cidrs.length * 2);
  cidrs.forEach((cidr, index) => {
    const [address = '', bits = '0'] = cidr.split('/');
    const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
    ranges[index * 2] = (ipv4Value(address) & mask) >>> 0;
    ranges[index * 2 + 1] = mask;
  });
  return ranges;
}

const PRIVATE_V4_NUMERIC = numericRanges(PRIVATE_V4_CIDRS);
const SHARED_V4_NUMERIC = numericRanges(['100.64.0.0/10']);

function inNumericRanges(address: number, ranges: Uint32Array): boolean {
  for (let index = 0; index < ranges.length; index += 2) {
    if ((address & (ranges[index + 1] as number)) >>> 0 === ranges[index]) return true;
  }
  return false;
}

/**
 * True when an IPv4 address, as its {@link ipv4Value}, is not globally routable (msticpy's `IP address is not
 * global`). It takes the number, not the text: screening parses each address once.
 */
export function isNonGlobalIpv4Value(address: number): boolean {
  return inNumericRanges(address, PRIVATE_V4_NUMERIC) || inNumericRanges(address, SHARED_V4_NUMERIC);
}

/**
 * True when an IPv4 address, as its {@link ipv4Value}, is multicast (224.0.0.0/4: mDNS's 224.0.0.251, SSDP's
 * 239.255.255.250): a group, not a host. Python's `is_global` lets it through (msticpy would look it up); ipaddr.js
 * calls the range `multicast`. The broadcast address is in 240.0.0.0/4, already not global.
 */
export function isMulticastIpv4Value(address: number): boolean {
  return address >>> 28 === 14;
}

/**
 * What screening tells apart in a valid IPv6 address, from one parse: `multicast` (ff00::/8: `ff02::fb`, mDNS;
 * ipaddr.js's `multicast` range, read from the first group rather than through its list of ranges), `non-global`
 * (not globally routable: {@link PRIVATE_V6}) or `global`.
 */
export function ipv6Range(value: string): 'multicast' | 'non-global' | 'global' {
  if (!readIpv6(value)) throw new Error(`not an IPv6 address: ${value}`);
  if (((groups[0] as number) & 0xff00) === 0xff00) return 'multicast';
  return inIpv6Ranges(groups, PRIVATE_V6) ? 'non-global' : 'global';
}

/** IPv6 networks as their eight groups and prefix length, one after the other (nine numbers each). */
function ipv6Ranges(cidrs: readonly string[]): Uint16Array {
  const ranges = new Uint16Array(cidrs.length * 9);
  cidrs.forEach((cidr, index) => {
    const [address = '', bits = ''] = cidr.split('/');
    if (!readIpv6(address)) throw new Error(`not an IPv6 network: ${cidr}`);
    ranges.set(groups, index * 9);
    ranges[index * 9 + 8] = Number(bits);
  });
  return ranges;
}

const PRIVATE_V6 = ipv6Ranges(PRIVATE_V6_CIDRS);

/** True when the address's groups are in one of the networks of `ranges` (see {@link ipv6Ranges}). */
function inIpv6Ranges(address: Uint16Array, ranges: Uint16Array): boolean {
  for (let at = 0; at < ranges.length; at += 9) {
    let bits = ranges[at + 8] as number;
    let inside = true;
    for (let index = 0; index < 8 && bits > 0 && inside; index += 1, bits -= 16) {
      const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
      inside = ((address[index] as number) & mask) === ((ranges[at + index] as number) & mask);
    }
    if (inside) return true;
  }
  return false;
}

/**
 * True when an IP literal is private or loopback (Python's `is_private`, used for URL hosts). `100.64.0.0/10` is
 * not private there, so `http://100.64.0.1/` passes, as msticpy observed.
 */
export function isPrivateIp(value: string): boolean {
  const address = ipv4Value(value);
  if (address !== -1) return inNumericRanges(address, PRIVATE_V4_NUMERIC);
  return readIpv6(value) && inIpv6Ranges(groups, PRIVATE_V6);
}
