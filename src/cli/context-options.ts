/**
 * The options of the requests beyond the lookup itself, shared by `enrich` and `lookup`: paging resolutions,
 * context relationships of hits, and submitting unknown URLs. Each costs quota, so each is off by default.
 */
import type { ParseArgsConfig } from 'node:util';
import { OptionError } from '../errors.js';
import type { LookupOptions } from '../vt/lookup-stage.js';

/** parseArgs option definitions. */
export const CONTEXT_OPTIONS = {
  resolutions: { type: 'boolean' },
  context: { type: 'boolean' },
  'context-min-positives': { type: 'string' },
  'submit-unknown-urls': { type: 'boolean' },
  'analysis-timeout': { type: 'string' },
  'analysis-poll': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** The parsed values of {@link CONTEXT_OPTIONS}. */
export interface ContextValues {
  resolutions?: boolean | undefined;
  context?: boolean | undefined;
  'context-min-positives'?: string | undefined;
  'submit-unknown-urls'?: boolean | undefined;
  'analysis-timeout'?: string | undefined;
  'analysis-poll'?: string | undefined;
}

/** The help text of {@link CONTEXT_OPTIONS}. */
export const CONTEXT_HELP = `  --resolutions              v3: page an IP's/domain's resolutions beyond the first page, which comes with the
                             object for free (one more request for each that has more)
  --context                  v3: for hits, one more request for context: a file's contacted domains, IPs and
                             URLs, a domain's or IP's communicating files (and its URLs, on Enterprise keys)
  --context-min-positives N  what counts as a hit for --context: Positives of at least N (default 1)
  --submit-unknown-urls      submit a URL VirusTotal does not know for analysis and wait for the verdict
                             (v3 POST /urls, v2 scan=1; never files); each poll is a request
  --analysis-timeout SECONDS how long to wait for a submitted URL's analysis (default 300), then 'Queued'
  --analysis-poll SECONDS    time between polls of an analysis (default 30)
`;

function whole(option: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < min)
    throw new OptionError(option, value, `a whole number of at least ${min}`);
  return number;
}

/** The lookup options {@link CONTEXT_OPTIONS} set. */
export function contextLookupOptions(values: ContextValues): Partial<LookupOptions> {
  const minPositives = whole('--context-min-positives', values['context-min-positives'], 0);
  const timeout = whole('--analysis-timeout', values['analysis-timeout'], 0);
  const poll = whole('--analysis-poll', values['analysis-poll'], 1);
  if (minPositives !== undefined && values.context !== true)
    throw new OptionError('--context-min-positives', values['context-min-positives'], 'given with --context');
  if ((timeout !== undefined || poll !== undefined) && values['submit-unknown-urls'] !== true) {
    const option = timeout === undefined ? '--analysis-poll' : '--analysis-timeout';
    throw new OptionError(option, values[option.slice(2) as 'analysis-poll'], 'given with --submit-unknown-urls');
  }
  return {
    resolutions: values.resolutions === true,
    context: values.context === true,
    submitUnknownUrls: values['submit-unknown-urls'] === true,
    ...(minPositives === undefined ? {} : { contextMinPositives: minPositives }),
    ...(timeout === undefined ? {} : { analysisTimeoutMs: timeout * 1000 }),
    ...(poll === undefined ? {} : { analysisPollMs: poll * 1000 }),
  };
}
