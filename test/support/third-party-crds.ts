// CRDs of the other operators' kinds the install uses, for strict server-side dry-runs:
// Metacontroller's CompositeController and cert-manager's Issuer and Certificate. Neither
// project's CRD can be generated here (Metacontroller is not served as a Go module, and
// neither ships its CRDs in one), so these schemas are written from their API types —
// Metacontroller v4.17 (pkg/apis/metacontroller/v1alpha1: Webhook with authorization and
// caBundle) and cert-manager v1 (pkg/apis/certmanager/v1) — holding only the fields our
// manifests use, and nothing unknown is preserved: strict field validation refuses a field
// they do not have (a misspelt or misplaced one), and types and enums are checked. What
// they cannot tell is that a listed field exists in an older release of those operators.
type Schema = Record<string, unknown>;

const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const int = { type: 'integer', format: 'int32' };
const bool = { type: 'boolean' };
const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({ type: 'object', properties, ...(required.length ? { required } : {}) });
const arrayOf = (items: Schema): Schema => ({ type: 'array', items });

type Scope = 'Cluster' | 'Namespaced';
function crd(group: string, kind: string, plural: string, scope: Scope, version: string, spec: Schema) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    // Groups under k8s.io are protected: the API server wants this annotation, as
    // Metacontroller's own CRDs carry it.
    metadata: {
      name: `${plural}.${group}`,
      ...(group.endsWith('.k8s.io') ? { annotations: { 'api-approved.kubernetes.io': 'unapproved, request not yet submitted' } } : {}),
    },
    spec: {
      group,
      scope,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: obj(
              {
                apiVersion: str(),
                kind: str(),
                metadata: { type: 'object' },
                spec,
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
              ['spec'],
            ),
          },
        },
      ],
    },
  };
}

// Metacontroller's Webhook: url or service, timeout, etag, and (v4.17) authorization and caBundle.
const keyRef = obj({ name: str(), namespace: str(), key: str() }, ['name', 'namespace']);
const webhook = obj({
  url: str(),
  timeout: str({ format: 'duration' }),
  path: str(),
  service: obj({ name: str(), namespace: str(), port: int, protocol: str() }, ['name', 'namespace']),
  etag: obj({ enabled: bool, cacheTimeoutSeconds: int, cacheCleanupSeconds: int }),
  responseUnMarshallMode: str({ enum: ['loose', 'strict'] }),
  authorization: obj(
    {
      type: str(),
      secretRef: obj({ name: str(), namespace: str(), key: str() }, ['name', 'namespace', 'key']),
    },
    ['secretRef'],
  ),
  caBundle: obj({ inline: str(), secretRef: keyRef, configMapRef: keyRef }),
});
const hook = obj({ version: str({ enum: ['v1', 'v2'] }), webhook });

const updateMethods = ['OnDelete', 'Recreate', 'InPlace', 'RollingRecreate', 'RollingInPlace'];
const compositeControllerSpec = obj(
  {
    parentResource: obj(
      {
        apiVersion: str(),
        resource: str(),
        revisionHistory: obj({ fieldPaths: arrayOf(str()) }),
      },
      ['apiVersion', 'resource'],
    ),
    childResources: arrayOf(
      obj(
        {
          apiVersion: str(),
          resource: str(),
          updateStrategy: obj({ method: str({ enum: updateMethods }) }),
        },
        ['apiVersion', 'resource'],
      ),
    ),
    resyncPeriodSeconds: int,
    generateSelector: bool,
    hooks: obj({ customize: hook, sync: hook, finalize: hook, preUpdateChild: hook, postUpdateChild: hook }),
  },
  ['parentResource'],
);
export const COMPOSITE_CONTROLLER_CRD = crd(
  'metacontroller.k8s.io',
  'CompositeController',
  'compositecontrollers',
  'Cluster',
  'v1alpha1',
  compositeControllerSpec,
);

const issuerRef = obj({ name: str(), kind: str(), group: str() }, ['name']);
export const CERT_MANAGER_CRDS = [
  crd(
    'cert-manager.io',
    'Issuer',
    'issuers',
    'Namespaced',
    'v1',
    obj({
      selfSigned: obj({ crlDistributionPoints: arrayOf(str()) }),
      ca: obj({ secretName: str(), crlDistributionPoints: arrayOf(str()), ocspServers: arrayOf(str()) }, ['secretName']),
    }),
  ),
  crd(
    'cert-manager.io',
    'Certificate',
    'certificates',
    'Namespaced',
    'v1',
    obj(
      {
        secretName: str(),
        commonName: str(),
        dnsNames: arrayOf(str()),
        isCA: bool,
        duration: str(),
        renewBefore: str(),
        usages: arrayOf(str()),
        privateKey: obj({
          algorithm: str({ enum: ['RSA', 'ECDSA', 'Ed25519'] }),
          size: { type: 'integer' },
          encoding: str({ enum: ['PKCS1', 'PKCS8'] }),
          rotationPolicy: str({ enum: ['Never', 'Always'] }),
        }),
        issuerRef,
      },
      ['secretName', 'issuerRef'],
    ),
  ),
];
