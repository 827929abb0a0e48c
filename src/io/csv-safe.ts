/**
 * Formula-injection defence for CSV output (OWASP, "CSV Injection"): a spreadsheet runs a cell that starts with
 * `=`, `+`, `-` or `@` as a formula (`=cmd|' /C calc'!A0`), and a leading TAB or CR can hide such a start. The
 * input is attacker-controlled text (log lines, URLs), so every string cell that starts with one of these gets a
 * leading `'`, which spreadsheets show as text and hide.
 *
 * Decision: only string cells are changed. Numbers written as numbers (ResponseCode `-2`, Reputation `-15`) are
 * data, not text a spreadsheet could run, and stay as they are. JSON output is never changed.
 */

/** `value` with a leading `'` when it starts with `=`, `+`, `-`, `@`, TAB or CR; otherwise `value` itself. */
export function safeCell(value: string): string {
  // A switch on the first code unit rather than a regex: this runs for every string cell written.
  switch (value.charCodeAt(0)) {
    case 0x3d: // =
    case 0x2b: // +
    case 0x2d: // -
    case 0x40: // @
    case 0x09: // TAB
    case 0x0d: // CR
      return `'${value}`;
    default:
      return value;
  }
}
