// The shape of a Metacontroller CompositeController hook request, checked before
// anything else; the parent is then checked in full against the VaultApp schema.
import { Type } from '@sinclair/typebox';

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
  children: Type.Record(Type.String({ maxLength: 512 }), Type.Record(Type.String({ maxLength: 512 }), KubeObjectShape, { maxProperties: 10000 }), { maxProperties: 64 }),
  related: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.Object({})))),
  finalizing: Type.Optional(Type.Boolean()),
});
