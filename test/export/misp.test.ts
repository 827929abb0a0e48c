import { afterEach, describe, expect, it } from 'vitest';
import { startFakeMisp, type FakeMisp } from '../support/fake-misp.js';
import { ApiError } from '../../src/errors.js';
import { postMispEvent } from '../../src/export/misp-client.js';
import { mispEvent, type MispEvent } from '../../src/export/misp.js';
import { DigestBuilder, type RunInfo } from '../../src/report/digest.js';
import type { EnrichedRow } from '../../src/types.js';
import { SIEM_ROWS, enrichAgainstEmulator, siemRecords, typedRecords } from '../support/enrich-results.js';

const RUN: RunInfo = {
  source: 'firewall.csv',
  startedAt: new Date('2026-11-30T08:00:00.000Z'),
  finishedAt: new Date('2026-11-30T08:10:00.000Z'),
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const EXPECTED_KIND: Record<string, [string, string]> = {
  ipv4: ['ip-dst', 'Network activity'],
  ipv6: ['ip-dst', 'Network activity'],
  dns: ['domain', 'Network activity'],
  url: ['url', 'Network activity'],
  md5_hash: ['md5', 'Payload delivery'],
  sha1_hash: ['sha1', 'Payload delivery'],
  sha256_hash: ['sha256', 'Payload delivery'],
};

function eventOf(rows: readonly EnrichedRow[], options: Partial<Parameters<typeof mispEvent>[1]> = {}): MispEvent {
  const builder = new DigestBuilder();
  for (const row of rows) builder.addRow(row);
  return JSON.parse(JSON.stringify(mispEvent(builder.finish(), { run: RUN, ...options }))) as MispEvent;
}

/** The checks MISP's own import makes on a core-format event, and ours on top, computed from the rows. */
function checkAgainstRows(event: MispEvent, rows: readonly EnrichedRow[], minPositives = 1): void {
  const e = event.Event;
  expect(e.uuid).toMatch(UUID);
  expect(e.date).toBe('2026-11-30');
  expect(['1', '2', '3', '4']).toContain(e.threat_level_id);
  expect(e.analysis).toBe('2');
  expect(e.distribution).toBe('0');
  expect(e.info).toContain('firewall.csv');
  const detected = new Map<string, EnrichedRow[]>();
  for (const row of rows) {
    if (typeof row.Positives !== 'number' || row.Positives < minPositives) continue;
    const key = `${String(row.IoCType)}:${String(row.Observable)}`;
    detected.set(key, [...(detected.get(key) ?? []), row]);
  }
  expect(e.Attribute).toHaveLength(detected.size);
  const values = new Set<string>();
  for (const attribute of e.Attribute) {
    const [key, sameRows] = [...detected.entries()].find(([, list]) => list[0]?.Observable === attribute.value) ?? [];
    expect(key, `${attribute.value} is a detection`).toBeDefined();
    const row = sameRows![0]!;
    expect([attribute.type, attribute.category]).toEqual(EXPECTED_KIND[String(row.IoCType)]);
    expect(attribute.to_ids).toBe(true);
    expect(attribute.uuid).toMatch(UUID);
    expect(attribute.comment).toContain(`${row.Positives}/${row.Total}`);
    expect(attribute.comment).toContain(`seen in ${sameRows!.length} source row(s)`);
    expect(attribute.comment).toMatch(/https:\/\/www\.virustotal\.com\/gui\/(file|url|domain|ip-address)\//);
    expect(attribute.Tag).toEqual([{ name: `ioc-enrich:severity="${String(row.Severity)}"` }]);
    values.add(attribute.value);
  }
  expect(values.size).toBe(e.Attribute.length);
  const worst = rows.some((row) => row.Severity === 'high' && (row.Positives as number) >= minPositives)
    ? '1'
    : detected.size > 0
      ? '2'
      : '4';
  expect(e.threat_level_id).toBe(worst);
}

describe('mispEvent', () => {
  it('has one attribute per detection of a v3 run, with MISP types, categories, comment and tags', async () => {
    const run = await enrichAgainstEmulator(siemRecords(SIEM_ROWS));
    const event = eventOf(run.rows, { tlp: 'amber+strict' });
    checkAgainstRows(event, run.rows);
    expect(event.Event.Attribute.length).toBeGreaterThan(4);
    expect(event.Event.Tag).toEqual([{ name: 'tlp:amber+strict' }, { name: 'ioc-enrich:severity="high"' }]);
    expect(new Set(event.Event.Attribute.map((attribute) => attribute.type))).toEqual(
      new Set(['ip-dst', 'domain', 'url', 'md5', 'sha256']),
    );
  });

  it('follows --min-positives', async () => {
    const run = await enrichAgainstEmulator(siemRecords(SIEM_ROWS));
    checkAgainstRows(eventOf(run.rows, { minPositives: 10 }), run.rows, 10);
  });

  it('is valid for a v2 run, and for a run with failures and observables not submitted', async () => {
    const v2 = await enrichAgainstEmulator(siemRecords(SIEM_ROWS), { api: 'v2', tier: 'public' });
    checkAgainstRows(eventOf(v2.rows), v2.rows);
    const values = Array.from({ length: 24 }, (_, index) => [`node-${index}.example.org`, 'dns'] as const);
    const failing = await enrichAgainstEmulator(
      typedRecords(values),
      { maxRetries: 0, concurrency: 1 },
      { maliciousRate: 1, notFoundRate: 0, perDay: 16, faults: { transient: 0.3 }, seed: 3 },
    );
    expect(new Set(failing.rows.map((row) => String(row.Status).split(':')[0]))).toEqual(
      new Set(['Success', 'Failed', 'NotSubmitted']),
    );
    const event = eventOf(failing.rows);
    checkAgainstRows(event, failing.rows);
    expect(event.Event.Attribute.map((attribute) => attribute.value).sort()).toEqual(
      failing.rows
        .filter((row) => row.Status === 'Success')
        .map((row) => row.Observable)
        .sort(),
    );
  });

  it('is an event without attributes, threat level undefined, when nothing was detected', async () => {
    const run = await enrichAgainstEmulator(
      typedRecords([
        ['https://www.example.org/', 'url'],
        ['unknown.example.com', 'dns'],
      ]),
    );
    const event = eventOf(run.rows, { tlp: 'clear' });
    checkAgainstRows(event, run.rows);
    expect(event.Event).toMatchObject({ Attribute: [], threat_level_id: '4', Tag: [{ name: 'tlp:clear' }] });
  });
});

const KEY = 'misp-automation-key-0123456789abcdef';

let misp: FakeMisp | undefined;
afterEach(async () => {
  await misp?.close();
  misp = undefined;
});

async function fakeMisp(): Promise<FakeMisp> {
  misp = await startFakeMisp();
  return misp;
}

describe('postMispEvent', () => {
  it('POSTs the event to /events/add with the key, JSON headers and the event as the body', async () => {
    const misp = await fakeMisp();
    const run = await enrichAgainstEmulator(siemRecords(SIEM_ROWS));
    const event = eventOf(run.rows, { tlp: 'green' });
    misp.reply = { status: 200, body: JSON.stringify({ Event: { id: '42', uuid: event.Event.uuid } }) };
    const created = await postMispEvent(event, { url: `${misp.url}/misp/`, apiKey: KEY });
    expect(created).toEqual({ id: '42', uuid: event.Event.uuid });
    expect(misp.requests).toHaveLength(1);
    const [request] = misp.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/misp/events/add' });
    expect(request?.headers).toMatchObject({
      authorization: KEY,
      accept: 'application/json',
      'content-type': 'application/json',
    });
    expect(JSON.parse(request!.body)).toEqual(event);
  });

  it('fails with one line, without the key, when MISP refuses the event', async () => {
    const misp = await fakeMisp();
    misp.reply = {
      status: 403,
      body: JSON.stringify({
        name: 'Authentication failed.',
        message: `Key ${KEY} is not valid\nat all`,
        url: '/events/add',
      }),
    };
    const error = await postMispEvent(eventOf([]), { url: misp.url, apiKey: KEY }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'AUTHENTICATION', status: 403 });
    const message = (error as ApiError).message;
    expect(message).toContain('HTTP 403');
    expect(message).toContain('Authentication failed.');
    expect(message).not.toContain(KEY);
    expect(message.split('\n')).toHaveLength(1);
  });

  it('fails with one line when MISP cannot be reached', async () => {
    const misp = await fakeMisp();
    await misp.close();
    const error = await postMispEvent(eventOf([]), { url: misp.url, apiKey: KEY }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'API_ERROR' });
    expect((error as ApiError).message).toMatch(/^MISP http:\/\/127\.0\.0\.1:\d+: request failed: ECONNREFUSED$/);
  });
});
