// spec.vault.templates: Secret keys rendered from the values of named vault.secrets
// entries with Liquid. Templates are tenant-written and run in the shared hook, so the
// engine is LiquidJS, made for untrusted templates, with every limit set: own properties
// only (no prototype, no constructor), no file system (include, render and layout are
// removed), parse, render-time and memory limits, and a cap on the output. Strict
// variables: a misspelt {{ db.usernme }} would otherwise render a connection string
// without its user, silently; strict, it is an error naming the key.
//
// Those limits are LiquidJS's and checked between nodes only: inside one filter call a
// template held the event loop for seconds (where_exp over a range: 11.9 s from 92
// characters), and every other tenant waited. What bounds it now: all templates of one
// VaultApp render inside one ./deadline.ts call, which stops whatever JavaScript runs when
// their time is spent; caps on lists and on the values read keep short the one native call
// it cannot stop midway; and filters are an allowlist (FILTERS below): deterministic, so
// the same inputs render the same Secret (a random or clock-reading filter rewrote the
// Secret and rolled the pods at every sync, each write bringing the next), and each about
// linear in its input. Pure but for the clock the deadline reads.
import { Liquid } from 'liquidjs';
import { MAX_TEMPLATE_LENGTH } from '../../api/vaultapp-schema.js';
import { problem, type Problem } from '../../errors/catalog.js';
import { runWithin } from './deadline.js';
import { ownSet } from '../../api/json.js';
import { describeTemplateError } from './template-errors.js';

/** Milliseconds all templates of one VaultApp may hold the event loop in one sync: the bound SECURITY.md states. */
export const RENDER_BUDGET_MS = 200;
/**
 * Milliseconds all templates of one VaultApp may render in one sync: LiquidJS's render limit
 * between nodes, the deadline inside them. The other half of the budget is for the one
 * native call the deadline cannot stop midway (V8 checks for termination in JavaScript, not
 * inside a native join or split; the caps below keep such a call to tens of milliseconds),
 * for the sync around the render, and for the watchdog thread and the termination to be
 * scheduled on a busy machine.
 */
export const RENDER_TIME_MS = 100;
/**
 * LiquidJS's allocation budget per render: charged filters count their input against it, a
 * range its length, so it is also the longest list a template can make. A native call over a
 * list of this many numbers (join, a Set) took about 45 ms of CPU on the bench's machine.
 */
export const MEMORY_LIMIT = 100_000;
/**
 * Characters of values the templates of one VaultApp may read. The filters LiquidJS does not
 * charge (url_encode, slugify, the split inside replace) make one native pass over a value:
 * about 15 ms for this many characters on the bench's machine. A template's output is at
 * most 64 KiB; a larger input is cut down by it, which the Secret's own keys do better.
 */
export const MAX_INPUT_CHARS = 256 * 1024;
/** Bytes one rendered value may have. */
export const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * The filters a template may use, each with why its cost is bounded. "Charged": LiquidJS
 * counts the input's length against MEMORY_LIMIT first, so a render's charged filters
 * together touch at most that many characters or items. Left out: the *_exp filters (a
 * tenant expression evaluated per item, uncharged: quadratic from a few characters),
 * where, reject, group_by, has, find, find_index, map and sum (a lookup per item, for lists
 * of objects, which the scope of strings never holds; sum and the finds are uncharged),
 * sample (random), the date filters (the clock), inspect (quadratic in the
 * nesting), strip_html and newline_to_br (HTML, no use in a Secret). A filter LiquidJS
 * adds in a new release is left out until it is named here.
 */
export const FILTERS: Readonly<Record<string, string>> = {
  ...same(
    ['abs', 'at_least', 'at_most', 'ceil', 'divided_by', 'floor', 'minus', 'plus', 'modulo', 'times', 'round', 'to_integer'],
    'arithmetic on numbers: constant',
  ),
  ...same(['size', 'first', 'last', 'default', 'raw'], 'reads a length, one item or the value itself: constant'),
  ...same(
    [
      'append',
      'prepend',
      'lstrip',
      'rstrip',
      'strip',
      'downcase',
      'upcase',
      'capitalize',
      'remove',
      'remove_first',
      'remove_last',
      'replace',
      'replace_first',
      'replace_last',
      'split',
      'strip_newlines',
      'squish',
      'truncate',
      'truncatewords',
      'normalize_whitespace',
      'number_of_words',
      'escape',
      'xml_escape',
      'escape_once',
      'base64_encode',
      'base64_decode',
      'sha256',
      'hmac_sha256',
    ],
    'one pass over the string (literal patterns, linear regular expressions), charged',
  ),
  ...same(
    ['url_encode', 'url_decode', 'cgi_escape', 'uri_escape', 'slugify'],
    'one pass over the string (linear regular expressions), uncharged but on a capped value (MAX_INPUT_CHARS) or a charged string',
  ),
  ...same(
    ['join', 'reverse', 'compact', 'concat', 'push', 'unshift', 'pop', 'shift', 'slice', 'uniq', 'array_to_sentence_string'],
    'one pass over the list, charged',
  ),
  ...same(['sort', 'sort_natural'], 'n log n comparisons over a charged list of n items'),
  ...same(['json', 'jsonify'], 'one pass over the value, each part charged'),
};

function same(names: string[], why: string): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, why]));
}

const engine = new Liquid({
  templates: {},
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  parseLimit: MAX_TEMPLATE_LENGTH,
  renderLimit: RENDER_TIME_MS,
  memoryLimit: MEMORY_LIMIT,
});
for (const tag of ['include', 'render', 'layout', 'block']) delete engine.tags[tag];
for (const name of Object.keys(engine.filters)) if (!Object.hasOwn(FILTERS, name)) engine.unregisterFilter(name);
// A filter renamed or dropped by a LiquidJS upgrade fails here, at load, not in a tenant's sync.
for (const name of Object.keys(FILTERS)) if (!Object.hasOwn(engine.filters, name)) throw new Error(`LiquidJS has no filter "${name}"`);

/** Values by entry name, then by the entry's Vault key: {{ db.username }}. */
export type TemplateValues = Record<string, Record<string, string>>;

type Outcome = { key: string; out: unknown } | { key: string; error: unknown };

/** Renders every template; base64 values by key, or the problems naming the keys that failed. */
export function renderTemplates(templates: Record<string, string>, values: TemplateValues): { data: Record<string, string>; problems: Problem[] } {
  const keys = Object.keys(templates).sort();
  if (inputChars(values) > MAX_INPUT_CHARS) {
    const message = (key: string) => `template "${key}": not rendered, its values hold more than the ${MAX_INPUT_CHARS} characters templates may read`;
    return { data: {}, problems: keys.map((key) => problem('TEMPLATE_ERROR', message(key))) };
  }
  const outcomes = renderWithinBudget(keys, templates, values);
  const data: Record<string, string> = {};
  const problems: Problem[] = [];
  const budget = `the ${RENDER_TIME_MS} ms all templates of a VaultApp may render in one sync`;
  for (const [i, key] of keys.entries()) {
    const outcome = outcomes.done[i];
    if (!outcome) {
      const what = i === outcomes.done.length && outcomes.cut ? 'cut off at the end of' : 'not rendered, the templates before it used';
      problems.push(problem('TEMPLATE_ERROR', `template "${key}": ${what} ${budget}`));
    } else if ('error' in outcome) {
      problems.push(problem('TEMPLATE_ERROR', `template "${key}": ${describeTemplateError(outcome.error)}`));
    } else {
      const rendered = typeof outcome.out === 'string' ? outcome.out : String(outcome.out);
      const bytes = Buffer.byteLength(rendered, 'utf8');
      if (bytes > MAX_OUTPUT_BYTES)
        problems.push(problem('TEMPLATE_ERROR', `template "${key}": renders ${bytes} bytes, more than the ${MAX_OUTPUT_BYTES} a template may`));
      else ownSet(data, key, Buffer.from(rendered, 'utf8').toString('base64'));
    }
  }
  return { data, problems };
}

/**
 * The templates in key order under one deadline. Outcomes are only appended, so what the
 * deadline stops leaves the ones before it whole; the first key without an outcome is the
 * one that was running when `cut`. LiquidJS's own render limit, set to what is left, ends
 * a slow template between nodes with a clearer error and leaves time to the next ones.
 */
function renderWithinBudget(keys: string[], templates: Record<string, string>, values: TemplateValues): { done: Outcome[]; cut: boolean } {
  const done: Outcome[] = [];
  const started = performance.now();
  const finished = runWithin(RENDER_TIME_MS, () => {
    for (const key of keys) {
      const left = Math.floor(RENDER_TIME_MS - (performance.now() - started));
      if (left <= 0) return;
      try {
        // A fresh scope per template: nothing one template assigns is seen by the next.
        done.push({ key, out: engine.parseAndRenderSync(templates[key]!, scopeOf(values), { renderLimit: left }) });
      } catch (error) {
        done.push({ key, error });
      }
    }
  });
  return { done, cut: !finished };
}

function inputChars(values: TemplateValues): number {
  let chars = 0;
  for (const byKey of Object.values(values)) for (const v of Object.values(byKey)) chars += v.length;
  return chars;
}

// Copies with own properties only: the scope holds strings under plain objects, nothing else.
function scopeOf(values: TemplateValues): Record<string, Record<string, string>> {
  const scope: Record<string, Record<string, string>> = {};
  for (const [name, byKey] of Object.entries(values)) {
    const entry: Record<string, string> = {};
    for (const [k, v] of Object.entries(byKey)) ownSet(entry, k, v);
    ownSet(scope, name, entry);
  }
  return scope;
}
