// Keeping secrets out of the hook's logs, at every level, in three layers:
//  1. serializers that keep only chosen fields of requests and errors: an error
//     from an HTTP client carries its request (with X-Vault-Token) and response
//     (with the secret) as enumerable properties;
//  2. pino's redact on every field name that can carry Secret data, a Vault
//     response, a token, a JWT or an Authorization header, at any depth up to
//     REDACT_DEPTH;
//  3. a last pass over each written line: the same field names censored at any
//     depth (pino's wildcards stop at REDACT_DEPTH), then whatever looks like a
//     credential wherever it hides, in a message too: JWTs, Vault tokens, bearer values.
// Values that look like nothing in particular (a database password) are kept out
// by 1 and 2 alone: nothing logs Secret data or Vault material on purpose.
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

const SENSITIVE_KEYS = [
  // Secret and Vault data
  'data', 'stringData', 'material', 'secret', 'secrets_data', 'value', 'values',
  // requests and responses that may hold either
  'body', 'payload', 'response', 'request', 'config', 'options',
  // credentials
  'token', 'client_token', 'clientToken', 'accessor', 'jwt', 'password', 'secret_id', 'auth', 'wrap_info',
  'hmacKey', 'hmac_key', 'key', 'privateKey', 'authorization', 'Authorization', 'cookie', 'x-vault-token', 'X-Vault-Token',
];
const REDACT_DEPTH = 4;

const segment = (key: string): string => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`);

/** `key`, `*.key`, `*.*.key`, …: pino's wildcards match one level each. */
export const REDACT_PATHS: string[] = SENSITIVE_KEYS.flatMap((key) => Array.from({ length: REDACT_DEPTH }, (_, depth) => {
  const path = `${'*.'.repeat(depth)}${segment(key).replace(/^\./, '')}`;
  return path.replace(/\.\[/g, '[');
}));

const CENSOR = '[redacted]';

// JWTs (service-account tokens), Vault service/batch/recovery tokens and legacy
// s./b. tokens, and whatever follows "Bearer".
const CREDENTIAL_PATTERNS: [RegExp, string][] = [
  [/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  [/\bhv[sbr]\.[A-Za-z0-9_-]{16,}/g, '[redacted-vault-token]'],
  [/\b[sb]\.[A-Za-z0-9]{24}\b/g, '[redacted-vault-token]'],
  [/(Bearer|Basic)(\s|\\u0020|%20)+[^\s"\\]+/gi, '$1 [redacted]'],
];

const SENSITIVE = new Set(SENSITIVE_KEYS.map((k) => k.toLowerCase()));

function censorDeep(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object' || depth > 64) return value;
  if (Array.isArray(value)) return value.map((v) => censorDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SENSITIVE.has(k.toLowerCase()) && v !== CENSOR ? CENSOR : censorDeep(v, depth + 1);
  return out;
}

export function scrubCredentials(line: string): string {
  let out = line;
  if (out.startsWith('{')) {
    try {
      out = `${JSON.stringify(censorDeep(JSON.parse(out), 0))}${line.endsWith('\n') ? '\n' : ''}`;
    } catch {
      // not one JSON object: the patterns below still apply
    }
  }
  for (const [pattern, replacement] of CREDENTIAL_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

interface RawRequest { method?: string; url?: string; host?: string; hostname?: string; ip?: string; socket?: { remoteAddress?: string; remotePort?: number }; routeOptions?: { url?: string } }

// Method, path (no query string), host and peer: never headers or body.
function requestSerializer(req: RawRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? req.url.split('?')[0] : undefined,
    host: req.host ?? req.hostname,
    remoteAddress: req.ip ?? req.socket?.remoteAddress,
    remotePort: req.socket?.remotePort,
  };
}

const ERROR_FIELDS = ['code', 'statusCode', 'status', 'kind', 'validationContext'] as const;

// Type, message, stack and a few scalar fields; nothing an HTTP client attached.
export function errorSerializer(err: unknown, depth = 0): unknown {
  if (err === null || typeof err !== 'object') return { message: String(err) };
  const e = err as Error & Record<string, unknown>;
  const out: Record<string, unknown> = { type: e.constructor?.name ?? 'Error', message: typeof e.message === 'string' ? e.message : '', stack: typeof e.stack === 'string' ? e.stack : undefined };
  for (const f of ERROR_FIELDS) {
    const v = e[f];
    if (typeof v === 'string' || typeof v === 'number') out[f] = v;
  }
  if (Array.isArray(e.vaultErrors)) out.vaultErrors = e.vaultErrors.filter((x) => typeof x === 'string');
  if (e.cause !== undefined && depth < 3) out.cause = errorSerializer(e.cause, depth + 1);
  return out;
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    serializers: { req: requestSerializer, err: errorSerializer, error: errorSerializer },
    hooks: { streamWrite: scrubCredentials },
  };
}

/** A logger with the hook's redaction, e.g. writing to a stream a test captures. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}
