/**
 * Formula-injection defence for CSV output (OWASP, "CSV Injection"): a spreadsheet runs a cell that starts with
 * `=`, `+`, `-` or `@` as a formula (`=cmd|' /C calc'!A0`), and a leading TAB or CR can hide such a start. The
 * input is attacker-controlled text (log lines, URLs), so every string cell that starts with one of these gets a
 * leading `'`, which spreadsheets show as text and hide.
 *
 * Decision: only string cells are changed. Numbers written as numbers (ResponseCode `-2`, Reputation `-15`) are
 * data, not text a spreadsheet could run, and stay as they are. JSON output is never changed.
 */

/** The characters that make a spreadsheet cell a formula (or hide one), per OWASP. */
const FORMULA_START = /^[=+\-@\t\r]/;

/** `value` with a leading `'` when it starts with `=`, `+`, `-`, `@`, TAB or CR; otherwise `value` itself. */
export function safeCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}
