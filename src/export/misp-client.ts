/**
 * Sends a MISP event to a MISP instance (`POST /events/add`, MISP's REST API with an automation key). Failures are
 * one-line ApiErrors with the key redacted; the key is never part of any message.
 */
import { redact } from '../redact.js';
import { ApiError } from '../errors.js';
import type { MispEvent } from './misp.js';

/** Options of {@link postMispEvent}. */
export interface MispPostOptions {
  /** The MISP base URL (`https://misp.example.org`, or with a path prefix). */
  url: string;
  /** The automation key (sent as the Authorization header). */
  apiKey: string;
  /** Give up after this long. @default 60 s */
  timeoutMs?: number;
}

/** What MISP answered. */
export interface MispPostResult {
  /** The new event's id and uuid, as MISP answered them ('' when its reply did not say). */
  readonly id: string;
  readonly uuid: string;
}

const MAX_DETAIL = 200;

/** One line of MISP's error reply: its `message` or `errors`, else the start of the body. */
function detail(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const pieces = [record['message'], record['name'], record['errors']]
    .filter((value) => value !== undefined && value !== '')
    .map((value) => (typeof value === 'string' ? value : JSON.stringify(value)));
  const text = pieces.length > 0 ? pieces.join(': ') : body;
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL)}…` : line;
}

/** The `/events/add` endpoint under `base` (a path prefix is kept). */
export function mispEndpoint(base: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new ApiError('API_ERROR', `MISP: \`${base}\` is not a URL`, {});
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ApiError('API_ERROR', `MISP: \`${base}\` is not an http(s) URL`, {});
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/events/add`;
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * POSTs `event` to MISP. Resolves with the new event's id and uuid.
 *
 * @throws ApiError (`AUTHENTICATION` for 401/403, `API_ERROR` otherwise) with one line: the HTTP status and
 *   MISP's message, or the network problem; never the key.
 */
export async function postMispEvent(event: MispEvent, options: MispPostOptions): Promise<MispPostResult> {
  const endpoint = mispEndpoint(options.url);
  const key = options.apiKey;
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { Authorization: key, Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify(event),
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
    throw new ApiError('API_ERROR', redact(`MISP ${endpoint.origin}: request failed: ${reason}`, key), {
      cause: error,
    });
  }
  const body = await response.text().catch(() => '');
  if (!response.ok) {
    const code = response.status === 401 || response.status === 403 ? 'AUTHENTICATION' : 'API_ERROR';
    throw new ApiError(
      code,
      redact(`MISP ${endpoint.origin} refused the event: HTTP ${response.status} ${detail(body)}`.trimEnd(), key),
      { status: response.status },
    );
  }
  let reply: unknown;
  try {
    reply = JSON.parse(body);
  } catch {
    throw new ApiError('API_ERROR', redact(`MISP ${endpoint.origin}: the reply is not JSON: ${detail(body)}`, key), {
      status: response.status,
    });
  }
  const created = (reply as { Event?: { id?: unknown; uuid?: unknown } } | null)?.Event;
  return {
    id: typeof created?.id === 'string' || typeof created?.id === 'number' ? String(created.id) : '',
    uuid: typeof created?.uuid === 'string' ? created.uuid : '',
  };
}
