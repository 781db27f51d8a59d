// Maps of strings in the VaultApp schema: the labels and annotations a VaultApp adds
// to its children. Unsafe: TypeBox's Record is patternProperties, which a structural
// schema does not allow.
import { Type } from '@sinclair/typebox';
import { EXTRA_LABELS_VALIDATIONS, LABEL_VALUE_MAX_LENGTH, MAX_EXTRA_LABELS } from './kube-labels.js';

interface StringMap {
  valueMaxLength: number;
  maxProperties: number;
  description: string;
  /** CEL rules on the keys (x-kubernetes-validations), with their twins in ./cel-rules.ts. */
  validations: { rule: string; message: string }[];
}

export const stringMapSchema = ({ valueMaxLength, maxProperties, description, validations }: StringMap) =>
  Type.Optional(
    Type.Unsafe<Record<string, string>>({
      type: 'object',
      additionalProperties: { type: 'string', maxLength: valueMaxLength },
      maxProperties,
      description,
      'x-kubernetes-validations': validations,
    }),
  );

/** Labels a VaultApp adds to a child: label syntax, at most MAX_EXTRA_LABELS, none of the hook's own keys. */
export const extraLabelsSchema = (description: string) =>
  stringMapSchema({ valueMaxLength: LABEL_VALUE_MAX_LENGTH, maxProperties: MAX_EXTRA_LABELS, description, validations: EXTRA_LABELS_VALIDATIONS });
