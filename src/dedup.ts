/**
 * The dedup key of an observable. Deduplication itself is done where occurrences are made: by
 * OccurrenceBuilder (src/occurrences.ts) in JavaScript and by the native engine's own table.
 */
import type { IocType } from './types.js';

/** The dedup key of an observable: `type:value`. */
export function observableKey(type: IocType, value: string): string {
  return `${type}:${value}`;
}
