/**
 * Traffic Light Protocol 2.0 levels, as STIX 2.1 marking definitions and MISP tags.
 *
 * The marking-definition objects are the ones OASIS published for the TLP 2.0 extension
 * (oasis-open/cti-stix-common-objects, extension-definition-specifications/tlp-2.0): fixed ids and `created`, so
 * every consumer recognises them. STIX 2.1 itself predefines only the TLP 1.0 markings, which have no CLEAR and
 * no AMBER+STRICT.
 */

/** The TLP 2.0 levels. */
export const TLP_LEVELS = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const;

/** One of {@link TLP_LEVELS}. */
export type TlpLevel = (typeof TLP_LEVELS)[number];

/** True when `value` is a TLP 2.0 level (lower case, as the option takes it). */
export function isTlpLevel(value: string): value is TlpLevel {
  return (TLP_LEVELS as readonly string[]).includes(value);
}

/** The TLP 2.0 extension's definition id. */
const TLP_EXTENSION_ID = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

const MARKING_IDS: Readonly<Record<TlpLevel, string>> = {
  clear: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'amber+strict': 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};

/** A TLP 2.0 marking-definition object, as published. */
export interface TlpMarkingDefinition {
  readonly type: 'marking-definition';
  readonly spec_version: '2.1';
  readonly id: string;
  readonly created: string;
  readonly name: string;
  readonly extensions: Readonly<Record<string, { extension_type: 'property-extension'; tlp_2_0: TlpLevel }>>;
}

/** The published marking definition of `level`. */
export function tlpMarkingDefinition(level: TlpLevel): TlpMarkingDefinition {
  return {
    type: 'marking-definition',
    spec_version: '2.1',
    id: MARKING_IDS[level],
    created: '2022-10-01T00:00:00.000Z',
    name: `TLP:${level.toUpperCase()}`,
    extensions: { [TLP_EXTENSION_ID]: { extension_type: 'property-extension', tlp_2_0: level } },
  };
}

/** MISP's tag for `level` (the `tlp` taxonomy). */
export function tlpMispTag(level: TlpLevel): string {
  return `tlp:${level}`;
}
