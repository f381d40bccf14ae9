import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Fields that may hold a secret, wherever genjobs or a library might log them: the request's
 * Authorization header (and the other credential headers), API keys, worker, admin and metrics
 * tokens, webhook secrets and provider credentials. pino replaces their values before a line is
 * written. Only exact paths: a `*.` wildcard path made every line cost about 25 µs more (measured
 * by bench/observability.mjs), so nothing logs objects that hold secrets in other places; a
 * test logs a full scenario and searches the output for every secret it used.
 */
const SECRET_FIELDS = ['authorization', 'cookie', 'token', 'key', 'apiKey', 'api_key', 'secret', 'webhookSecret', 'webhook_secret', 'password'];
const HEADERS = ['authorization', 'Authorization', 'cookie', '["x-api-key"]', '["proxy-authorization"]'];
const at = (prefix: string, names: string[]) => names.map((n) => (n.startsWith('[') ? `${prefix}${n}` : `${prefix}.${n}`));

export const REDACT_PATHS: readonly string[] = [
  ...SECRET_FIELDS,
  ...at('headers', HEADERS), ...at('req.headers', HEADERS), ...at('request.headers', HEADERS),
  ...at('err.config.headers', HEADERS), ...at('err.request.headers', HEADERS), ...at('err.cause.headers', HEADERS), ...at('err.headers', HEADERS),
  ...at('worker', ['token']), ...at('key', ['key']), ...at('user', ['webhookSecret', 'previousWebhookSecret']), ...at('provider', ['token']),
];

export const REDACTED = '[redacted]';

/** The process's logger: JSON lines on stdout (or `destination`), secrets redacted. */
export function createLogger(level: pino.LevelWithSilent, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = { level, redact: { paths: [...REDACT_PATHS], censor: REDACTED } };
  return destination ? pino(options, destination) : pino(options);
}
