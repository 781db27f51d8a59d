import type { Static } from '@sinclair/typebox';
import type { HookRequestSchema, HookResponseSchema } from '../api/hook-schemas.js';
import type { VaultApp } from '../api/vaultapp-schema.js';

export type { KubeObject } from '../api/hook-schemas.js';
import type { KubeObject } from '../api/hook-schemas.js';

/** Children by type (`Kind.apiVersion`), then by name (hook v1) or namespace/name (hook v2). */
export type ChildrenByType = Record<string, Record<string, KubeObject>>;

/** A hook request as its schema admits it. */
export type HookRequest = Static<typeof HookRequestSchema>;

/** A hook request whose parent passed the VaultApp schema; children as the core reads them. */
export type SyncRequest = Omit<HookRequest, 'parent' | 'children' | 'related'> & {
  parent: VaultApp;
  children: ChildrenByType;
  related?: ChildrenByType;
};

export type SyncResponse = Static<typeof HookResponseSchema>;

export interface SyncConfig {
  /** Key of the HMAC that versions the Secret's data on the pod template. */
  hmacKey: string;
  /** Resync interval while healthy. */
  resyncSeconds: number;
  /** Shortest retry after an error; retries back off up to resyncSeconds. */
  errorBackoffMinSeconds: number;
  /** How long data read from Vault is used before it is read again, unless the VaultApp says; default resyncSeconds. */
  refreshSeconds?: number;
  /** Labels of every generated ServiceMonitor, under the VaultApp's spec.monitoring.labels (VAULTAPP_MONITORING_LABELS). */
  monitoringLabels?: Record<string, string>;
}
