// The shapes of a Metacontroller CompositeController hook request and of the hook's
// answer. The request's shape is checked before anything else (the parent is then
// checked in full against the VaultApp schema); the answer's is the route's response
// schema. The types of src/hook/types.ts are derived from these.
import { Type } from '@sinclair/typebox';
import type { KubeObject } from '../hook/types.js';
import { VaultAppStatusSchema } from './vaultapp-schema.js';

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
