/**
 * The allowlist: observables that are never looked up (Status `Allowlisted`). One entry per line; `#` starts a
 * comment. An entry is a domain (its subdomains match too; a leading `*.` or `.` is allowed), an IPv4 or IPv6
 * address, a CIDR range of either family, or an MD5/SHA-1/SHA-256 hash (it matches whatever hash type names it).
 */
import { ipaddr, type IPv4, type IPv6 } from './ipaddr.js';
import { InputError } from './errors.js';
import { isValidLabel } from './extract/domain.js';
import { canonicalIpv6, isValidIpv4, isValidIpv6 } from './extract/ip.js';
import { refang } from './extract/refang.js';
import { splitUrl } from './extract/url.js';
import type { IocType } from './types.js';

const HASH = /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/;

function isHostName(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => isValidLabel(label));
}

/** Parsed allowlist; build it with {@link Allowlist.parse}. */
export class Allowlist {
  readonly #domains = new Set<string>();
  readonly #addresses = new Set<string>();
  readonly #ranges: Array<[IPv4 | IPv6, number]> = [];
  readonly #hashes = new Set<string>();

  private constructor() {}

  /**
   * Parse allowlist text. Throws an {@link InputError} naming `source` and the 1-based line of the first entry
   * that is none of the accepted kinds.
   */
  static parse(text: string, source: string): Allowlist {
    const list = new Allowlist();
    const lines = text.split(/\r?\n/);
    for (let index = 0; index < lines.length; index += 1) {
      const hash = (lines[index] ?? '').indexOf('#');
      const entry = refang((hash === -1 ? (lines[index] ?? '') : (lines[index] ?? '').slice(0, hash)).trim());
      if (entry === '') continue;
      if (!list.#add(entry.toLowerCase())) {
        throw new InputError(
          source,
          index + 1,
          `Expected a domain, an IP address, a CIDR range or a hash, got \`${entry}\``,
        );
      }
    }
    return list;
  }

  #add(entry: string): boolean {
    if (entry.includes('/')) {
      const [address = '', bits = ''] = entry.split('/');
      if (!/^\d{1,3}$/.test(bits)) return false;
      const prefix = Number(bits);
      if (isValidIpv4(address) && prefix <= 32) this.#ranges.push([ipaddr().IPv4.parse(address), prefix]);
      else if (isValidIpv6(address) && prefix <= 128) this.#ranges.push([ipaddr().IPv6.parse(address), prefix]);
      else return false;
      return true;
    }
    if (isValidIpv4(entry)) this.#addresses.add(entry);
    else if (isValidIpv6(entry)) this.#addresses.add(canonicalIpv6(entry));
    else if (HASH.test(entry)) this.#hashes.add(entry);
    else {
      const name = entry.replace(/^\*?\./, '').replace(/\.$/, '');
      if (!isHostName(name)) return false;
      this.#domains.add(name);
    }
    return true;
  }

  /** Number of entries. */
  get size(): number {
    return this.#domains.size + this.#addresses.size + this.#ranges.length + this.#hashes.size;
  }

  /** True when a screened, normalised observable is allowlisted; a URL matches when its host does. */
  matches(type: IocType, value: string): boolean {
    switch (type) {
      case 'ipv4':
      case 'ipv6':
        return this.#matchesAddress(value);
      case 'dns':
        return this.#matchesDomain(value.toLowerCase());
      case 'url': {
        const parts = splitUrl(value);
        if (parts === null) return false;
        const host = value.slice(parts.hostStart, parts.hostEnd).toLowerCase();
        const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
        return this.#matchesAddress(literal) || this.#matchesDomain(literal);
      }
      default:
        return this.#hashes.has(value.toLowerCase());
    }
  }

  #matchesDomain(name: string): boolean {
    let suffix = name;
    for (;;) {
      if (this.#domains.has(suffix)) return true;
      const dot = suffix.indexOf('.');
      if (dot === -1) return false;
      suffix = suffix.slice(dot + 1);
    }
  }

  #matchesAddress(value: string): boolean {
    let address: IPv4 | IPv6;
    if (isValidIpv4(value)) address = ipaddr().IPv4.parse(value);
    else if (isValidIpv6(value)) address = ipaddr().IPv6.parse(value);
    else return false;
    const key = address.kind() === 'ipv6' ? canonicalIpv6(value) : value;
    if (this.#addresses.has(key)) return true;
    return this.#ranges.some(([network, bits]) => address.kind() === network.kind() && address.match(network, bits));
  }
}
