// The shapes of a Metacontroller CompositeController hook request and of the hook's
// answer. The request's shape is checked before anything else (the parent is then
// checked in full against the VaultApp schema); the answer's is the route's response
// schema. The types of src/hook/types.ts are derived from these; this file depends on
// nothing else of ours, so the core's types and the schemas cannot form a cycle.
import { Type } from '@sinclair/typebox';
import { VaultAppStatusSchema } from './vaultapp-schema.js';

/** An object of the Kubernetes API, as the hook reads and writes it: anything beyond these fields is carried as it is. */
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

const KubeObjectShape = Type.Object({
  apiVersion: Type.String({ minLength: 1, maxLength: 253 }),
  kind: Type.String({ minLength: 1, maxLength: 253 }),
  metadata: Type.Object({ name: Type.String({ minLength: 1, maxLength: 253 }) }),
});

export const HookRequestSchema = Type.Object({
  controller: Type.Optional(Type.Object({})),
  parent: Type.Object({
    apiVersion: Type.String({ minLength: 1, maxLength: 253 }),
    kind: Type.String({ minLength: 1, maxLength: 253 }),
    metadata: Type.Object({
      name: Type.String({ minLength: 1, maxLength: 253 }),
      namespace: Type.String({ minLength: 1, maxLength: 63 }),
    }),
    spec: Type.Object({}),
  }),
  children: Type.Record(Type.String({ maxLength: 512 }), Type.Record(Type.String({ maxLength: 512 }), KubeObjectShape, { maxProperties: 10000 }), {
    maxProperties: 64,
  }),
  related: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.Object({})))),
  finalizing: Type.Optional(Type.Boolean()),
});

// Children are whole Kubernetes objects the core builds: only their leading fields are
// named, the rest is serialised as it is (in the order it was built).
const ChildSchema = Type.Unsafe<KubeObject>(Type.Object({ apiVersion: Type.String(), kind: Type.String() }, { additionalProperties: true }));

export const HookResponseSchema = Type.Object({
  status: VaultAppStatusSchema,
  children: Type.Array(ChildSchema),
  resyncAfterSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  finalized: Type.Optional(Type.Boolean()),
});
