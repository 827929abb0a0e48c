/**
 * IP address syntax and special ranges, shared by extraction, screening and the allowlist.
 *
 * Parsing is strict on purpose (no octal, hex or short forms such as `1.2.3` that `ipaddr.js`'s loose parser
 * accepts): a value in a log is only an address when it is written the way people write addresses.
 */
import { ipaddr, type IPv4, type IPv6 } from '../ipaddr.js';

type Range = readonly [IPv4 | IPv6, number];

function ranges(cidrs: readonly string[]): Range[] {
  return cidrs.map((cidr) => ipaddr.parseCIDR(cidr));
}

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
const PRIVATE_V6 = ranges([
  '::1/128',
  '::/128',
  '::ffff:0:0/96',
  '100::/64',
  '2001::/23',
  '2001:db8::/32',
  'fc00::/7',
  'fe80::/10',
]);

function inRanges(address: IPv4 | IPv6, list: readonly Range[]): boolean {
  for (const [network, bits] of list) {
    if (address.kind() === network.kind() && address.match(network, bits)) return true;
  }
  return false;
}

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

/**
 * True when `value` is a valid IPv6 address in text form: hex groups of 1–4 digits, at most one `::`, optionally
 * an IPv4 tail. No zone index, no brackets.
 */
export function isValidIpv6(value: string): boolean {
  if (value.length > 45 || !looksLikeIpv6(value)) return false;
  const compressed = value.includes('::');
  // Without `::` there are exactly 7 colons (6 with a dotted tail): timestamps and MACs stop here.
  if (!compressed) {
    let colons = 0;
    for (let index = 0; index < value.length; index += 1) if (value.charCodeAt(index) === 58) colons += 1;
    if (colons !== 7 && colons !== 6) return false;
  }
  const halves = value.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  // The dotted tail is only allowed as the very last group of the text.
  const tailAllowed = halves.length === 1 || (halves[1] ?? '') !== '';
  let width = 0;
  for (let index = 0; index < groups.length; index += 1) {
    const group = groups[index] ?? '';
    if (group.includes('.')) {
      if (!tailAllowed || index !== groups.length - 1 || !isValidIpv4(group)) return false;
      width += 2;
    } else {
      if (!HEX_GROUP.test(group)) return false;
      width += 1;
    }
  }
  return halves.length === 2 ? width <= 7 : width === 8;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Lower case, one `::`, and no group with a leading zero. */
const CANONICAL_LOOKING = /^(?!.*(?:^|:)0[0-9a-f])[0-9a-f:]*::[0-9a-f:]*$/;

/** Canonical RFC 5952 text of a valid IPv6 address (lower case, longest zero run compressed). */
export function canonicalIpv6(value: string): string {
  // A dotted IPv4 tail (`::ffff:1.2.3.4`) is kept as written: it is how people search for it.
  if (value.includes('.')) return value.toLowerCase();
  // Already canonical (lower case, compressed, no leading zeros): skip the parse, the common case in logs.
  if (CANONICAL_LOOKING.test(value) && !value.includes(':0:')) return value;
  return ipaddr.IPv6.parse(value).toRFC5952String();
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
  const address = ipaddr.IPv6.parse(value);
  if (((address.parts[0] ?? 0) & 0xff00) === 0xff00) return 'multicast';
  return inRanges(address, PRIVATE_V6) ? 'non-global' : 'global';
}

/**
 * True when an IP literal is private or loopback (Python's `is_private`, used for URL hosts). `100.64.0.0/10` is
 * not private there, so `http://100.64.0.1/` passes, as msticpy observed.
 */
export function isPrivateIp(value: string): boolean {
  const address = ipv4Value(value);
  if (address !== -1) return inNumericRanges(address, PRIVATE_V4_NUMERIC);
  if (isValidIpv6(value)) return inRanges(ipaddr.IPv6.parse(value), PRIVATE_V6);
  return false;
}
