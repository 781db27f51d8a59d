import { ROOT_VALIDATIONS, VaultAppSpecSchema, VaultAppStatusSchema } from './vaultapp-schema.js';

export const GROUP = 'app.techweaver.io';
export const VERSION = 'v1alpha1';

// JSON round trip drops TypeBox's symbol-keyed metadata, leaving plain JSON Schema.
const plain = (schema: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(schema));

/** The CustomResourceDefinition, derived from the same schema the hook validates with. */
export function buildCrd(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `vaultapps.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: 'VaultApp', listKind: 'VaultAppList', plural: 'vaultapps', singular: 'vaultapp', shortNames: ['vapp'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
            { name: 'Secret', type: 'string', jsonPath: '.status.secretName' },
            // Not when Vault was last read (readAt, on the Secret's state annotation): a status
            // timestamp moved by every refresh would be a status write per refresh interval.
            {
              name: 'Updated',
              type: 'date',
              jsonPath: '.status.lastSecretUpdateTime',
              description: "When the Secret's data last changed. When Vault was last read is readAt in the Secret's vaultapp.techweaver.io/state annotation.",
            },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'VaultApp declares a Deployment or StatefulSet, the Vault secrets it needs and how Prometheus scrapes it.',
              required: ['spec'],
              'x-kubernetes-validations': ROOT_VALIDATIONS,
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: plain(VaultAppSpecSchema),
                status: plain(VaultAppStatusSchema),
              },
            },
          },
        },
      ],
    },
  };
}
