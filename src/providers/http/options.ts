import type { ProviderRef } from '../../catalog/model.js';

/** What every HTTP adapter reads from its model's `provider` object in the catalog. */
export interface HttpProviderOptions {
  /** Base URL of the service's API. (Default: the service's public API) */
  baseUrl: string;
  /** Name of the environment variable that holds the credential; the value is never logged. */
  tokenEnv: string | null;
  /** Our input key -> the upstream input key; keys not listed pass under their own name. (Default: none) */
  inputMap: Record<string, string>;
  /** Fixed fields added to every upstream input. (Default: none) */
  staticInput: Record<string, unknown>;
  /** Copy output files into genjobs' own storage, so URLs do not expire with the provider's. (Default: true) */
  copyOutputs: boolean;
  /**
   * Let output copies (and their redirects) reach private or loopback addresses on hosts other
   * than `baseUrl`'s origin, which is always trusted. (Default: false)
   */
  allowPrivateOutputs: boolean;
  /** Time to open a connection. (Default: 10000 ms) */
  connectTimeoutMs: number;
  /** Longest wait for one answer. (Default: 60000 ms) */
  requestTimeoutMs: number;
  /** Retries after a connection error, a 5xx or a 429. (Default: 3) */
  retries: number;
  /** First retry delay, doubled each time, with jitter. (Default: 500 ms) */
  backoffMs: number;
  /** Longest single delay, Retry-After included. (Default: 30000 ms) */
  maxBackoffMs: number;
  /** Time between status polls of a running prediction. (Default: 1000 ms) */
  pollIntervalMs: number;
}

export class ProviderConfigError extends Error {
  override name = 'ProviderConfigError';
}

/** Reads the common HTTP settings of a catalog `provider` object; a bad one stops the start. */
export function httpOptions(ref: ProviderRef, modelId: string, defaults: { baseUrl: string; tokenEnv: string | null }): HttpProviderOptions {
  const fail = (key: string, problem: string): never => {
    throw new ProviderConfigError(`Model ${modelId}: provider.${key} ${problem}`);
  };
  const num = (key: string, fallback: number, min: number): number => {
    const v = ref[key];
    if (v === undefined) return fallback;
    return typeof v === 'number' && Number.isInteger(v) && v >= min ? v : fail(key, `must be a whole number of at least ${min}`);
  };
  const obj = <T>(key: string): Record<string, T> => {
    const v = ref[key];
    if (v === undefined) return {};
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, T>) : fail(key, 'must be an object');
  };
  const baseUrl = ref.base_url ?? defaults.baseUrl;
  if (typeof baseUrl !== 'string' || !/^https?:\/\//.test(baseUrl)) fail('base_url', 'must be an http(s) URL');
  const tokenEnv = ref.token_env === undefined ? defaults.tokenEnv : ref.token_env;
  if (tokenEnv !== null && (typeof tokenEnv !== 'string' || !/^[A-Z_][A-Z0-9_]*$/.test(tokenEnv))) fail('token_env', 'must name an environment variable, such as REPLICATE_API_TOKEN');
  const inputMap = obj<string>('input_map');
  if (!Object.values(inputMap).every((v) => typeof v === 'string')) fail('input_map', 'must map input keys to strings');
  if (ref.copy_outputs !== undefined && typeof ref.copy_outputs !== 'boolean') fail('copy_outputs', 'must be true or false');
  if (ref.allow_private_outputs !== undefined && typeof ref.allow_private_outputs !== 'boolean') fail('allow_private_outputs', 'must be true or false');
  return {
    baseUrl: (baseUrl as string).replace(/\/+$/, ''),
    tokenEnv: tokenEnv as string | null,
    inputMap,
    staticInput: obj<unknown>('static_input'),
    copyOutputs: ref.copy_outputs !== false,
    allowPrivateOutputs: ref.allow_private_outputs === true,
    connectTimeoutMs: num('connect_timeout_ms', 10_000, 1),
    requestTimeoutMs: num('request_timeout_ms', 60_000, 1),
    retries: num('retries', 3, 0),
    backoffMs: num('backoff_ms', 500, 1),
    maxBackoffMs: num('max_backoff_ms', 30_000, 1),
    pollIntervalMs: num('poll_interval_ms', 1_000, 1),
  };
}

/** The run's input under the upstream's names, with the fixed fields added. */
export function mapInput(o: HttpProviderOptions, input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...o.staticInput };
  for (const [key, value] of Object.entries(input)) out[o.inputMap[key] ?? key] = value;
  return out;
}

/** The credential, read when a run needs it; a missing one fails the run with a message that names the variable. */
export function token(o: HttpProviderOptions, modelId: string): string | null {
  if (o.tokenEnv === null) return null;
  const value = process.env[o.tokenEnv];
  if (!value) throw new Error(`${modelId} cannot run: the environment variable ${o.tokenEnv} is not set on this server.`);
  return value;
}

/** Where this provider's output copies may connect (src/providers/http/outputs.ts). */
export function outputOrigins(o: HttpProviderOptions): { trustedOrigin: string; allowPrivate: boolean } {
  return { trustedOrigin: new URL(o.baseUrl).origin, allowPrivate: o.allowPrivateOutputs };
}
