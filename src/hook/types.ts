import type { VaultApp, VaultAppStatus } from '../api/vaultapp-schema.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Children by type (`Kind.apiVersion`), then by name (hook v1) or namespace/name (hook v2). */
export type ChildrenByType = Record<string, Record<string, KubeObject>>;

export interface SyncRequest {
  controller?: unknown;
  parent: VaultApp;
  children: ChildrenByType;
  related?: ChildrenByType;
  finalizing?: boolean;
}

export interface SyncResponse {
  status: VaultAppStatus;
  children: KubeObject[];
  resyncAfterSeconds?: number;
  finalized?: boolean;
}

export interface HookConfig {
  /** Key of the HMAC that versions the Secret's data on the pod template. */
  hmacKey: string;
  /** Resync interval while healthy. */
  resyncSeconds: number;
  /** Shortest retry after an error; retries back off up to resyncSeconds. */
  errorBackoffMinSeconds: number;
  /** How long data read from Vault is used before it is read again, unless the VaultApp says; default resyncSeconds. */
  refreshSeconds?: number;
}
