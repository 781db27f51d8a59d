// What the hook never reads of a Metacontroller request, left out before parsing.
// Metacontroller sends every object as the API server stores it, metadata.managedFields
// included (a third of the captured request's bytes: hundreds of small nested objects
// that JSON.parse builds, the depth guard walks and the collector reclaims), and the
// CompositeController object itself first (a fifth of the rest). They are cut out of the
// text where the cut can be proved after parsing to have been the controller or the
// managedFields list of one of the request's objects (the controller, the parent, a
// child or a related object). A tenant's pod template may carry a managedFields key too
// (its metadata is kept as written): a cut anywhere else makes the text parse again
// whole. Whichever way a text is parsed, the body is what it says without those parts.
//
// What is not checked: the bytes inside a cut part. Only Metacontroller writes the body
// (the bearer token), from objects the API server stores as valid JSON, and the hook
// reads nothing of them; SECURITY.md says so.
import { isRecord } from '../api/json.js';

const KEY = '"managedFields":[';
// What stands in the cut text where a list was: a string holding only U+0000. JSON can
// spell that character only as an escape beginning with `\u`, and texts holding `\u`
// are not cut (the caller parses them whole), so each such value found after parsing
// is a cut.
const MARK = '\u0000';
const MARK_TEXT = '"\\u0000"';
const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
/** Nesting beyond this inside a part is left to the full parse and its depth guard. */
const MAX_DEPTH = 100;
const closers = new Uint8Array(MAX_DEPTH);

// Metacontroller's request struct begins with the controller: at the start of the text, it is the body's own member.
const CONTROLLER = '{"controller":{';

/**
 * The text with the controller and each managedFields list replaced by a mark, and how
 * many were. Only for texts without `\u` (./json-body.ts parses those whole). One pass:
 * each search for a key begins where the last scan stopped, whether it closed its part
 * or failed (deeper than MAX_DEPTH, say), so no character is scanned twice however a
 * tenant nests its own managedFields keys; a key inside a failed part is not tried
 * again, and its part is parsed. `scanned`: the characters the searches and the scans
 * went over, at most the text's length.
 */
export function cutUnreadParts(text: string): { text: string; cuts: number; scanned: number } {
  let out = '';
  let from = 0;
  let cuts = 0;
  let next = 0;
  let scanned = 0;
  if (text.startsWith(CONTROLLER)) {
    const open = CONTROLLER.length - 1;
    const close = valueEnd(text, open);
    scanned += stopped + 1 - open;
    next = stopped + 1;
    if (close !== -1) {
      out = `${text.slice(0, open)}${MARK_TEXT}`;
      from = close + 1;
      cuts++;
    }
  }
  for (;;) {
    const at = text.indexOf(KEY, next);
    scanned += (at === -1 ? text.length : at) - next;
    if (at === -1) break;
    const open = at + KEY.length - 1;
    if (!realQuote(text, at)) {
      next = at + 1;
      continue;
    }
    const close = valueEnd(text, open);
    scanned += stopped + 1 - open;
    next = stopped + 1;
    if (close === -1) continue;
    out += `${text.slice(from, open)}${MARK_TEXT}`;
    from = close + 1;
    cuts++;
  }
  return cuts === 0 ? { text, cuts, scanned } : { text: out + text.slice(from), cuts, scanned };
}

/** Whether the quote at `at` is one: inside a string, a quote is escaped by an odd run of backslashes. */
function realQuote(text: string, at: number): boolean {
  let k = at;
  while (k > 0 && text.charCodeAt(k - 1) === BACKSLASH) k--;
  return (at - k) % 2 === 0;
}

// Where the last valueEnd stopped: at its closing bracket, or at what failed it.
let stopped = 0;
const failedAt = (at: number): number => {
  stopped = at;
  return -1;
};

/** Index of the bracket closing the list or object opened at `open`; -1 when it is not closed, or closed by the wrong bracket. */
function valueEnd(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // To the string's closing quote: strings are most of a list's bytes, and indexOf is faster than a loop.
      do {
        i = text.indexOf('"', i + 1);
        if (i === -1) return failedAt(text.length - 1);
      } while (!realQuote(text, i));
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (depth === MAX_DEPTH) return failedAt(i);
      closers[depth++] = c === OPEN_ARRAY ? CLOSE_ARRAY : CLOSE_OBJECT;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (depth === 0 || closers[--depth] !== c) return failedAt(i);
      if (depth === 0) {
        stopped = i;
        return i;
      }
    }
  }
  return failedAt(text.length - 1);
}

type Json = Record<string, unknown>;

/** The metadata of the request's own objects: controller, parent, children and related, by type and name. */
function requestMetadata(body: unknown): Json[] {
  if (!isRecord(body)) return [];
  const out: Json[] = [];
  for (const key of ['controller', 'parent']) {
    const obj = Object.hasOwn(body, key) ? body[key] : undefined;
    if (isRecord(obj) && Object.hasOwn(obj, 'metadata') && isRecord(obj.metadata)) out.push(obj.metadata);
  }
  for (const key of ['children', 'related']) {
    const groups = Object.hasOwn(body, key) ? body[key] : undefined;
    if (!isRecord(groups)) continue;
    for (const type of Object.keys(groups)) {
      const byName = groups[type];
      if (!isRecord(byName)) continue;
      for (const name of Object.keys(byName)) {
        const obj = byName[name];
        if (isRecord(obj) && Object.hasOwn(obj, 'metadata') && isRecord(obj.metadata)) out.push(obj.metadata);
      }
    }
  }
  return out;
}

/**
 * Leaves the unread parts out of a parsed body, in one walk: the marks of cut parts, and
 * the controller object and managedFields lists a text spelled otherwise (with spaces,
 * say). Returns how many marks it found: fewer than the cuts made means some cut stood
 * elsewhere, and the text must be parsed again whole.
 */
export function dropUnreadParts(body: unknown): number {
  let marks = 0;
  for (const metadata of requestMetadata(body)) {
    if (!Object.hasOwn(metadata, 'managedFields')) continue;
    if (metadata.managedFields === MARK) marks++;
    else if (!Array.isArray(metadata.managedFields)) continue;
    delete metadata.managedFields;
  }
  if (isRecord(body) && Object.hasOwn(body, 'controller') && (body.controller === MARK || isRecord(body.controller))) {
    if (body.controller === MARK) marks++;
    delete body.controller;
  }
  return marks;
}
