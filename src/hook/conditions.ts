// The VaultApp's status conditions: which there are, when each last changed, and
// VaultAuthenticated, the one that depends on more than this sync (below).
import { isoSeconds, type VaultMaterial } from './contract.js';
import type { Condition, VaultApp } from '../api/vaultapp-schema.js';
import { errorCatalog, type Problem } from '../errors/catalog.js';

export const CONDITION_TYPES = ['VaultAuthenticated', 'SecretsSynced', 'DeploymentReady', 'StatefulSetReady', 'MonitoringReady', 'Ready'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export interface ConditionInput {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

// Status is replaced wholesale on every sync, so lastTransitionTime must be
// carried over from the previous status whenever the status value is unchanged;
// a fresh timestamp on every sync would make Metacontroller write every time.
export function withTransitionTimes(inputs: ConditionInput[], previous: Condition[] | undefined, now: Date, generation: number | undefined): Condition[] {
  return inputs.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = before && before.status === c.status ? before.lastTransitionTime : isoSeconds(now);
    const message = c.message.length > 2000 ? `${c.message.slice(0, 1997)}...` : c.message;
    return {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message,
      lastTransitionTime,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    };
  });
}

// VaultAuthenticated, and the fact behind it that the managed Secret's state carries
// (./carried-state/refresh-state.ts `login`). A sync that asked Vault says what Vault answered. One
// that asked nothing (every path fresh, every lease in use) says what the last sync that
// asked found, as the Secret's MAC'd state remembers it: never what the parent's status
// shows, since Metacontroller may send the status of one or two answers before (its
// informer lags its own status write), and a condition copied from it would flip back and forth. Pure.

/** Whether the last sync that asked Vault got in: a login, or a cached token Vault accepted. */
export type LoginFact = 'ok' | 'failed';

export function vaultAuthenticated(app: VaultApp, material: VaultMaterial, carried: LoginFact | undefined): ConditionInput {
  if (!material.auth.ok) {
    // A login Vault never answered says nothing about the role: Unknown, not False.
    const problem = material.auth.problem;
    return {
      type: 'VaultAuthenticated',
      status: unanswered(problem) ? 'Unknown' : 'False',
      reason: errorCatalog[problem.code].reason,
      message: problem.message,
    };
  }
  // A cached token is no proof that Vault still accepts it: when Vault answered none of this
  // sync's requests, say what is known. Paths still fresh and leases kept without renewal
  // asked Vault nothing, so they prove nothing either way.
  const asked = Object.values(material.reads).filter((r) => !r.ok || !('unchanged' in r || ('kept' in r && !r.renewal && !r.tokenRenewal)));
  if (asked.length > 0 && asked.every((r) => !r.ok && unanswered(r.problem))) {
    return {
      type: 'VaultAuthenticated',
      status: 'Unknown',
      reason: 'VaultUnreachable',
      message: `a Vault token for role ${app.spec.vault.role} is cached, but Vault did not answer: whether it still accepts it is not known`,
    };
  }
  const loggedIn: ConditionInput = {
    type: 'VaultAuthenticated',
    status: 'True',
    reason: 'Authenticated',
    message: `logged in to Vault with role ${app.spec.vault.role}`,
  };
  if (!material.vaultSkipped) return loggedIn;
  // The same condition as the sync that asked: at rest, the refresh that reads and the
  // syncs in between answer the same status.
  if (carried === 'ok') return loggedIn;
  if (carried === 'failed')
    return {
      type: 'VaultAuthenticated',
      status: 'Unknown',
      reason: 'NotNeeded',
      message: 'no Vault request was needed: the data read last is still fresh, but the last sync that asked Vault did not get in',
    };
  // A state written before the fact was carried (an earlier release): until a sync asks Vault.
  return { type: 'VaultAuthenticated', status: 'True', reason: 'NotNeeded', message: 'no Vault request was needed: the data read last is still fresh' };
}

/** What a sync tells the next ones about logging in; undefined when it asked Vault nothing. */
export function loginFact(app: VaultApp, material: VaultMaterial): LoginFact | undefined {
  if (material.auth.ok && material.vaultSkipped) return undefined;
  return vaultAuthenticated(app, material, undefined).status === 'True' ? 'ok' : 'failed';
}

/** Vault did not answer (no connection, a timeout) or answered that it cannot serve (sealed, 503). */
const unanswered = (p: Problem): boolean => p.code === 'VAULT_UNREACHABLE' || p.code === 'VAULT_SEALED';
