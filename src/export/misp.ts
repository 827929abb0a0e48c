/**
 * A MISP event (MISP core format, `{"Event": {…}}`) of a run's detections, importable with MISP's "Import from…
 * MISP JSON" or POSTed to `/events/add`.
 *
 * One attribute per detected observable (Positives ≥ the threshold), with MISP's types and categories: `ip-dst`,
 * `domain`, `url` in Network activity; `md5`, `sha1`, `sha256` in Payload delivery; `to_ids` true (they are
 * hits). The comment holds Positives/Total, the rows it was seen in and the VirusTotal link.
 *
 * Decisions:
 * - threat_level_id from the worst severity (msticpy's scale): high → 1 (High), warning → 2 (Medium),
 *   no detection above that → 3 (Low); a run without detections → 4 (Undefined).
 * - analysis 2 (Completed): the run is finished. distribution 0 (this organisation only) by default, attributes
 *   5 (inherit the event's), so nothing is shared further than its owner decides.
 * - Tags: the TLP 2.0 level (`tlp:amber`, MISP's `tlp` taxonomy) on the event; the severity as a machine tag
 *   `ioc-enrich:severity="high"` on each attribute, and the worst one on the event.
 * - The event is not published: a person reviews it first.
 */
import { randomUUID } from 'node:crypto';
import type { ObservableDigest, RunDigest, RunInfo } from '../report/digest.js';
import { detections, virusTotalLink } from '../report/digest.js';
import { tlpMispTag, type TlpLevel } from './tlp.js';

/** Options of {@link mispEvent}. */
export interface MispOptions {
  /** The run's source and times. */
  run: RunInfo;
  /** Export observables with at least this many Positives. @default 1 */
  minPositives?: number;
  /** Tag the event with this TLP 2.0 level. @default no tag */
  tlp?: TlpLevel | undefined;
  /** MISP distribution of the event: 0 organisation, 1 community, 2 connected, 3 all. @default 0 */
  distribution?: 0 | 1 | 2 | 3;
}

/** A MISP tag. */
export interface MispTag {
  readonly name: string;
}

/** A MISP attribute. */
export interface MispAttribute {
  readonly uuid: string;
  readonly type: string;
  readonly category: string;
  readonly value: string;
  readonly to_ids: boolean;
  readonly distribution: string;
  readonly comment: string;
  readonly Tag: readonly MispTag[];
}

/** A MISP event in MISP's core format. */
export interface MispEvent {
  readonly Event: {
    readonly uuid: string;
    readonly info: string;
    readonly date: string;
    readonly threat_level_id: string;
    readonly analysis: string;
    readonly distribution: string;
    readonly published: boolean;
    readonly timestamp: string;
    readonly Tag: readonly MispTag[];
    readonly Attribute: readonly MispAttribute[];
  };
}

const ATTRIBUTE_TYPES: Readonly<Record<string, readonly [type: string, category: string]>> = {
  ipv4: ['ip-dst', 'Network activity'],
  ipv6: ['ip-dst', 'Network activity'],
  dns: ['domain', 'Network activity'],
  url: ['url', 'Network activity'],
  md5_hash: ['md5', 'Payload delivery'],
  sha1_hash: ['sha1', 'Payload delivery'],
  sha256_hash: ['sha256', 'Payload delivery'],
};

const THREAT_LEVEL: Readonly<Record<string, string>> = { high: '1', warning: '2', information: '3' };

function severityTag(severity: string): MispTag {
  return { name: `ioc-enrich:severity="${severity === '' ? 'unknown' : severity}"` };
}

function attribute(observable: ObservableDigest): MispAttribute | undefined {
  const kind = ATTRIBUTE_TYPES[observable.type];
  if (kind === undefined) return undefined;
  const link = virusTotalLink(observable);
  const total = observable.total === '' ? '?' : observable.total;
  return {
    uuid: randomUUID(),
    type: kind[0],
    category: kind[1],
    value: observable.value,
    to_ids: true,
    distribution: '5',
    comment: `VirusTotal: ${observable.positives}/${total} engines malicious; seen in ${observable.occurrences} source row(s)${link === '' ? '' : `; ${link}`}`,
    Tag: [severityTag(observable.severity)],
  };
}

/** The MISP event of the detections in `digest`; a run without detections gives an event without attributes. */
export function mispEvent(digest: RunDigest, options: MispOptions): MispEvent {
  const { run } = options;
  const found = detections(digest, options.minPositives ?? 1);
  const attributes = found.map(attribute).filter((item): item is MispAttribute => item !== undefined);
  // detections() sorts by Positives, and severity grows with Positives: the first is the worst.
  const worst = found[0]?.severity ?? '';
  const tags: MispTag[] = [];
  if (options.tlp !== undefined) tags.push({ name: tlpMispTag(options.tlp) });
  if (found.length > 0) tags.push(severityTag(worst));
  return {
    Event: {
      uuid: randomUUID(),
      info: `ioc-enrich: ${attributes.length} VirusTotal detection(s) in ${run.source}`,
      date: run.finishedAt.toISOString().slice(0, 10),
      threat_level_id: found.length === 0 ? '4' : (THREAT_LEVEL[worst] ?? '3'),
      analysis: '2',
      distribution: String(options.distribution ?? 0),
      published: false,
      timestamp: String(Math.floor(run.finishedAt.getTime() / 1000)),
      Tag: tags,
      Attribute: attributes,
    },
  };
}

/** The event as JSON text: one attribute per line (a large event stays readable with grep and an editor). */
export function mispEventJson(event: MispEvent): string {
  const { Attribute: attributes, ...rest } = event.Event;
  const head = JSON.stringify({ Event: { ...rest, Attribute: [] } });
  // The attribute list is the last member: its `[]}}` is where the attributes go.
  return `${head.slice(0, -3)}\n${attributes.map((attribute) => JSON.stringify(attribute)).join(',\n')}\n]}}\n`;
}
