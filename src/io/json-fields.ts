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
 * Nesting handled by recursion; deeper values go to the explicit-stack walk. Design decision: recursion measured
 * twice as fast as the stack walk on log-shaped JSON, but hostile input can nest far deeper than the call stack.
 */
const RECURSION_DEPTH = 64;

/**
 * Appends every non-empty string in `value` to `out`, in document order, named by its path below `prefix`
 * (`''` for a top-level string). Any depth of nesting is fine.
 */
export function collectStrings(value: unknown, prefix: string, out: SourceField[]): void {
  visit(value, prefix, out, 0);
}

function visit(value: unknown, path: string, out: SourceField[], depth: number): void {
  if (typeof value === 'string') {
    if (value !== '') out.push({ name: path, value });
    return;
  }
  if (!isContainer(value)) return;
  if (depth === RECURSION_DEPTH) {
    collectDeep(value, path, out);
    return;
  }
  const base = path === '' ? '' : `${path}.`;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) visit(value[index], base + String(index), out, depth + 1);
  } else {
    for (const key of Object.keys(value)) visit(value[key], base + key, out, depth + 1);
  }
}

/** The same walk as {@link visit}, with an explicit stack, so that no nesting can overflow the call stack. */
function collectDeep(value: unknown, prefix: string, out: SourceField[]): void {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: prefix }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; path: string };
    if (typeof item.value === 'string') {
      if (item.value !== '') out.push({ name: item.path, value: item.value });
    } else if (isContainer(item.value)) {
      const base = item.path === '' ? '' : `${item.path}.`;
      const entries = Array.isArray(item.value)
        ? item.value.map((child, index) => [String(index), child] as const)
        : Object.entries(item.value);
      // Pushed in reverse so that they pop in document order.
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, child] = entries[index] as readonly [string, unknown];
        if (typeof child === 'string' || isContainer(child)) stack.push({ value: child, path: base + key });
      }
    }
  }
}

/**
 * Every value that `path` names in `root`, with the path it was found at (`a.0.b`). More than {@link valueAt}: a
 * step on an array that is not an index applies to every element (`a.b` finds `a[*].b`), and on an object a run of
 * steps may be one key with dots in it (`source.ip` finds `{"source.ip": …}` as well as `{"source": {"ip": …}}`).
 */
export function valuesAt(root: unknown, path: JsonPath): Array<{ name: string; value: unknown }> {
  const found: Array<{ name: string; value: unknown }> = [];
  const walk = (value: unknown, step: number, name: string): void => {
    if (step === path.length) {
      if (value !== undefined) found.push({ name, value });
      return;
    }
    const base = name === '' ? '' : `${name}.`;
    if (Array.isArray(value)) {
      const key = path[step] as string;
      const index = Number(key);
      if (Number.isInteger(index) && index >= 0 && String(index) === key) {
        walk(value[index], step + 1, base + key);
        return;
      }
      for (let at = 0; at < value.length; at++) walk(value[at], step, base + String(at));
      return;
    }
    if (!isContainer(value)) return;
    let key = '';
    for (let end = step; end < path.length; end++) {
      key = end === step ? (path[end] as string) : `${key}.${path[end] as string}`;
      if (Object.hasOwn(value, key)) walk((value as Record<string, unknown>)[key], end + 1, base + key);
    }
  };
  walk(root, 0, '');
  return found;
}
