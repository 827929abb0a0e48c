/**
 * One enrich output row as the results readers hand it over (result-rows.ts), whatever the format: values by
 * position in the columns asked for, and a number for each value, so that a reader grouping a million rows by a
 * column (the report's digest, by observable) compares small integers rather than strings.
 */

/**
 * One result row. Valid only during the call it is given to (a CSV row points into the reader's buffer, which the
 * next records reuse): copy what must outlive it.
 */
export interface ResultRow {
  /**
   * The value of the `column`th column asked for: a string from CSV (made when asked: a column never asked for
   * costs no string); a string, number, boolean or null from JSON; `undefined` when the file (or the JSON row) does
   * not have the column.
   */
  value(column: number): unknown;
  /**
   * The `column`th column's value as text ({@link textOf}) numbered: rows whose texts are equal get the same
   * number, 0, 1, 2… per column in order of first appearance. From CSV the number comes from the cell's bytes, and
   * no string is made for a value seen before.
   */
  id(column: number): number;
  /** What the numbers are of: rows with the same `numbering` share them (one per reader, or per {@link TextIds}). */
  readonly numbering: object;
}

/** A value as text: strings as they are, numbers and booleans written out, anything else (null, missing) ''. */
export function textOf(value: unknown): string {
  return typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : '';
}

/** Numbers texts per column, in order of first appearance (the rows of JSON results, of a run in progress). */
export class TextIds {
  readonly #columns: Map<string, number>[] = [];

  /** The number of `text` in `column`. */
  id(column: number, text: string): number {
    let ids = this.#columns[column];
    if (ids === undefined) {
      ids = new Map();
      this.#columns[column] = ids;
    }
    let id = ids.get(text);
    if (id === undefined) {
      id = ids.size;
      ids.set(text, id);
    }
    return id;
  }
}

/** A row of values already in hand (parsed JSON, or an enrich row), numbered by `numbering`. */
export class ValuesRow implements ResultRow {
  constructor(
    readonly values: readonly unknown[],
    readonly numbering: TextIds,
  ) {}

  value(column: number): unknown {
    return this.values[column];
  }

  id(column: number): number {
    return this.numbering.id(column, textOf(this.values[column]));
  }
}
