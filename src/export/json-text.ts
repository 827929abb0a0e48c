/**
 * JSON text written from a template: `` json`{"name":${value}}` `` writes each substituted value as JSON (a
 * string quoted and escaped, a number or an object as JSON.stringify writes it) and the template's own text as it
 * is, so the template's text must be JSON around the values. A {@link RawJson} is put in as it is: a member that is
 * there or not (`${link === '' ? NO_JSON : rawJson(…)}`).
 *
 * Design decision: the STIX bundle of the report bench's 33,000 detections is 133,000 objects; building each as an
 * object and serialising it with JSON.stringify cost about twice the CPU of writing its text from a template, most
 * of it in building objects (spreads) and collecting them.
 */
import { jsonCell } from '../io/writers.js';

/** JSON text put into a {@link json} template as it is. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Nothing: a member left out. */
export const NO_JSON = new RawJson('');

/** `text` (JSON, or '') to put into a {@link json} template as it is. */
export function rawJson(text: string): RawJson {
  return new RawJson(text);
}

function jsonValue(value: unknown): string {
  if (typeof value === 'string') return jsonCell(value);
  if (value instanceof RawJson) return value.text;
  // undefined has no JSON: written as null rather than as the text "undefined".
  return JSON.stringify(value) ?? 'null';
}

/** The template's text with each value written as JSON (see the module's comment). */
export function json(parts: TemplateStringsArray, ...values: unknown[]): string {
  let text = parts[0] as string;
  for (let index = 0; index < values.length; index++) text += jsonValue(values[index]) + (parts[index + 1] as string);
  return text;
}
