/**
 * Shared helpers of the emulator tests: HTTP over 127.0.0.1 and the bundled fixtures' values.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A reply as the tests read it. */
export interface Reply {
  status: number;
  text: string;
  /** Parsed JSON, or `undefined` for an empty body. */
  json: unknown;
}

/** GET `path` from the emulator, with `x-apikey` when `key` is given. */
export async function get(baseUrl: string, path: string, key?: string): Promise<Reply> {
  const response = await fetch(`${baseUrl}${path}`, key === undefined ? {} : { headers: { 'x-apikey': key } });
  const text = await response.text();
  return { status: response.status, text, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

/** The value at a path of object keys and array indexes, or `undefined`. */
export function at(value: unknown, ...path: Array<string | number>): unknown {
  let current = value;
  for (const step of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

/** A bundled fixture file, parsed. */
export function fixture(relativePath: string): {
  id?: string;
  attributes: Record<string, unknown>;
  resolutions?: unknown[];
  urls?: string[];
} {
  const path = fileURLToPath(new URL(`../../fixtures/vt/${relativePath}`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as {
    id?: string;
    attributes: Record<string, unknown>;
    resolutions?: unknown[];
    urls?: string[];
  };
}

/** The bundled not-found list. */
export function notFoundList(): Record<'files' | 'urls' | 'domains' | 'ip_addresses', string[]> {
  const path = fileURLToPath(new URL('../../fixtures/vt/not-found.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Record<'files' | 'urls' | 'domains' | 'ip_addresses', string[]>;
}

/** A controllable clock (epoch ms) for quota windows. */
export function manualClock(start: number): {
  now: () => number;
  advance: (ms: number) => void;
  set: (ms: number) => void;
} {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
    set: (ms) => {
      time = ms;
    },
  };
}
