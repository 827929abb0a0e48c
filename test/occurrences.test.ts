import { describe, expect, it } from 'vitest';
import { Allowlist } from '../src/allowlist.js';
import { OccurrenceBuilder } from '../src/occurrences.js';
import type { Occurrence, SourceRecord, TypedRecord } from '../src/types.js';

function record(recordNumber: number, ...values: string[]): SourceRecord {
  return {
    recordNumber,
    sourceIndex: `row-${recordNumber}`,
    fields: values.map((value, index) => ({ name: `col${index}`, value })),
  };
}

function typed(recordNumber: number, type: string, observable: string): TypedRecord {
  return { recordNumber, sourceIndex: String(recordNumber), observable, type, field: 'Observable' };
}

function brief(occurrence: Occurrence): string {
  return `${occurrence.sourceIndex} ${occurrence.field} ${occurrence.type}:${occurrence.observable} ${occurrence.status} [${occurrence.key}]`;
}

describe('OccurrenceBuilder.fromRecord', () => {
  it('extracts every field in order, screens, and marks later sightings Duplicate', () => {
    const builder = new OccurrenceBuilder();
    const rows = [
      ...builder.fromRecord(record(0, 'src=10.1.2.3 dst=8.8.8.8', 'evil[.]com')),
      ...builder.fromRecord(record(1, 'dst=8[.]8[.]8[.]8 again EVIL.com')),
    ].map(brief);
    expect(rows).toEqual([
      'row-0 col0 ipv4:10.1.2.3 IP address is not global []',
      'row-0 col0 ipv4:8.8.8.8 Valid [ipv4:8.8.8.8]',
      'row-0 col1 dns:evil.com Valid [dns:evil.com]',
      'row-1 col0 ipv4:8.8.8.8 Duplicate [ipv4:8.8.8.8]',
      'row-1 col0 dns:evil.com Duplicate [dns:evil.com]',
    ]);
    expect(builder.distinct()).toBe(2);
  });

  it('keeps the original text of each occurrence', () => {
    const [occurrence] = new OccurrenceBuilder().fromRecord(record(0, 'see hXXp://Evil[.]com/A.'));
    expect(occurrence).toEqual({
      recordNumber: 0,
      sourceIndex: 'row-0',
      field: 'col0',
      original: 'hXXp://Evil[.]com/A',
      observable: 'http://evil.com/A',
      type: 'url',
      status: 'Valid',
      note: '',
      key: 'url:http://evil.com/A',
    });
  });

  it('marks allowlisted observables with their key, every time, without counting them as distinct', () => {
    const builder = new OccurrenceBuilder({ allowlist: Allowlist.parse('example.com\n8.8.8.8', 'allow.txt') });
    const rows = [
      ...builder.fromRecord(record(0, 'www.example.com 8.8.8.8 evil.com')),
      ...builder.fromRecord(record(1, 'https://example.com/a www.example.com')),
    ].map(brief);
    expect(rows).toEqual([
      'row-0 col0 dns:www.example.com Allowlisted [dns:www.example.com]',
      'row-0 col0 ipv4:8.8.8.8 Allowlisted [ipv4:8.8.8.8]',
      'row-0 col0 dns:evil.com Valid [dns:evil.com]',
      'row-1 col0 url:https://example.com/a Allowlisted [url:https://example.com/a]',
      'row-1 col0 dns:www.example.com Allowlisted [dns:www.example.com]',
    ]);
    expect(builder.distinct()).toBe(1);
  });

  it('reports URL hosts as dns only when asked', () => {
    const text = record(0, 'GET http://login.evil.com/x');
    expect(new OccurrenceBuilder().fromRecord(text).map(brief)).toEqual([
      'row-0 col0 url:http://login.evil.com/x Valid [url:http://login.evil.com/x]',
    ]);
    expect(new OccurrenceBuilder({ urlHostsAsDns: true }).fromRecord(text).map(brief)).toEqual([
      'row-0 col0 url:http://login.evil.com/x Valid [url:http://login.evil.com/x]',
      'row-0 col0 dns:login.evil.com Valid [dns:login.evil.com]',
    ]);
  });

  it('keeps the dedup state when the memo of rejected values starts over', () => {
    const builder = new OccurrenceBuilder();
    const statuses = (text: string) => builder.fromRecord(record(0, text)).map((occurrence) => occurrence.status);
    expect(statuses('8.8.8.8 10.0.0.1')).toEqual(['Valid', 'IP address is not global']);
    // More distinct private addresses than the memo keeps (100,000), 1,000 to a line.
    for (let line = 0; line < 101; line += 1) {
      const text = Array.from({ length: 1000 }, (_, index) => `10.${line}.${index >> 8}.${index & 255}`).join(' ');
      builder.fromRecord(record(1, text));
    }
    expect(statuses('8.8.8.8 10.0.0.1 1.1.1.1')).toEqual(['Duplicate', 'IP address is not global', 'Valid']);
    expect(builder.distinct()).toBe(2);
  });

  it('gives a record without indicators no occurrence', () => {
    expect(new OccurrenceBuilder().fromRecord(record(0, 'nothing here', ''))).toEqual([]);
  });
});

describe('OccurrenceBuilder.fromTyped', () => {
  it('gives exactly one occurrence per row, sharing dedup with other rows', () => {
    const builder = new OccurrenceBuilder();
    const rows = [
      typed(0, 'ipv4', ' 8.8.8.8'),
      typed(1, 'ipv4', '8[.]8[.]8[.]8'),
      typed(2, 'ipv4', '8.8.8.8'),
      typed(3, 'dns', 'localhost'),
      typed(4, 'sh256_hash', 'abc'),
      typed(5, 'IPv4', '8.8.8.8'),
    ].map((row) => brief(builder.fromTyped(row)));
    expect(rows).toEqual([
      '0 Observable ipv4:8.8.8.8 Valid [ipv4:8.8.8.8]',
      '1 Observable ipv4:8.8.8.8 Duplicate [ipv4:8.8.8.8]',
      '2 Observable ipv4:8.8.8.8 Duplicate [ipv4:8.8.8.8]',
      '3 Observable dns:localhost Observable does not match expected pattern for dns []',
      '4 Observable sh256_hash:abc Unsupported IoC type: sh256_hash []',
      '5 Observable ipv4:8.8.8.8 Duplicate [ipv4:8.8.8.8]',
    ]);
    expect(builder.distinct()).toBe(1);
  });

  it('keeps the value as given in original', () => {
    const occurrence = new OccurrenceBuilder().fromTyped(typed(0, 'dns', ' Evil[.]COM '));
    expect(occurrence).toMatchObject({ original: ' Evil[.]COM ', observable: 'evil.com', status: 'Valid' });
  });
});
