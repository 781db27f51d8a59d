// Keeping secrets out of the hook's logs, at every level, in three layers:
//  1. serializers that keep only chosen fields of requests, replies and errors: an
//     error from an HTTP client carries its request (with X-Vault-Token) and
//     response (with the secret) as enumerable properties;
//  2. every other logged object (and every child logger's bindings) copied with what
//     is a secret blanked, at any depth: fields named for a credential (tokens, JWTs,
//     passwords, Authorization and cookie headers, the HMAC key, private keys), the
//     data of a Kubernetes Secret, the data and auth of a Vault answer, the body of an
//     HTTP exchange, the Vault material a sync read, and any string that is a sealed
//     token or a PEM private key. A generic name (config, options, request, key, value,
//     data) is not blanked for its name alone: what it holds is what an operator
//     debugging the hook needs, and the secrets inside it are blanked where they sit;
//  3. a last pass over each written line for whatever looks like a credential
//     wherever it hides, in a message too: JWTs, Vault tokens, bearer values, PEM
//     private keys.
// Values that look like nothing in particular (a database password) are kept out
// by 1 and 2 alone: nothing logs Secret data or Vault material on purpose.
// Layer 2 used to be pino's `redact` with a wildcard path per name and depth, and
// layer 3 a JSON re-parse of every line: together ~1 ms per sync, a third of the
// hook's CPU (bench/). Walking the (small) logged objects once costs a few µs.
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

// Names that hold a credential wherever they appear (compared lower-cased). A boolean
// under one of them says whether a credential is there, not what it is, and is kept.
const CREDENTIAL_KEYS = [
  'token',
  'client_token',
  'clientToken',
  'accessor',
  'jwt',
  'password',
  'secret_id',
  'wrap_info',
  'hmacKey',
  'hmac_key',
  'privateKey',
  'private_key',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-vault-token',
  // Secret data as Kubernetes takes it in plain text, and what a sync read from Vault.
  'stringData',
  'material',
  // Raw bodies of the hook's and Vault's HTTP exchanges: either may carry Secret data.
  'body',
  'payload',
];
// Fields that are secret in an object of a known shape (see secretHolder).
const HELD_SECRET_KEYS = new Set(['data', 'stringData', 'auth', 'body']);
// Fields only a Vault answer (or a PathRead of this hook) has: their `data` and `auth` are the secret.
const VAULT_ANSWER_KEYS = ['request_id', 'lease_id', 'lease_duration', 'renewable', 'wrap_info', 'engine'];
const CENSOR = '[redacted]';

// Every pattern here is linear in the line's length: scrubbing runs on every line
// written, and a request path is the caller's to choose (a 15 KB "eyJeyJ…" path once
// took 764 ms with a JWT pattern that rescanned the same run from each "eyJ").
// Vault service/batch/recovery tokens and legacy s./b. tokens: a bounded or
// unambiguous run after a literal prefix, tried once per prefix.
// "Bearer"/"Basic": the separators and the value are disjoint character classes,
// so the only backtracking is back over the separators, once per keyword.
const CREDENTIAL_PATTERNS: [RegExp, string][] = [
  [/\bhv[sbr]\.[A-Za-z0-9_-]{16,}/g, '[redacted-vault-token]'],
  [/\b[sb]\.[A-Za-z0-9]{24}\b/g, '[redacted-vault-token]'],
  [/(Bearer|Basic)(\s|\\u0020|%20)+[^\s"\\]+/gi, '$1 [redacted]'],
  // The key runs to the next "-" (base64 and an escaped newline hold none) or the end of
  // the JSON string; the keyword run before "PRIVATE KEY" is read once per "-----BEGIN ".
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[^-"\n]*(?:-----END [A-Z0-9 ]*PRIVATE KEY-----)?/g, '[redacted-private-key]'],
];

// JWTs (service-account tokens): "eyJ" and at least 8 more characters, a dot, at
// least 8, a dot, then the signature; the "eyJ" may start anywhere in its run (an
// escaped "\\n" or a URL-encoded "=" may precede it). Matched in two steps so each
// run of token characters is read a bounded number of times: a chain of dotted runs
// is found from the start of its first run (the lookbehind), then walked segment by
// segment in plain code.
const DOTTED_RUNS = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)+/g;
const JWT_CENSOR = '[redacted-jwt]';

/** A chain of dotted runs with its JWTs censored, as /eyJ[..]{8,}\.[..]{8,}\.[..]*\/g would. */
function censorJwts(chain: string): string {
  const segments = chain.split('.');
  const out: string[] = [];
  let i = 0;
  while (i < segments.length) {
    const seg = segments[i]!;
    const at = seg.indexOf('eyJ');
    // The first "eyJ" of a segment has the most characters after it: if it is too
    // close to the end, so is every later one.
    if (at >= 0 && seg.length - at - 3 >= 8 && i + 2 < segments.length && segments[i + 1]!.length >= 8) {
      out.push(seg.slice(0, at) + JWT_CENSOR);
      i += 3;
    } else {
      out.push(seg);
      i += 1;
    }
  }
  return out.join('.');
}

const CREDENTIALS = new Set(CREDENTIAL_KEYS.map((k) => k.toLowerCase()));

/** A Kubernetes Secret, a Vault answer, or an HTTP exchange (headers beside its body): its data is secret. */
function secretHolder(obj: object): boolean {
  return (obj as { kind?: unknown }).kind === 'Secret' || 'headers' in obj || VAULT_ANSWER_KEYS.some((k) => k in obj);
}

// A token sealed for a lease record (src/vault/token-seal.ts: "v2." and at least 29 bytes
// of base64), and a PEM private key: secret under any name.
const SEALED = /^v2\.[A-Za-z0-9+/]{38,}={0,2}$/;
const secretString = (v: string): boolean => v.length >= 41 && (v.includes('PRIVATE KEY-----') || SEALED.test(v));

function censorField(k: string, v: unknown, holder: boolean, depth: number): unknown {
  if (v === CENSOR || v === null || v === undefined) return v;
  if (CREDENTIALS.has(k.toLowerCase()) && typeof v !== 'boolean') return CENSOR;
  if (holder && HELD_SECRET_KEYS.has(k)) return CENSOR;
  return censorDeep(v, depth);
}

function censorDeep(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return secretString(value) ? CENSOR : value;
  if (value === null || typeof value !== 'object' || depth > 64) return value;
  if (Array.isArray(value)) return value.map((v) => censorDeep(v, depth + 1));
  const holder = secretHolder(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = censorField(k, v, holder, depth + 1);
  return out;
}

export function scrubCredentials(line: string): string {
  let out = line.includes('eyJ') ? line.replace(DOTTED_RUNS, (chain) => (chain.includes('eyJ') ? censorJwts(chain) : chain)) : line;
  for (const [pattern, replacement] of CREDENTIAL_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

// Keys pino hands to a serializer of ours (layer 1), which picks its fields itself:
// walking a Fastify request or reply object instead would be costly and pointless.
const SERIALIZED = new Set(['req', 'res', 'err', 'error']);

/** Layer 2 for one logged object or a child logger's bindings: what is a secret blanked at any depth. */
export function censorLogObject(obj: Record<string, unknown>): Record<string, unknown> {
  const holder = secretHolder(obj);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    out[k] = SERIALIZED.has(k) ? v : censorField(k, v, holder, 0);
  }
  return out;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  hostname?: string;
  ip?: string;
  socket?: { remoteAddress?: string; remotePort?: number };
  routeOptions?: { url?: string };
}

// Method, path (no query string), host and peer: never headers or body.
function requestSerializer(req: LoggedRequest): Record<string, unknown> {
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
  const out: Record<string, unknown> = {
    type: e.constructor?.name ?? 'Error',
    message: typeof e.message === 'string' ? e.message : '',
    stack: typeof e.stack === 'string' ? e.stack : undefined,
  };
  for (const f of ERROR_FIELDS) {
    const v = e[f];
    if (typeof v === 'string' || typeof v === 'number') out[f] = v;
  }
  if (Array.isArray(e.vaultErrors)) out.vaultErrors = e.vaultErrors.filter((x) => typeof x === 'string');
  if (e.cause !== undefined && depth < 3) out.cause = errorSerializer(e.cause, depth + 1);
  return out;
}

// Status code only: a reply (Fastify's or a raw ServerResponse) holds the answer, Secret data included.
function replySerializer(res: { statusCode?: unknown }): Record<string, unknown> {
  return { statusCode: typeof res?.statusCode === 'number' ? res.statusCode : undefined };
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    serializers: { req: requestSerializer, res: replySerializer, err: errorSerializer, error: errorSerializer },
    formatters: { log: censorLogObject, bindings: censorLogObject },
    hooks: { streamWrite: scrubCredentials },
  };
}

/**
 * A logger with the hook's redaction, e.g. writing to a stream a test captures.
 * pino gives a child's bindings to the bindings formatter of the root only (a child
 * gets a formatter that passes them through), so `child` is wrapped to censor them:
 * a child made from a child inherits the wrapper (pino builds it with Object.create).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const log = destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
  const child = log.child;
  log.child = function (this: Logger, bindings, options) {
    return child.call(this, censorLogObject(bindings), options);
  } as Logger['child'];
  return log;
}
