// Names and labels of the children; all derive from the parent's name.
import { isLabelValue } from '../api/kube-labels.js';
export const SECRET_VOLUME = 'vault-secrets';
export const SECRET_MOUNT_PATH = '/etc/secrets/vault';
export const VERSION_ANNOTATION = 'vaultapp.techweaver.io/secret-version';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'vaultapp' } as const;
export const METRICS_FOR_LABEL = 'vaultapp.techweaver.io/metrics-for';
const NAME_LABEL = 'vaultapp.techweaver.io/name';

export const secretName = (app: string): string => `${app}-vault-secrets`;
export const metricsServiceName = (app: string): string => `${app}-metrics`;

export { isLabelValue };
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const isServiceName = (v: string): boolean => v.length <= 63 && DNS1035_LABEL.test(v);

/** Labels every child carries; the name label only where the name is a valid label value. */
export function childLabels(app: string): Record<string, string> {
  return isLabelValue(app) ? { ...MANAGED_BY, [NAME_LABEL]: app } : { ...MANAGED_BY };
}
