/**
 * The strings inside a parsed JSON value, named by dotted path (`a.b.0`). Only strings are scanned: numbers,
 * booleans and null cannot hold an indicator.
 */
import type { SourceField } from '../types.js';

/** A dotted path split into its steps, parsed once per run. */
export type JsonPath = readonly string[];

/** Splits `a.b.0` into steps. */
export function parseJsonPath(path: string): JsonPath {
  return path.split('.');
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null;
}

/** The value at `path` in `root`, or undefined. An array step must be an index (`items.0`). */
export function valueAt(root: unknown, path: JsonPath): unknown {
  let value = root;
  for (const step of path) {
    if (Array.isArray(value)) {
      // Only canonical indexes: `01` or `1.5` name nothing.
      const index = Number(step);
      value = Number.isInteger(index) && index >= 0 && String(index) === step ? value[index] : undefined;
    } else if (isContainer(value) && Object.hasOwn(value, step)) {
      value = (value as Record<string, unknown>)[step];
    } else {
      return undefined;
    }
  }
  return value;
}

/**
 * Appends every non-empty string in `value` to `out`, in document order, named by its path below `prefix`
 * (`''` for a top-level string). Iterative, so that deeply nested input cannot overflow the call stack.
 */
export function collectStrings(value: unknown, prefix: string, out: SourceField[]): void {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: prefix }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; path: string };
    if (typeof item.value === 'string') {
      if (item.value !== '') out.push({ name: item.path, value: item.value });
    } else if (isContainer(item.value)) {
      const base = item.path === '' ? '' : `${item.path}.`;
      const entries = Array.isArray(item.value) ? item.value.map((child, index) => [String(index), child] as const) : Object.entries(item.value);
      // Pushed in reverse so that they pop in document order.
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, child] = entries[index] as readonly [string, unknown];
        if (typeof child === 'string' || isContainer(child)) stack.push({ value: child, path: base + key });
      }
    }
  }
}
