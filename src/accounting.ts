/**
 * The run's accounting identity, `occurrences = rejected + allowlisted + duplicates + looked up + not submitted
 * + failed`: which term a row's Status counts in. One rule for the enrich summary and for the report's digest
 * (read back from the rows), so the two always agree.
 */

/** A term of the accounting identity. */
export type AccountingTerm = 'rejected' | 'allowlisted' | 'duplicates' | 'lookedUp' | 'notSubmitted' | 'failed';

/** Which term of the accounting identity a row's Status belongs to. */
export function accountingTerm(status: string): AccountingTerm {
  if (status === 'Duplicate') return 'duplicates';
  // A URL submitted in this run whose analysis had not finished (Queued) was looked up: VirusTotal answered.
  if (status === 'Success' || status === 'NotFound' || status === 'Queued') return 'lookedUp';
  if (status === 'Allowlisted') return 'allowlisted';
  if (status.startsWith('NotSubmitted')) return 'notSubmitted';
  if (status.startsWith('Failed')) return 'failed';
  return 'rejected';
}
