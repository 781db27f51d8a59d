// A StatefulSet's volumeClaimTemplates as the API server stores them. Metacontroller
// merges lists item by item only where the items have a key it knows (name, port, ...);
// claim templates have none (their name is under metadata), so it replaces the list with
// the hook's whole, and any field the API server adds by default inside an item would
// make every sync send an update. So each template is written with those defaults
// (kind and apiVersion, spec.volumeMode, status.phase, a data source's apiGroup as the
// null it is stored as), its quantities canonical and its empty lists dropped.
// test/integration/kube-stored-forms.test.ts compares the whole list with a real API server's.
import { dropEmptyLists } from './empty-lists.js';
import { isRecord } from '../../api/json.js';
import { canonicalClaimQuantities } from './quantity.js';

/** Each claim template in its stored form, in place; shapes that are not objects are left to the API server to refuse. */
export function storedClaimTemplates(claims: unknown[]): void {
  for (const claim of claims) {
    if (!isRecord(claim)) continue;
    canonicalClaimQuantities(claim);
    dropEmptyLists(claim);
    claim.apiVersion ??= 'v1';
    claim.kind ??= 'PersistentVolumeClaim';
    if (isRecord(claim.spec)) {
      claim.spec.volumeMode ??= 'Filesystem';
      // Typed(Local)ObjectReference.apiGroup has no omitempty: absent is stored as null.
      for (const ref of [claim.spec.dataSource, claim.spec.dataSourceRef]) if (isRecord(ref) && !Object.hasOwn(ref, 'apiGroup')) ref.apiGroup = null;
    }
    if (claim.status === undefined) claim.status = { phase: 'Pending' };
    else if (isRecord(claim.status)) claim.status.phase ??= 'Pending';
  }
}
