import type { LoggerOptions } from 'pino';

// Anything that can carry a secret or a credential is censored before it is
// written: Secret data, Vault responses, tokens, JWTs, Authorization headers.
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-vault-token"]',
  'req.headers.cookie',
  '*.data', '*.*.data',
  '*.token', '*.client_token', '*.jwt', '*.hmacKey',
  '*.auth', 'material', 'body', '*.body',
];

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
}
