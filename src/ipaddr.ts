/**
 * ipaddr.js, loaded with `require`: it is CommonJS, and imported as an ES module Node first scans its source for
 * export names, 5–6 ms of every start (8.3 against 2.6 ms, measured here), which a command on a small input feels.
 * Every module takes it from here (as src/extract/domain.ts does tldts).
 */
import { createRequire } from 'node:module';
import type * as Ipaddr from 'ipaddr.js';

export type IPv4 = Ipaddr.IPv4;
export type IPv6 = Ipaddr.IPv6;

export const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof Ipaddr;
