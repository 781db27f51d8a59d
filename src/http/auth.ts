// Who may call /sync and /finalize. A sync answer carries Secret data read from
// Vault, and a sync request makes the hook log in to Vault as the VaultApp's
// service account: anyone who can reach the port could otherwise have the hook
// read Vault for them. Metacontroller proves itself with the bearer token from a
// Secret (webhook `authorization`) and/or a client certificate (`clientTLS`).
//
// The check runs onRequest, before the body is read or parsed, so a refused call
// costs no parsing and never reaches Vault. /healthz and /readyz stay open: the
// kubelet's probes carry no credentials.
import type { TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Config, HookSecurityConfig } from '../config/config.js';
import { errorCatalog } from '../errors/catalog.js';
import type { AuthObserver, AuthRefusal } from '../metrics/metrics.js';
import type { HookCredentials } from './credentials.js';

const BEARER = /^Bearer +(\S+) *$/i;

function refuseWith(req: FastifyRequest, reply: FastifyReply, code: AuthRefusal, message: string, observer?: AuthObserver): FastifyReply {
  observer?.authRefused(code);
  // Never the header's value: a near-miss token is still most of a token.
  req.log.warn({ code, route: req.routeOptions.url, remoteAddress: req.ip }, `refused hook call: ${message}`);
  if (code === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer realm="vaultapp-hook"');
  return reply.code(errorCatalog[code].httpStatus).send({ code, message });
}

export function hookAuthentication(credentials: HookCredentials, observer?: AuthObserver): onRequestHookHandler {
  const refuse = (req: FastifyRequest, reply: FastifyReply, code: AuthRefusal, message: string): FastifyReply =>
    refuseWith(req, reply, code, message, observer);
  return async function authenticate(req, reply) {
    if (credentials.clientCertRequired) {
      // requestCert without rejectUnauthorized at the TLS layer (the probes must get
      // through), so the verdict of the handshake is checked here.
      const socket = req.raw.socket as Partial<TLSSocket>;
      const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
      if (!cert || Object.keys(cert).length === 0) return refuse(req, reply, 'UNAUTHENTICATED', 'a client certificate is required');
      if (socket.authorized !== true) return refuse(req, reply, 'FORBIDDEN', 'the client certificate is not signed by an accepted CA');
    }
    if (credentials.bearerRequired) {
      const header = req.headers.authorization;
      if (header === undefined || header.trim() === '' || /^Bearer *$/i.test(header.trim())) {
        return refuse(req, reply, 'UNAUTHENTICATED', 'a bearer token is required in the Authorization header');
      }
      const token = BEARER.exec(header)?.[1];
      if (token === undefined || !credentials.tokenAccepted(token))
        return refuse(req, reply, 'FORBIDDEN', 'the credentials in the Authorization header are not accepted');
    }
    req.log.trace({ bearerToken: credentials.bearerRequired, clientCertificate: credentials.clientCertRequired }, 'hook caller authenticated');
  };
}

/** Whether callers of /sync and /finalize must prove themselves (a bearer token or a client certificate). */
export function authenticatesCallers(s: HookSecurityConfig): boolean {
  return s.tokenFile !== undefined || s.tls?.clientCaFile !== undefined;
}

/**
 * Why the hook must not start with this configuration, or undefined. In a cluster
 * (kubernetes auth) an unauthenticated hook hands Vault-backed Secret data to
 * whoever reaches its port, so authentication is required unless switched off
 * explicitly with VAULTAPP_HOOK_AUTH=none.
 */
export function hookSecurityProblem(config: Pick<Config, 'auth'> & { hookSecurity: HookSecurityConfig }): string | undefined {
  const s = config.hookSecurity;
  if (s.mode === 'none') return undefined;
  const required = s.mode === 'required' || config.auth.method === 'kubernetes';
  if (!required || authenticatesCallers(s)) return undefined;
  return (
    `${s.mode === 'required' ? 'VAULTAPP_HOOK_AUTH=required' : 'in a cluster (VAULTAPP_AUTH=kubernetes)'} /sync and /finalize must be authenticated: ` +
    'set VAULTAPP_AUTH_TOKEN_FILE (the bearer token Metacontroller sends, e.g. a mounted Secret) and/or ' +
    'VAULTAPP_TLS_CLIENT_CA_FILE (client certificates; with VAULTAPP_TLS_CERT_FILE and VAULTAPP_TLS_KEY_FILE), ' +
    'or VAULTAPP_HOOK_AUTH=none to rely on a NetworkPolicy alone'
  );
}

export function describeHookSecurity(s: HookSecurityConfig | undefined): Record<string, unknown> {
  return {
    tls: s?.tls !== undefined,
    bearerToken: s?.tokenFile !== undefined,
    clientCertificates: s?.tls?.clientCaFile !== undefined,
    ...(s?.mode ? { mode: s.mode } : {}),
  };
}
