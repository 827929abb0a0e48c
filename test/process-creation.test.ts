// A Windows process-creation export (Security event 4688 from Microsoft Sentinel, exported as CSV, the input of
// msticpy's process_tree): command lines holding URLs, addresses, hashes, domains and paths, read by the CSV reader
// and run through extract + screen + dedup. The project's own fixture always; msticpy's process_tree.csv too when
// ../shared is present.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readSourceRecords } from '../src/io/readers.js';
import { extractOccurrences } from '../src/extract-stage.js';
import type { InputError } from '../src/errors.js';
import type { Occurrence } from '../src/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, 'fixtures/process-creation/security-4688.csv');
const SHARED = join(here, '../../shared/corpora/msticpy/process_tree.csv');

async function occurrencesOf(path: string, badRows?: InputError[]): Promise<Occurrence[]> {
  const options =
    badRows === undefined ? {} : { skipBadRows: true, onBadRow: (error: InputError) => badRows.push(error) };
  const out: Occurrence[] = [];
  for await (const occurrence of extractOccurrences(readSourceRecords({ path }, { format: 'csv', ...options }))) {
    out.push(occurrence);
  }
  return out;
}

/** `record field type observable status`, one string per occurrence, for readable diffs. */
function rows(occurrences: readonly Occurrence[]): string[] {
  return occurrences.map((o) => `${o.sourceIndex} ${o.field} ${o.type} ${o.observable} ${o.status}`);
}

describe('Windows process-creation export (test/fixtures/process-creation/security-4688.csv)', () => {
  it('finds the observables of the command lines, screens the local ones, and nothing in paths or file names', async () => {
    // Written from the command lines by hand. Not found on purpose: `tsetup.1.0.14.tmp` and
    // `doubleextension.pdf.exe` (msticpy reports them as dns), `readme.md`, `contoso.local`, process paths.
    expect(rows(await occurrencesOf(FIXTURE))).toEqual([
      '0 CommandLine url http://45.147.230.12/a.ps1 Valid',
      '1 CommandLine url https://cdn-static.top/p/svc.exe Valid',
      '2 CommandLine url http://update-check.kz/dl/inv_0412.zip Valid',
      '3 CommandLine url http://91.215.85.17:8080/file.sct Valid',
      '4 CommandLine url https://login-verify.net/x.sct Valid',
      '5 CommandLine dns exfil-data.xyz Valid',
      '5 CommandLine ipv4 8.8.8.8 Valid',
      '6 CommandLine ipv4 10.0.0.5 IP address is not global',
      '8 CommandLine url https://files-transfer.org/u/upd.exe Valid',
      '9 CommandLine ipv4 192.168.1.20 IP address is not global',
      '10 CommandLine ipv4 203.0.113.50 IP address is not global',
      '11 CommandLine sha256_hash 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae Valid',
      '12 CommandLine url https://vpn-update.pro/client.msi Valid',
      '13 CommandLine ipv6 2a03:2880:f12f:83:face:b00c:0:25de Valid',
      '14 CommandLine ipv4 185.220.101.4 Valid',
      '16 CommandLine url https://cdn-static.top/p/landing.html Valid',
      '17 CommandLine url http://45.147.230.12/a.ps1 Duplicate',
      '18 CommandLine dns telemetry-collector.io Valid',
      '18 CommandLine md5_hash 5d41402abc4b2a76b9719d911017c592 Valid',
      '20 CommandLine md5_hash aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa String has too low an entropy to be a hash',
    ]);
  });
});

describe.skipIf(!existsSync(SHARED))("msticpy's process_tree.csv (../shared)", () => {
  it('reads every record; finds its real observables and not the file names msticpy takes for domains', async () => {
    // Line 37 has a bare quote inside a quoted field (pandas reads it leniently); the strict reader may skip it.
    const badRows: InputError[] = [];
    const occurrences = await occurrencesOf(SHARED, badRows);
    expect(badRows.filter((error) => !error.message.startsWith(`${SHARED}:37:`))).toEqual([]);
    const accepted = occurrences.filter((o) => o.status === 'Valid' || o.status === 'Duplicate');
    const observables = new Set(accepted.map((o) => `${o.type}:${o.observable}`));
    expect(observables).toContain('md5_hash:81ed03caf6901e444c72ac67d192fb9c');
    expect(observables).toContain('ipv4:1.2.3.4');
    for (const name of ['tsetup.1.exe', 'tsetup.1.0.14.tmp', 'tsetup.1.0.14.exe', 'doubleextension.pdf.exe']) {
      expect(observables).not.toContain(`dns:${name}`);
    }
    // `certutil -urlcache -split -f http://127.0.0.1/`: a URL (msticpy also reports the address on its own).
    expect(rows(occurrences.filter((o) => o.observable.includes('127.0.0.1')))).toEqual([
      expect.stringMatching(/ url http:\/\/127\.0\.0\.1\/ Host part of URL is a private IP address$/),
    ]);
  });
});
