// Every ServiceMonitor we ship or generate selects a Service we ship or generate, on a
// port that Service has, with the scheme the pods behind that port serve. Read from what
// kustomize renders for each variant of the install, and from the hook's own children.
// The checker is shown failing on the mistakes it exists for (the negative controls).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { sync } from '../../src/hook/sync.js';
import type { KubeObject } from '../../src/hook/types.js';
import { loadExample, request } from '../fixtures/requests.js';
import { ensureKubectl, ENSURE_KUBECTL_TIMEOUT_MS, kustomizeOverlay } from '../support/kustomize.js';

before(
  async () => {
    await ensureKubectl();
  },
  { timeout: ENSURE_KUBECTL_TIMEOUT_MS },
);

type Labels = Record<string, string>;
const within = (wanted: Labels | undefined, labels: Labels | undefined): boolean => Object.entries(wanted ?? {}).every(([k, v]) => labels?.[k] === v);
const ns = (o: any): string => o.metadata.namespace ?? 'default';

/** The hook serves HTTPS when it is given a certificate; any other pod here serves HTTP. */
const TLS_ENV = 'VAULTAPP_TLS_CERT_FILE';

interface Served {
  scheme: 'http' | 'https';
  certSecret?: string;
}

// What the pods behind a Service port serve: the container port the targetPort names.
function served(objects: any[], service: any, port: any): Served[] {
  const pods = objects.filter((o) => o.kind === 'Deployment' && ns(o) === ns(service) && within(service.spec.selector, o.spec.template.metadata?.labels));
  return pods.flatMap((d) =>
    d.spec.template.spec.containers
      .filter((c: any) => (c.ports ?? []).some((p: any) => p.name === port.targetPort || p.containerPort === port.targetPort))
      .map((c: any): Served => {
        const certFile = (c.env ?? []).find((e: any) => e.name === TLS_ENV)?.value as string | undefined;
        if (!certFile) return { scheme: 'http' };
        const mount = (c.volumeMounts ?? []).find((m: any) => certFile.startsWith(`${m.mountPath}/`));
        const volume = d.spec.template.spec.volumes.find((v: any) => v.name === mount?.name);
        return { scheme: 'https', certSecret: volume?.secret?.secretName };
      }),
  );
}

/** Why each ServiceMonitor in `objects` would scrape nothing, or the wrong way; empty when all are right. */
function scrapeProblems(objects: any[]): string[] {
  const problems: string[] = [];
  for (const sm of objects.filter((o) => o.kind === 'ServiceMonitor')) {
    const where = `ServiceMonitor ${ns(sm)}/${sm.metadata.name}`;
    if (sm.spec.namespaceSelector || sm.spec.selector.matchExpressions) problems.push(`${where}: selector form not checked here`);
    const services = objects.filter((o) => o.kind === 'Service' && ns(o) === ns(sm) && within(sm.spec.selector.matchLabels, o.metadata.labels));
    if (services.length === 0) problems.push(`${where}: selects no Service`);
    for (const svc of services) {
      for (const ep of sm.spec.endpoints) {
        const port = svc.spec.ports.find((p: any) => p.name === ep.port);
        if (!port) {
          problems.push(`${where}: Service ${svc.metadata.name} has no port named ${ep.port}`);
          continue;
        }
        const behind = served(objects, svc, port);
        if (behind.length === 0) problems.push(`${where}: no pod serves Service ${svc.metadata.name} port ${ep.port}`);
        for (const s of behind) {
          const scheme = ep.scheme ?? 'http';
          if (scheme !== s.scheme) problems.push(`${where}: scrapes ${scheme} but port ${ep.port} serves ${s.scheme}`);
          else if (s.scheme === 'https') problems.push(...tlsProblems(objects, where, ep, s.certSecret));
        }
      }
    }
  }
  return problems;
}

// Prometheus must trust the CA that signed the hook's certificate, under a name in it.
function tlsProblems(objects: any[], where: string, ep: any, certSecret: string | undefined): string[] {
  const cert = objects.find((o) => o.kind === 'Certificate' && o.spec.secretName === certSecret);
  const problems: string[] = [];
  if (!cert) return [`${where}: no Certificate writes the serving Secret ${certSecret}`];
  const ca = ep.tlsConfig?.ca?.secret;
  if (ca?.name !== certSecret || ca?.key !== 'ca.crt') problems.push(`${where}: tlsConfig.ca is not ${certSecret}/ca.crt`);
  if (!cert.spec.dnsNames.includes(ep.tlsConfig?.serverName)) problems.push(`${where}: tlsConfig.serverName is not a name of the certificate`);
  return problems;
}

describe('the shipped ServiceMonitor scrapes the hook, in every variant of the install', () => {
  const variants: { name: string; resources: string[]; components?: string[] }[] = [
    { name: 'metacontroller/ with metacontroller/monitoring/', resources: ['.', 'monitoring'] },
    { name: 'metacontroller/without-servicemonitor/ with metacontroller/monitoring/', resources: ['without-servicemonitor', 'monitoring'] },
    { name: 'base with the TLS component, with metacontroller/monitoring-tls/', resources: ['base', 'monitoring-tls'], components: ['base/tls'] },
  ];
  for (const v of variants) {
    it(v.name, () => {
      const objects = kustomizeOverlay(v.resources, v.components);
      assert.equal(objects.filter((o) => o.kind === 'ServiceMonitor').length, 1, 'the build holds the ServiceMonitor');
      assert.deepEqual(scrapeProblems(objects), []);
    });
  }
});

describe('negative controls: the check fails where Prometheus would scrape nothing', () => {
  it('the TLS install with the plain-HTTP ServiceMonitor', () => {
    const objects = kustomizeOverlay(['base', 'monitoring'], ['base/tls']);
    assert.deepEqual(scrapeProblems(objects), ['ServiceMonitor vaultapp-system/vaultapp-hook: Service vaultapp-hook has no port named http']);
  });

  it("the hook's Service without its label (as it was shipped before)", () => {
    const objects = kustomizeOverlay(['.', 'monitoring']);
    delete objects.find((o) => o.kind === 'Service').metadata.labels;
    assert.deepEqual(scrapeProblems(objects), ['ServiceMonitor vaultapp-system/vaultapp-hook: selects no Service']);
  });

  it('HTTPS without tlsConfig, and HTTP against the HTTPS port', () => {
    const objects = kustomizeOverlay(['base', 'monitoring-tls'], ['base/tls']);
    const endpoint = objects.find((o) => o.kind === 'ServiceMonitor').spec.endpoints[0];
    delete endpoint.tlsConfig;
    assert.deepEqual(scrapeProblems(objects), [
      'ServiceMonitor vaultapp-system/vaultapp-hook: tlsConfig.ca is not vaultapp-hook-tls/ca.crt',
      'ServiceMonitor vaultapp-system/vaultapp-hook: tlsConfig.serverName is not a name of the certificate',
    ]);
    delete endpoint.scheme;
    assert.deepEqual(scrapeProblems(objects), ['ServiceMonitor vaultapp-system/vaultapp-hook: scrapes http but port https serves https']);
  });
});

describe('the ServiceMonitor the hook generates scrapes the Service it generates', () => {
  const config = { hmacKey: 'test-hmac-key-0123456789', resyncSeconds: 300, errorBackoffMinSeconds: 5 };
  const healthy = {
    auth: { ok: true as const },
    reads: {
      'kv/data/billing/database': { ok: true as const, engine: 'kv2' as const, data: { url: 'postgres://db/billing' }, version: 1 },
      'kv/data/billing/provider-x': { ok: true as const, engine: 'kv2' as const, data: { key: 'px-key-1' }, version: 1 },
    },
  };
  const children = (labels: Labels | undefined, defaults: Labels | undefined): KubeObject[] => {
    const app = structuredClone(loadExample());
    if (labels) app.spec.monitoring!.labels = labels;
    return sync(request(app, []), healthy, new Date('2026-11-27T12:00:00Z'), { ...config, ...(defaults ? { monitoringLabels: defaults } : {}) }).children;
  };

  it('for the seed example, as it is', () => {
    const objects = children(undefined, undefined);
    assert.deepEqual(
      objects.map((o) => o.kind),
      ['Secret', 'Deployment', 'Service', 'ServiceMonitor'],
    );
    assert.deepEqual(scrapeProblems(objects), []);
  });

  it("with labels from the VaultApp and from the hook's configuration, and the selector untouched by them", () => {
    const objects = children({ release: 'team-prometheus', app: 'other' }, { release: 'kube-prometheus-stack', 'prometheus.io/scrape': 'true' });
    assert.deepEqual(scrapeProblems(objects), []);
    const sm = objects.find((o) => o.kind === 'ServiceMonitor')!;
    assert.equal(sm.metadata.labels!.release, 'team-prometheus');
    assert.equal(sm.metadata.labels!['prometheus.io/scrape'], 'true');
  });
});
