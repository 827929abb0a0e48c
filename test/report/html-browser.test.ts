/**
 * The HTML report in a real browser: Debian's Chromium driven by playwright-core, the file loaded from disk with
 * every request other than file: aborted. Skips with a one-line reason when /usr/bin/chromium is missing; fails
 * instead when CI=true or IOC_ENRICH_REQUIRE_SERVICES=1.
 *
 * IOC_ENRICH_SCREENSHOT=docs/report.png also saves the demo report's screenshot there (the README's image).
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TextIds, ValuesRow } from '../../src/io/result-row.js';
import { DIGEST_COLUMNS, DigestBuilder } from '../../src/report/digest.js';
import { renderHtmlReport } from '../../src/report/html.js';
import type { EnrichedRow } from '../../src/types.js';
import { SIEM_ROWS, enrichAgainstEmulator, siemRecords, writeRows } from '../support/enrich-results.js';
import { runMain } from '../support/run-main.js';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
const required = process.env['CI'] === 'true' || process.env['IOC_ENRICH_REQUIRE_SERVICES'] === '1';
if (!present && !required) {
  console.warn(`skipped: the HTML report browser tests need ${CHROMIUM} (apt-get install chromium)`);
}

describe.runIf(!present && required)('the HTML report browser tests', () => {
  it('need Chromium in CI', () => {
    throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium package (see .ci/run)`);
  });
});

const TIMEOUT = 120_000;
let dir: string;
let context: BrowserContext | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ioc-report-browser-'));
  if (!present) return;
  context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  // No network: only the file itself may load.
  await context.route('**', (route) =>
    route.request().url().startsWith('file:') ? route.continue() : route.abort('blockedbyclient'),
  );
}, TIMEOUT);

afterAll(async () => {
  await context?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Loaded {
  page: Page;
  errors: string[];
  requests: string[];
}

async function open(path: string): Promise<Loaded> {
  const page = await context!.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(path).href);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return { page, errors, requests };
}

const count = (text: string): number => Number(text.replaceAll(',', ''));
const textOf = async (page: Page, selector: string): Promise<string> => (await page.textContent(selector)) ?? '';

function csvOf(rows: ReadonlyArray<Record<string, string>>): string {
  const columns = Object.keys(rows[0]!);
  const cell = (value: string): string => (/[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
  return [columns.join(','), ...rows.map((row) => columns.map((column) => cell(row[column] ?? '')).join(','))].join(
    '\n',
  );
}

describe.skipIf(!present)('the HTML report in Chromium', () => {
  it(
    'shows the counts of the run summary, filters by severity, and loads nothing from the network',
    async () => {
      const source = join(dir, 'firewall.csv');
      writeFileSync(source, `${csvOf(SIEM_ROWS)}\n`);
      const report = join(dir, 'run.html');
      const results = join(dir, 'run.csv');
      const result = await runMain(['enrich', '--emulator', source, '-o', results, '--report', report]);
      expect(result.code).toBe(0);
      // The summary enrich printed: "N occurrences = a rejected + b allowlisted + …".
      const identity =
        /([\d,]+) occurrences = ([\d,]+) rejected \+ ([\d,]+) allowlisted \+ ([\d,]+) duplicates \+ ([\d,]+) looked up \+ ([\d,]+) not submitted \+ ([\d,]+) failed/.exec(
          result.stderr,
        );
      expect(identity).not.toBeNull();
      const { page, errors, requests } = await open(report);
      const ids = ['occurrences', 'rejected', 'allowlisted', 'duplicates', 'lookedUp', 'notSubmitted', 'failed'];
      for (const [index, id] of ids.entries()) {
        expect(count(await textOf(page, `#count-${id}`)), id).toBe(count(identity![index + 1]!));
      }
      const severityBlock = /by Severity:\n((?: {4}\S+ +[\d,]+\n)+)/.exec(result.stderr)![1]!;
      for (const line of severityBlock.trim().split('\n')) {
        const [name, value] = line.trim().split(/\s+/);
        const cell = page.locator('#by-severity tr', { hasText: name! }).locator('td').nth(1);
        expect(count((await cell.textContent()) ?? ''), name).toBe(count(value!));
      }
      // The quota the run used is there (the results file alone would not have it).
      expect(await textOf(page, '#quota-table')).toContain('used today');

      // Severity filter: exactly the distinct observables of that severity, computed here from the rows.
      const rows = readFileSync(results, 'utf8');
      expect(rows.length).toBeGreaterThan(0);
      const builder = new DigestBuilder();
      const { readResultRows } = await import('../../src/io/result-rows.js');
      await readResultRows(results, { columns: DIGEST_COLUMNS, required: [] }, (row) => builder.add(row));
      const observables = builder.finish().observables;
      expect(count(await textOf(page, '#count-distinct'))).toBe(observables.length);
      for (const severity of ['high', 'warning', 'information'] as const) {
        await page.selectOption('#filter-severity', severity);
        const expected = observables.filter((observable) => observable.severity === severity).map((o) => o.value);
        expect(expected.length, severity).toBeGreaterThan(0);
        expect(count(await textOf(page, '#table-count'))).toBe(expected.length);
        const shown = await page.locator('#table-body tr td:nth-child(2)').allTextContents();
        const shownSeverities = await page.locator('#table-body tr td:nth-child(5)').allTextContents();
        expect(shown.sort()).toEqual([...expected].sort());
        expect(new Set(shownSeverities)).toEqual(new Set([severity]));
      }
      expect(errors).toEqual([]);
      expect(requests.every((url) => url.startsWith('file:'))).toBe(true);

      await page.selectOption('#filter-severity', '');
      const screenshot = join(dir, 'report.png');
      await page.screenshot({ path: screenshot, clip: { x: 0, y: 0, width: 1280, height: 1500 }, fullPage: true });
      expect(readFileSync(screenshot).subarray(1, 4).toString()).toBe('PNG');
      const target = process.env['IOC_ENRICH_SCREENSHOT'];
      if (target !== undefined && target !== '') copyFileSync(screenshot, target);
      await page.close();
    },
    TIMEOUT,
  );

  it(
    'never runs or links attacker text from a results file',
    async () => {
      const run = await enrichAgainstEmulator(siemRecords(SIEM_ROWS));
      const template = run.rows.find((row) => row.Observable === '45.33.100.66')!;
      const hostile = (fields: Partial<EnrichedRow>): EnrichedRow => ({ ...template, ...fields });
      const attacks: EnrichedRow[] = [
        hostile({
          Observable: 'http://xss.example.com/"><script>window.__pwned=1</script>',
          IoCType: 'url',
          Positives: 7,
          SourceText: '<img src=x onerror="window.__pwned=2">',
          SourceField: '<b onmouseover="window.__pwned=3">f</b>',
        }),
        hostile({ Observable: 'javascript:window.__pwned=4//http://x.example.com/', IoCType: 'url', Positives: 3 }),
        hostile({ Observable: '</script><script>window.__pwned=5</script>', IoCType: 'dns', Positives: 2 }),
        hostile({ Observable: '<!--', IoCType: 'md5_hash', Positives: 1, SHA256: 'javascript:alert(1)' }),
        hostile({
          Status: 'Could not obtain scheme or host from <svg onload="window.__pwned=6">',
          Observable: '<svg onload="window.__pwned=6">',
          Positives: '',
          Severity: '',
        }),
      ];
      const results = await writeRows([...run.rows, ...attacks], 'csv', join(dir, 'hostile.csv'));
      const report = join(dir, 'hostile.html');
      const result = await runMain(['report', results, '--report', report]);
      expect(result).toMatchObject({ code: 0 });
      const html = readFileSync(report, 'utf8');
      // The data block cannot be closed from inside: no `<` in it at all.
      const data = /<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html)![1]!;
      expect(data).not.toContain('<');

      const { page, errors, requests } = await open(report);
      expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await page.locator('script').count()).toBe(2);
      expect(await page.locator('[onerror], [onload], [onmouseover], img, svg script').count()).toBe(0);
      // Every link is a VirusTotal GUI link built by the report.
      const anchors = page.locator('a');
      const links: string[] = [];
      for (let index = 0; index < (await anchors.count()); index++) {
        links.push((await anchors.nth(index).getAttribute('href')) ?? '');
      }
      expect(links.length).toBeGreaterThan(0);
      for (const link of links) {
        expect(link).toMatch(/^https:\/\/www\.virustotal\.com\/gui\/(file|url|domain|ip-address)\/[^/?#]+$/);
      }
      // The attacker text is shown as text, exactly.
      await page.fill('#filter-text', '<script>');
      await expect.poll(() => textOf(page, '#table-count')).toBe('2');
      const shown = await page.locator('#table-body tr td:nth-child(2)').allTextContents();
      expect(shown.sort()).toEqual([attacks[2]!.Observable, attacks[0]!.Observable].sort());
      expect(await textOf(page, '#detected-body')).toContain('<img src=x onerror="window.__pwned=2">');
      expect(await textOf(page, '#rejections')).toContain('<svg onload="window.__pwned=6">');
      // Clicking a hostile row's link goes nowhere but VirusTotal (and the route blocks even that).
      expect(errors).toEqual([]);
      expect(requests.every((url) => url.startsWith('file:'))).toBe(true);
      expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      await page.close();
    },
    TIMEOUT,
  );

  it(
    'stays usable with 100,000 distinct observables: one page of rows in the document, filters over all of them',
    async () => {
      const builder = new DigestBuilder();
      const numbering = new TextIds();
      const types = ['ipv4', 'dns', 'url', 'sha256_hash'];
      const severities = ['information', 'warning', 'high'];
      for (let index = 0; index < 100_000; index++) {
        const type = types[index % 4]!;
        const positives = index % 3 === 0 ? 0 : index % 3 === 1 ? 1 : 5;
        const value =
          type === 'ipv4'
            ? `45.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`
            : type === 'dns'
              ? `host-${index}.example.com`
              : type === 'url'
                ? `http://site-${index}.example.net/path/${index}`
                : index.toString(16).padStart(64, '0');
        const values: unknown[] = DIGEST_COLUMNS.map(() => '');
        values[0] = value;
        values[1] = type;
        values[2] = 'Success';
        values[4] = positives;
        values[6] = 70;
        values[7] = severities[index % 3];
        values[16] = String(index);
        values[17] = 'Message';
        values[18] = `connection to ${value}`;
        const row = new ValuesRow(values, numbering);
        builder.add(row);
        builder.add(row);
      }
      const digest = builder.finish();
      const report = join(dir, 'large.html');
      const now = new Date('2026-12-01T00:00:00Z');
      writeFileSync(report, renderHtmlReport(digest, { source: 'large.csv', startedAt: now, finishedAt: now }));
      expect(statSync(report).size).toBeLessThan(25 * 1024 * 1024);
      const { page, errors } = await open(report);
      expect(await textOf(page, '#count-distinct')).toBe('100,000');
      expect(await page.locator('#table-body tr').count()).toBe(100);
      expect(await textOf(page, '#table-pager')).toContain('1–100 of 100,000');
      await page.selectOption('#filter-type', 'dns');
      await page.selectOption('#filter-severity', 'high');
      let expected = 0;
      for (let index = 0; index < 100_000; index++) if (index % 4 === 1 && index % 3 === 2) expected++;
      expect(await textOf(page, '#table-count')).toBe(expected.toLocaleString('en-US'));
      expect(new Set(await page.locator('#table-body tr td:nth-child(5)').allTextContents())).toEqual(
        new Set(['high']),
      );
      await page.click('#table-pager button:has-text("next")');
      expect(await textOf(page, '#table-pager')).toContain('101–200');
      expect(errors).toEqual([]);
      await page.close();
    },
    TIMEOUT,
  );
});
