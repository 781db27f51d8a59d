// Resource quantities as the API server stores them. It stores `cpu: 0.5` as "500m"
// and `memory: 0.5Gi` as "512Mi", but "1.375" as written; if the hook handed
// Metacontroller another spelling than the stored one, every sync would find the
// Deployment different from what it asked for and send an update (a no-op for the API
// server, but one request per VaultApp per resync: ~170 a second at 10,000 VaultApps).
//
// The rules are apimachinery's (resource.ParseQuantity, Quantity.RoundUp and
// CanonicalizeBytes): a spelling that is already "canonical enough" is kept as written;
// anything else is written in canonical form (exact value, the suffix kind of the
// input, no fractional digits, the largest exponent); values finer than nano are
// rounded up to nano, and in resource lists (requests, limits, overhead) finer than
// milli up to milli, and magnitudes are capped at the largest int64.
// test/integration/kube-stored-forms.test.ts checks this against a real API server
// over hundreds of generated quantities. What it cannot parse with certainty it
// leaves as it is.

import { isRecord, ownSet } from '../../api/json.js';

const DECIMAL_SI: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const DECIMAL_SUFFIX: Record<number, string> = Object.fromEntries(Object.entries(DECIMAL_SI).map(([s, e]) => [e, s]));
const BINARY_SI = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

// The exponent alternative comes before the bare "E" (exa): "1E3" is 1000, "1E" is 10^18.
const QUANTITY = /^([+-]?)(\d*)(?:\.(\d*))?(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|n|u|m|k|M|G|T|P|E)?$/;
// apimachinery's maxInt64Factors: up to 18 digits take the int64 path.
const MAX_INT64_DIGITS = 18;
const INT64_MAX = 2n ** 63n - 1n;

type Format = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

const TEN = 10n;
const pow10 = (n: number): bigint => TEN ** BigInt(n);

export interface QuantityOptions {
  /** A value of a resource list (requests, limits, overhead): the API server rounds it up to milli. */
  resourceList?: boolean;
}

/** The stored spelling of a quantity, or undefined when it is not one this code is sure of. */
export function storedQuantity(input: string | number, options: QuantityOptions = {}): string | undefined {
  if (typeof input === 'number' && !Number.isFinite(input)) return undefined;
  const text = typeof input === 'number' ? String(input) : input;
  // Exponent spellings of numbers differ between Go ("1e-07") and JavaScript ("1e-7").
  if (typeof input === 'number' && /e/i.test(text)) return undefined;
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [, sign = '', wholeDigits = '', fraction = '', suffix = ''] = m;
  if (wholeDigits === '' && fraction === '') return undefined;
  // Leading zeros are dropped before the checks below ("007" is kept as written, "0.5" is not).
  const num = wholeDigits.replace(/^0+/, '') || '0';
  const negative = sign === '-';
  const milli = options.resourceList === true;

  let format: Format;
  let exponent: number; // power of 10, or of 2 for BinarySI
  if (suffix !== '' && BINARY_SI.includes(suffix)) {
    format = 'BinarySI';
    exponent = 10 * BINARY_SI.indexOf(suffix);
  } else if (/^[eE][+-]?\d+$/.test(suffix)) {
    format = 'DecimalExponent';
    exponent = Number(suffix.slice(1));
    if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 100) return undefined;
  } else {
    format = 'DecimalSI';
    exponent = DECIMAL_SI[suffix]!;
  }

  // ParseQuantity's int64 path; it keeps the input string when that is already canonical-looking.
  let int64Path: { scale: number; kept: boolean } | undefined;
  if (format === 'BinarySI') {
    const precision = 15 - num.length - Math.floor((exponent * 3) / 10) - 1;
    const value = BigInt(num);
    if (fraction.length === 0 && precision >= 0 && value * 2n ** BigInt(exponent) <= INT64_MAX) int64Path = { scale: 0, kept: (value & 7n) !== 0n };
  } else {
    const scale = exponent - fraction.length;
    const shifted = num + fraction;
    if (num.length + fraction.length <= MAX_INT64_DIGITS && scale >= -9)
      int64Path = { scale, kept: scale % 3 === 0 && !shifted.endsWith('000') && shifted[0] !== '0' };
  }
  // RoundUp(milli) leaves a quantity alone when it has no finer digits.
  if (int64Path?.kept && (!milli || int64Path.scale >= -3)) return text;

  // The exact magnitude as mantissa × 10^scale.
  let mantissa = BigInt(num + fraction);
  let scale = -fraction.length;
  if (format === 'BinarySI') mantissa *= 2n ** BigInt(exponent);
  else scale += exponent;
  if (mantissa > 10n ** 40n) return undefined; // beyond what the API server accepts; its error is the better message
  [mantissa, scale] = roundUp(mantissa, scale, milli ? -3 : -9);
  // ParseQuantity's other path caps the magnitude at the largest int64.
  if (!int64Path && (scale >= 0 ? mantissa * pow10(scale) > INT64_MAX : mantissa > INT64_MAX * pow10(-scale))) [mantissa, scale] = [INT64_MAX, 0];
  [mantissa, scale] = stripTens(mantissa, scale);
  if (mantissa === 0n) return '0';
  const minus = negative ? '-' : '';

  if (format === 'BinarySI') {
    // Small or fractional byte counts are written in decimal, as the API server does.
    const integer = scale >= 0 ? mantissa * pow10(scale) : undefined;
    if (integer !== undefined && integer >= 1024n) {
      let n = integer;
      let k = 0;
      while (n % 1024n === 0n && k < BINARY_SI.length - 1) {
        n /= 1024n;
        k++;
      }
      return `${minus}${n}${BINARY_SI[k]}`;
    }
    format = 'DecimalSI';
  }

  // Decimal: the exponent lowered to a multiple of three, the mantissa raised to match.
  const r = ((scale % 3) + 3) % 3;
  const digits = mantissa * pow10(r);
  const e = scale - r;
  const written = format === 'DecimalSI' ? (DECIMAL_SUFFIX[e] ?? `e${e}`) : e === 0 ? '' : `e${e}`;
  return `${minus}${digits}${written}`;
}

/** Rounds mantissa × 10^scale up (away from zero) to at most `finest` decimal places. */
function roundUp(mantissa: bigint, scale: number, finest: number): [bigint, number] {
  if (scale >= finest || mantissa === 0n) return [mantissa, scale];
  const d = pow10(finest - scale);
  return [(mantissa + d - 1n) / d, finest];
}

/** mantissa × 10^scale with the mantissa's trailing zeros moved into the scale. */
function stripTens(mantissa: bigint, scale: number): [bigint, number] {
  if (mantissa === 0n) return [0n, 0];
  let m = mantissa;
  let s = scale;
  while (m % TEN === 0n) {
    m /= TEN;
    s++;
  }
  return [m, s];
}

/** Each quantity of a resource list ({cpu: 0.5, memory: '1Gi'}) as the API server stores it, in place. */
function canonicalList(list: unknown): void {
  if (!isRecord(list)) return;
  for (const key of Object.keys(list)) {
    const v = list[key];
    const c = typeof v === 'string' || typeof v === 'number' ? storedQuantity(v, { resourceList: true }) : undefined;
    if (c !== undefined) ownSet(list, key, c); // a resource may be named "__proto__"
  }
}

function canonicalRequirements(resources: unknown): void {
  if (!isRecord(resources)) return;
  canonicalList(resources.limits);
  canonicalList(resources.requests);
}

/**
 * The quantities of a pod spec as the API server stores them, in place: containers'
 * (and init and ephemeral containers') and the pod's resources, its overhead, and the
 * volumes' emptyDir sizeLimit and ephemeral claim requests. Shapes the schema does
 * not type (the pod spec is the user's) are checked, not assumed.
 */
export function canonicalPodQuantities(podSpec: unknown): void {
  if (!isRecord(podSpec)) return;
  for (const field of ['containers', 'initContainers', 'ephemeralContainers']) {
    const list = podSpec[field];
    if (Array.isArray(list)) for (const c of list) if (isRecord(c)) canonicalRequirements(c.resources);
  }
  canonicalRequirements(podSpec.resources);
  canonicalList(podSpec.overhead);
  if (Array.isArray(podSpec.volumes)) {
    for (const v of podSpec.volumes) {
      if (!isRecord(v)) continue;
      if (isRecord(v.emptyDir)) {
        const size = v.emptyDir.sizeLimit;
        const c = typeof size === 'string' || typeof size === 'number' ? storedQuantity(size) : undefined;
        if (c !== undefined) v.emptyDir.sizeLimit = c;
      }
      const claim = isRecord(v.ephemeral) && isRecord(v.ephemeral.volumeClaimTemplate) ? v.ephemeral.volumeClaimTemplate.spec : undefined;
      if (isRecord(claim)) canonicalRequirements(claim.resources);
    }
  }
}

/**
 * The quantities of a StatefulSet's claim template (storage requests and limits) as the
 * API server stores them, in place; a resource list, so rounded up to milli like a pod's.
 */
export function canonicalClaimQuantities(claim: unknown): void {
  if (isRecord(claim) && isRecord(claim.spec)) canonicalRequirements(claim.spec.resources);
}
