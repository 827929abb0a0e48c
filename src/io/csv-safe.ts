/**
 * Formula-injection defence for CSV output (OWASP, "CSV Injection"): a spreadsheet runs a cell that starts with
 * `=`, `+`, `-` or `@` as a formula (`=cmd|' /C calc'!A0`), and a leading TAB or CR can hide such a start. The
 * input is attacker-controlled text (log lines, URLs), so every string cell that starts with one of these gets a
 * leading `'`, which spreadsheets show as text and hide.
 *
 * Decision: only string cells are changed. Numbers written as numbers (ResponseCode `-2`, Reputation `-15`) are
 * data, not text a spreadsheet could run, and stay as they are. JSON output is never changed.
 */

/**
 * Whether a cell starting with this code unit is one a spreadsheet could run: `=`, `+`, `-`, `@`, TAB or CR. The
 * one list of them: the writer guards such cells ({@link safeCell}), the results reader undoes the guard
 * (result-csv.ts).
 */
export function startsFormula(code: number | undefined): boolean {
  // Comparisons rather than a regex: this runs for every string cell written.
  return code === 0x3d || code === 0x2b || code === 0x2d || code === 0x40 || code === 0x09 || code === 0x0d;
}

/** `value` with a leading `'` when it starts with `=`, `+`, `-`, `@`, TAB or CR; otherwise `value` itself. */
export function safeCell(value: string): string {
  return startsFormula(value.charCodeAt(0)) ? `'${value}` : value;
}
