// vitest types its asymmetric matchers as `any`, and `toThrow` takes an Error-like value: this one typed entry point
// keeps `any` out of the tests.
import { expect } from 'vitest';

/** Matches a thrown error that has these properties, e.g. `{ code: 'BAD_OPTION', option: '--max-age' }`. */
export function errorWith(properties: Readonly<Record<string, unknown>>): Error {
  return expect.objectContaining(properties) as Error;
}
