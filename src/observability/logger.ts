import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Fields that may hold a secret, wherever genjobs or a library might log them: the request's
 * Authorization header (and the other credential headers), API keys, worker, admin and metrics
 * tokens, webhook secrets and provider credentials. pino replaces their values before a line is
 * written. Paths are explicit (pino's redaction has no "any depth" form): a test logs a full
 * scenario and searches the output for every secret it used.
 */
export const REDACT_PATHS: readonly string[] = [
  'authorization', 'cookie', 'token', 'key', 'apiKey', 'api_key', 'secret', 'webhookSecret', 'webhook_secret', 'password',
  'headers.authorization', 'headers.cookie', 'headers["x-api-key"]',
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]',
  'request.headers.authorization', 'res.headers["set-cookie"]',
  '*.authorization', '*.token', '*.key', '*.apiKey', '*.api_key', '*.secret', '*.webhookSecret', '*.webhook_secret', '*.password',
  '*.headers.authorization', '*.headers.Authorization', '*.headers["x-api-key"]',
  'err.config.headers.Authorization', 'err.config.headers.authorization', 'err.cause.headers.authorization',
];

export const REDACTED = '[redacted]';

/** The process's logger: JSON lines on stdout (or `destination`), secrets redacted. */
export function createLogger(level: pino.LevelWithSilent, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = { level, redact: { paths: [...REDACT_PATHS], censor: REDACTED } };
  return destination ? pino(options, destination) : pino(options);
}
