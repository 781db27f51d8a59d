// The hook's probes set their own timeouts in both install paths: the
// kubelet's default is 1 s. Read from the files themselves, without helm or kubectl, so that
// the unit suite keeps this; test/integration/helm-chart.test.ts compares the rendered chart
// with kustomize object by object when the binaries are there.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';

const kustomizeDeployment = parseAllDocuments(readFileSync(new URL('../../metacontroller/base/deployment.yaml', import.meta.url), 'utf8'))
  .map((d) => d.toJS())
  .find((o) => o?.kind === 'Deployment');
const hook = kustomizeDeployment.spec.template.spec.containers.find((c: { name: string }) => c.name === 'hook');
const chartTemplate = readFileSync(new URL('../../charts/vaultapp/templates/deployment.yaml', import.meta.url), 'utf8');

/** The scalar fields of one probe in the chart's template (its lines up to the next key at its indentation). */
function chartProbe(name: string): Record<string, number> {
  const lines = chartTemplate.split('\n');
  const start = lines.findIndex((l) => l.trim() === `${name}:`);
  assert.ok(start >= 0, `${name} in the chart's deployment.yaml`);
  const indent = lines[start]!.search(/\S/);
  const fields: Record<string, number> = {};
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' || line.trim().startsWith('#') || line.trim().startsWith('{{')) continue;
    if (line.search(/\S/) <= indent) break;
    const m = /^\s+(periodSeconds|timeoutSeconds|failureThreshold|initialDelaySeconds|successThreshold):\s*(\d+)\s*$/.exec(line);
    if (m) fields[m[1]!] = Number(m[2]);
  }
  return fields;
}

const timing = (probe: Record<string, unknown>): Record<string, number> =>
  Object.fromEntries(Object.entries(probe).filter(([k]) => k !== 'httpGet')) as Record<string, number>;

describe("the hook's probes", () => {
  it('set a timeout above the 1 s default and a failure threshold; liveness waits longer than readiness before acting', () => {
    const ready = timing(hook.readinessProbe);
    const live = timing(hook.livenessProbe);
    for (const probe of [ready, live]) {
      assert.ok(Number.isInteger(probe.timeoutSeconds) && probe.timeoutSeconds! > 1, 'timeoutSeconds');
      assert.ok(probe.timeoutSeconds! < probe.periodSeconds!, 'a probe ends before the next one starts');
      assert.ok(Number.isInteger(probe.failureThreshold) && probe.failureThreshold! >= 3, 'failureThreshold');
    }
    assert.ok(live.periodSeconds! * live.failureThreshold! > ready.periodSeconds! * ready.failureThreshold!);
  });

  it('are the same in the chart as in the kustomize install', () => {
    assert.deepStrictEqual(chartProbe('readinessProbe'), timing(hook.readinessProbe));
    assert.deepStrictEqual(chartProbe('livenessProbe'), timing(hook.livenessProbe));
  });
});
