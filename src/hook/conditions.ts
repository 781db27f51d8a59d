import type { Condition } from '../api/vaultapp-schema.js';

export const CONDITION_TYPES = ['VaultAuthenticated', 'SecretsSynced', 'DeploymentReady', 'StatefulSetReady', 'MonitoringReady', 'Ready'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** RFC 3339 at second precision, as metav1.Time serialises. */
export const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

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
