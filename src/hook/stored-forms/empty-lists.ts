// The API server drops empty lists from a pod spec (its Go types mark them omitempty):
// `env: []` is stored as no `env` at all. Handed to Metacontroller as written, such a
// list makes every sync find the Deployment changed and send an update. Empty maps are
// another matter (`emptyDir: {}` is kept and means something), so only lists go.
// test/integration/kube-stored-forms.test.ts checks this against a real API server.
import { isRecord } from '../../api/json.js';

/** Deletes, in place, every empty list below `value` except `containers` (required, never omitted). */
export function dropEmptyLists(value: unknown, depth = 0): void {
  if (depth > 64) return;
  if (Array.isArray(value)) {
    for (const item of value) dropEmptyLists(item, depth + 1);
    return;
  }
  if (!isRecord(value)) return;
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (Array.isArray(v) && v.length === 0 && key !== 'containers') delete value[key];
    else dropEmptyLists(v, depth + 1);
  }
}
