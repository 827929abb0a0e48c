/**
 * STIX 2.1 identifiers. A cyber-observable (SCO) gets the deterministic id the specification defines (section
 * 2.9): a UUIDv5 in the STIX namespace over the JCS-canonical JSON (RFC 8785) of its ID-contributing properties,
 * so the same IP, domain, URL or file gets the same id from every producer and every run, and a platform merges
 * them. Domain objects and relationships get random (v4) ids, as the specification recommends.
 */
import * as crypto from 'node:crypto';
import { oneShotHash } from '../one-shot-hash.js';

/** The namespace of STIX 2.1 deterministic SCO ids. */
const STIX_SCO_NAMESPACE = '00abedb4-aa42-466c-9c01-fed23315a9b7';

/** Namespaces' 16 bytes, by their text. */
const namespaceBytes = new Map<string, Buffer>();

/** RFC 4122 version 5 (SHA-1, name-based) UUID of `name` (UTF-8) in `namespace`. */
export function uuidV5(namespace: string, name: string): string {
  let space = namespaceBytes.get(namespace);
  if (space === undefined) {
    space = Buffer.from(namespace.replaceAll('-', ''), 'hex');
    namespaceBytes.set(namespace, space);
  }
  const hash = oneShotHash('sha1', Buffer.concat([space, Buffer.from(name, 'utf8')]), 'buffer');
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A JSON value as RFC 8785 (JCS) writes it: no white space, object members sorted by their UTF-16 code units. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    // The default sort compares UTF-16 code units, which is what JCS asks for.
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(',')}}`;
  }
  // Strings and numbers: JCS serialises them exactly as ECMAScript's JSON.stringify does.
  return JSON.stringify(value);
}

/** `type--uuidv5` over the canonical JSON of the SCO's ID-contributing properties. */
export function scoId(type: string, contributing: Record<string, unknown>): string {
  return `${type}--${uuidV5(STIX_SCO_NAMESPACE, canonicalJson(contributing))}`;
}

/** `type--uuidv4`, for domain objects, relationships, sightings and bundles. */
export function randomId(type: string): string {
  return `${type}--${crypto.randomUUID()}`;
}
