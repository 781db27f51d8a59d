// Durations as the Prometheus Operator writes them ("1h30m", "90s", "500ms", "0"),
// the form the schema's DURATION_PATTERN admits. Pure.
const UNIT_SECONDS: Record<string, number> = { y: 365 * 86400, w: 7 * 86400, d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };

/** Seconds in a duration the schema admitted; NaN for anything else. */
export function durationSeconds(text: string): number {
  if (text === '0') return 0;
  let total = 0;
  let rest = text;
  while (rest !== '') {
    const m = /^(\d+)(ms|y|w|d|h|m|s)/.exec(rest);
    if (!m) return NaN;
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return text === '' ? NaN : total;
}
