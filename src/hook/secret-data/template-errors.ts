// What a template error says: its kind and where in the template, never LiquidJS's message
// text. That text is built at render time: `{{ db[p] }}` with p assigned from a slice of a
// value says "undefined variable: db.<3 characters of the value>", and 13 such templates
// spell a whole value. The condition is read by more people than the Secret, and blanking
// values in it cannot work (a value of 3 characters, a slice, a case change). So the
// message is built from fixed words only: the error's class, a few of LiquidJS's fixed
// messages told apart (matched, never quoted), and the token's line and column, which are
// positions in the tenant's own template.

/** Kinds by LiquidJS error class; the fixed messages below refine them. */
const KIND_BY_CLASS: Record<string, string> = {
  UndefinedVariableError: 'undefined variable',
  TokenizationError: 'syntax error',
  ParseError: 'parse error',
  RenderError: 'render error',
};

/** LiquidJS's own fixed messages (no value or name in them), matched whole or by their fixed part; a hint follows the position. */
const KIND_BY_MESSAGE: [RegExp, string, string?][] = [
  [/^undefined filter: /, 'unknown filter', ' (docs/templates.md lists the filters a template may use)'],
  [/^tag "[^"]*" not found$/, 'unknown tag'],
  [/^tag .* not closed$/s, 'tag not closed'],
  [/^\w+ expect \d+ arguments$/, 'wrong number of filter arguments'],
  [/^invalid base64 provided to base64_decode$/, 'invalid base64 given to base64_decode'],
  [/^memory alloc limit exceeded$/, 'memory limit exceeded'],
  [/^template render limit exceeded$/, 'render-time limit exceeded'],
  [/^parse length limit exceeded$/, 'parse limit exceeded'],
];

interface LiquidLike {
  name?: unknown;
  message?: unknown;
  originalError?: { message?: unknown };
  token?: { getPosition?: () => [number, number] };
}

/** "undefined variable at line 2, column 6": the kind and the position, from fixed words and numbers only. */
export function describeTemplateError(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as LiquidLike;
  const name = typeof e.name === 'string' ? e.name : '';
  // LiquidJS wraps a filter's or tag's own error: its original message is the fixed one.
  const original = typeof e.originalError?.message === 'string' ? e.originalError.message : typeof e.message === 'string' ? e.message : '';
  const [, refined, hint = ''] = KIND_BY_MESSAGE.find(([pattern]) => pattern.test(original)) ?? [];
  const kind = refined ?? (Object.hasOwn(KIND_BY_CLASS, name) ? KIND_BY_CLASS[name] : 'error');
  const at = positionOf(e);
  return `${kind}${at ? ` at line ${at[0]}, column ${at[1]}` : ''}${hint}`;
}

function positionOf(e: LiquidLike): [number, number] | undefined {
  try {
    const p = e.token?.getPosition?.();
    return Array.isArray(p) && Number.isInteger(p[0]) && Number.isInteger(p[1]) ? [p[0], p[1]] : undefined;
  } catch {
    return undefined;
  }
}
