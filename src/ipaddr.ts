/**
 * ipaddr.js, loaded with `require`: it is CommonJS, and imported as an ES module Node first scans its source for
 * export names, 5–6 ms of every start (8.3 against 2.6 ms, measured here), which a command on a small input feels.
 * Every module takes it from here (as src/extract/domain.ts does tldts).
 */
import { createRequire } from 'node:module';
import type * as Ipaddr from 'ipaddr.js';

export type IPv4 = Ipaddr.IPv4;
export type IPv6 = Ipaddr.IPv6;

let loaded: typeof Ipaddr | undefined;

/**
 * ipaddr.js, loaded at the first call: `extract` without an allowlist never needs it, and loading it is 3-4 ms of
 * every start (issue 12 measures `extract`'s start with its throughput).
 */
export function ipaddr(): typeof Ipaddr {
  loaded ??= createRequire(import.meta.url)('ipaddr.js') as typeof Ipaddr;
  return loaded;
}
