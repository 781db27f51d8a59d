// The metrics Service and the ServiceMonitor that selects it.
import { isReservedLabelKey } from '../../api/kube-labels.js';
import type { VaultApp } from '../../api/vaultapp-schema.js';
import { problem, type Problem } from '../../errors/catalog.js';
import { childLabels, isLabelValue, isServiceName, METRICS_FOR_LABEL, metricsServiceName } from './names.js';
import type { KubeObject } from '../types.js';
import { workloadOf, type WorkloadSpec } from './workload.js';

export const DEFAULT_METRICS_PATH = '/metrics';
export const DEFAULT_SCRAPE_INTERVAL = '30s';

export interface MonitoringOutcome {
  service?: KubeObject;
  serviceMonitor?: KubeObject;
  problems: Problem[];
}

function findPort(spec: WorkloadSpec, portName: string): number | undefined {
  for (const c of spec.template.spec?.containers ?? []) {
    const port = c.ports?.find((p) => p.name === portName);
    if (port) return port.containerPort;
  }
  return undefined;
}

// A Service selects by equality only: matchLabels when there are any, else the pod labels.
function podSelector(spec: WorkloadSpec): Record<string, string> {
  const matchLabels = spec.selector?.matchLabels;
  return matchLabels && Object.keys(matchLabels).length > 0 ? matchLabels : (spec.template.metadata?.labels ?? {});
}

// The hook's defaults, then the VaultApp's own, then the hook's labels. Reserved keys are
// refused at admission and at start-up; they are dropped here too, for what got past an
// older CRD, so that nothing given can stand for the hook's own labels.
// Spread (defines), not Object.assign (sets): a "__proto__" key stays a key.
function serviceMonitorLabels(app: VaultApp, defaults: Record<string, string> | undefined): Record<string, string> {
  const given = Object.entries({ ...defaults, ...app.spec.monitoring?.labels }).filter(([k]) => !isReservedLabelKey(k));
  return { ...Object.fromEntries(given), ...childLabels(app.metadata.name) };
}

export function desiredMonitoring(app: VaultApp, defaultLabels?: Record<string, string>): MonitoringOutcome {
  const monitoring = app.spec.monitoring;
  if (!monitoring?.enabled || !monitoring.port) return { problems: [] };
  const name = app.metadata.name;
  const namespace = app.metadata.namespace;
  const serviceName = metricsServiceName(name);
  if (!isServiceName(serviceName) || !isLabelValue(name)) {
    return {
      problems: [
        problem(
          'NAME_TOO_LONG',
          `metrics Service name "${serviceName}" must be a DNS-1035 label of at most 63 characters; shorten the VaultApp name to 55 characters or fewer`,
        ),
      ],
    };
  }
  const workload = workloadOf(app);
  const containerPort = findPort(workload.spec, monitoring.port);
  if (containerPort === undefined) {
    return {
      problems: [
        problem('PORT_NOT_FOUND', `monitoring.port "${monitoring.port}" is not the name of a port in ${workload.field}.template.spec.containers[*].ports`),
      ],
    };
  }
  const labels = { ...childLabels(name), [METRICS_FOR_LABEL]: name };
  return {
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: serviceName, namespace, labels },
      spec: {
        selector: podSelector(workload.spec),
        ports: [{ name: monitoring.port, port: containerPort, targetPort: monitoring.port }],
      },
    },
    serviceMonitor: {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name, namespace, labels: serviceMonitorLabels(app, defaultLabels) },
      spec: {
        selector: { matchLabels: { [METRICS_FOR_LABEL]: name } },
        endpoints: [
          {
            port: monitoring.port,
            path: monitoring.path ?? DEFAULT_METRICS_PATH,
            interval: monitoring.interval ?? DEFAULT_SCRAPE_INTERVAL,
          },
        ],
      },
    },
    problems: [],
  };
}
