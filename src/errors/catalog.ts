// One catalog of the errors the hook reports, each with a stable code. `reason`
// is what a status condition carries; `httpStatus` is set for errors that end an
// HTTP request instead of becoming a condition. Messages name the VaultApp,
// path and key that are at fault, never a value.

export interface CatalogEntry {
  reason: string;
  httpStatus?: number;
  summary: string;
}

export const errorCatalog = {
  INVALID_REQUEST: { reason: 'InvalidRequest', httpStatus: 400, summary: 'the hook request is not a Metacontroller sync request' },
  INVALID_PARENT: { reason: 'InvalidSpec', httpStatus: 422, summary: 'the VaultApp does not match its schema' },
  UNSUPPORTED_MEDIA_TYPE: { reason: 'UnsupportedMediaType', httpStatus: 415, summary: 'the body is neither JSON nor YAML' },
  BODY_TOO_LARGE: { reason: 'BodyTooLarge', httpStatus: 413, summary: 'the request body is larger than the limit' },
  UNAUTHENTICATED: { reason: 'Unauthenticated', httpStatus: 401, summary: 'the call to a hook route carries no credentials' },
  FORBIDDEN: { reason: 'Forbidden', httpStatus: 403, summary: 'the call to a hook route carries credentials the hook does not accept' },
  OVERLOADED: { reason: 'Overloaded', httpStatus: 429, summary: 'the queue in front of Vault is full; Metacontroller retries after Retry-After' },
  INTERNAL: { reason: 'InternalError', httpStatus: 500, summary: 'an unexpected error in the hook' },
  VAULT_UNREACHABLE: { reason: 'VaultUnreachable', summary: 'Vault did not answer' },
  VAULT_SEALED: { reason: 'VaultUnavailable', summary: 'Vault is sealed, in standby or not initialised' },
  VAULT_AUTH_FAILED: { reason: 'AuthenticationFailed', summary: 'Vault refused the login' },
  VAULT_NO_CREDENTIALS: { reason: 'NoCredentials', summary: 'the hook has no Vault token and no service-account token to log in with' },
  ROLE_NOT_ALLOWED: { reason: 'RoleNotAllowed', summary: "the hook's allowed-roles list does not give this namespace the role" },
  SERVICE_ACCOUNT_TOKEN_FAILED: { reason: 'ServiceAccountTokenFailed', summary: "the Kubernetes API did not issue a token for the VaultApp's service account" },
  VAULT_PERMISSION_DENIED: { reason: 'PermissionDenied', summary: 'the Vault policy does not allow reading the path' },
  VAULT_PATH_NOT_FOUND: { reason: 'PathNotFound', summary: 'nothing is stored at the path' },
  VAULT_KEY_NOT_FOUND: { reason: 'KeyNotFound', summary: 'the secret at the path has no such key' },
  VAULT_VALUE_NOT_SCALAR: { reason: 'ValueNotScalar', summary: 'the value under the key is an object, a list or null' },
  DATA_FROM_TOO_MANY_KEYS: { reason: 'TooManyKeys', summary: 'the dataFrom paths hold more keys than a VaultApp copies' },
  DATA_FROM_NOT_KV: { reason: 'NotKeyValue', summary: 'a dataFrom path gives a dynamic credential (a lease), not a KV secret' },
  SECRET_TOO_LARGE: {
    reason: 'SecretTooLarge',
    summary: "the data is larger than the 1 MiB a Secret holds, or the VaultApp's reads from Vault came to more than that and a margin",
  },
  LARGE_READS_BUSY: {
    reason: 'LargeReadsBusy',
    summary: "the hook's slots for syncs reading much from Vault stayed taken by other syncs until the deadline; the next sync reads again",
  },
  TEMPLATE_ERROR: { reason: 'TemplateError', summary: 'a template of spec.vault.templates does not parse or render (unknown variable, a limit)' },
  VAULT_UNEXPECTED_RESPONSE: { reason: 'UnexpectedResponse', summary: 'Vault answered with a shape the hook does not understand' },
  VAULT_ERROR: { reason: 'VaultError', summary: 'Vault answered with an error' },
  LEASE_RENEWAL_FAILED: { reason: 'LeaseRenewalFailed', summary: "a dynamic credential's lease (or the token behind it) could not be renewed" },
  UNTRUSTED_STATE: {
    reason: 'UntrustedState',
    summary: 'state on the managed Secret (a lease record) was not written by the hook for this VaultApp: it is ignored, never acted on',
  },
  LEASE_REVOCATION_FAILED: { reason: 'LeaseRevocationFailed', summary: "a dynamic credential's lease could not be revoked at deletion" },
  VOLUME_CONFLICT: { reason: 'VolumeConflict', summary: 'the workload spec already has a volume, mount or claim template where the secret volume goes' },
  CHILD_TYPE_NOT_MANAGED: { reason: 'ChildTypeNotManaged', summary: "the CompositeController does not declare the workload's kind as a child type" },
  PORT_NOT_FOUND: { reason: 'PortNotFound', summary: 'no container declares the named metrics port' },
  SECRET_TYPE_KEYS: {
    reason: 'SecretTypeMismatch',
    summary: "the data lacks a key the Secret's type requires, or a value the type requires as JSON is not a JSON object",
  },
  SECRET_TYPE_IMMUTABLE: {
    reason: 'SecretTypeImmutable',
    summary: "spec.secret.type differs from the existing Secret's type, which Kubernetes does not let change",
  },
  NAME_TOO_LONG: { reason: 'NameTooLong', summary: 'the VaultApp name is too long for a derived child name' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof errorCatalog;

/** A problem located in one VaultApp; its message names the path, key or field. */
export interface Problem {
  code: ErrorCode;
  message: string;
}

export function problem(code: ErrorCode, message: string): Problem {
  return { code, message };
}

/** An error that ends an HTTP request with the catalog's status. */
export class HookError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Sent as Retry-After (OVERLOADED). */
  readonly retryAfterSeconds?: number;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.statusCode = httpStatusOf(code);
  }
}

export function httpStatusOf(code: ErrorCode): number {
  return (errorCatalog[code] as CatalogEntry).httpStatus ?? 500;
}

/** The catalog's code for a 4xx that Fastify raised itself (body too large, media type, a malformed body). */
export function codeOfClientError(status: number): ErrorCode {
  const found = (Object.keys(errorCatalog) as ErrorCode[]).find((c) => (errorCatalog[c] as CatalogEntry).httpStatus === status);
  return found ?? 'INVALID_REQUEST';
}
