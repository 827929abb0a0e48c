/**
 * The network options of `enrich` and `lookup`: the proxy, NO_PROXY and extra CA certificates, from flags or
 * the environment (flags win). The library reads no environment; this resolves it into explicit options.
 *
 * Decisions:
 * - The proxy comes from `--proxy`, else, as curl reads them, `https_proxy`/`HTTPS_PROXY` for an https:// server
 *   (`http_proxy`/`HTTP_PROXY` for an http:// one), else `all_proxy`/`ALL_PROXY`; lower-case first, empty values
 *   unset. Unlike curl, upper-case `HTTP_PROXY` counts too: curl ignores it only to protect CGI scripts.
 * - `--proxy ''` means no proxy, whatever the environment says (as curl).
 * - `--emulator` ignores proxies from the environment: the emulator runs in this process on 127.0.0.1, which a
 *   corporate proxy cannot reach. `--proxy` still applies (you asked for it).
 * - NO_PROXY applies to `--proxy` too (as curl); `--noproxy LIST` replaces it (`--noproxy ''`: none).
 * - `--ca-file`: Node trusts a `ca` list *instead of* its default store, which holds NODE_EXTRA_CA_CERTS, so
 *   those certificates are read here and passed along too: both work, alone or together.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { IocEnrichError, OptionError } from '../errors.js';
import type { LookupOptions } from '../vt/lookup-stage.js';
import { noProxyMatches, parseProxyUrl, portOf } from '../vt/proxy.js';
import { unreadableFile } from './io.js';

/** parseArgs option definitions. */
export const PROXY_OPTIONS = {
  proxy: { type: 'string' },
  noproxy: { type: 'string' },
  'ca-file': { type: 'string' },
} as const;

/** The parsed values of {@link PROXY_OPTIONS}. */
export interface ProxyValues {
  proxy?: string | undefined;
  noproxy?: string | undefined;
  'ca-file'?: string | undefined;
}

/** The help text of {@link PROXY_OPTIONS}. */
export const PROXY_HELP = `Network:
  --proxy URL                HTTP(S) proxy: http://[user:password@]host:port (never printed or logged);
                             default HTTPS_PROXY (HTTP_PROXY for an http:// server), else ALL_PROXY,
                             lower-case forms first; --proxy '' for none
  --noproxy LIST             hosts reached directly, as curl's NO_PROXY (the default):
                             example.com,.corp.example,10.0.0.0/8,[::1]:8443 or *
  --ca-file PEM              trust these CA certificates too (a proxy that inspects TLS signs with its own
                             CA); NODE_EXTRA_CA_CERTS=PEM works as well
`;

/** The first non-empty of the named variables, and its name. */
function fromEnv(env: NodeJS.ProcessEnv, names: readonly string[]): { value: string; name: string } | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') return { value, name };
  }
  return undefined;
}

async function readPemFile(file: string, what: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw unreadableFile(file, what, error);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    throw new IocEnrichError('BAD_INPUT', `${file}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the ${what}`);
  }
  blocks.forEach((block, index) => {
    try {
      new X509Certificate(block);
    } catch {
      throw new IocEnrichError('BAD_INPUT', `${file}: certificate ${index + 1} of the ${what} cannot be read`);
    }
  });
  return blocks;
}

/**
 * The proxy, NO_PROXY and CA options for a server at `baseUrl`; logs (at info) which way requests go, naming
 * the proxy by host:port only.
 */
export async function resolveNetwork(
  values: ProxyValues,
  env: NodeJS.ProcessEnv,
  baseUrl: string,
  context: { emulator: boolean; logger: Logger },
): Promise<Pick<LookupOptions, 'proxy' | 'noProxy' | 'ca'>> {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    return {}; // the lookup options' validation names the bad --vt-url
  }
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const chosen =
    values.proxy !== undefined
      ? { value: values.proxy, name: '--proxy' }
      : context.emulator
        ? undefined
        : fromEnv(env, [`${scheme}_proxy`, `${scheme.toUpperCase()}_PROXY`, 'all_proxy', 'ALL_PROXY']);
  const noProxy =
    values.noproxy !== undefined
      ? { value: values.noproxy, name: '--noproxy' }
      : fromEnv(env, ['no_proxy', 'NO_PROXY']);
  const options: Pick<LookupOptions, 'proxy' | 'noProxy' | 'ca'> = {};
  if (chosen !== undefined && chosen.value.trim() !== '') {
    // Parsed here too, so that a bad value is named by where it came from (with its credentials cut out).
    const endpoint = parseProxyUrl(chosen.value, chosen.name);
    if (noProxy !== undefined && noProxyMatches(url.hostname, portOf(url), noProxy.value)) {
      context.logger.info({ host: url.host, from: noProxy.name }, 'the server is exempt from the proxy: direct');
    } else {
      context.logger.info({ proxy: endpoint.display, from: chosen.name }, 'VirusTotal requests go through a proxy');
    }
    options.proxy = chosen.value;
    if (noProxy !== undefined) options.noProxy = noProxy.value;
  }
  const caFile = values['ca-file'];
  if (caFile !== undefined) {
    if (caFile === '') throw new OptionError('--ca-file', caFile, 'a PEM file of CA certificates');
    const ca = await readPemFile(caFile, 'CA file');
    const extra = env['NODE_EXTRA_CA_CERTS'];
    // Node already warned at start-up if it could not read this file; then it adds nothing here either.
    if (extra !== undefined && extra !== '')
      ca.push(...(await readPemFile(extra, 'NODE_EXTRA_CA_CERTS file').catch(() => [])));
    options.ca = ca;
  }
  return options;
}
