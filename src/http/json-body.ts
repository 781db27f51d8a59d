// JSON bodies of /sync and /finalize. Fastify's parser (secure-json-parse, which refuses
// or, for the hook's routes, removes keys that could poison a prototype: ./prototype-members.ts)
// scans every text with two regular expressions for `__proto__` and `constructor` in any
// spelling: on a 20 KB Metacontroller request that costs about as much as the parse itself.
// A text holding neither word nor any `\u` escape (the only other way to spell them) cannot
// hold such a key, so JSON.parse alone gives what secure-json-parse would; every other text,
// and every text JSON.parse refuses, goes to Fastify's parser, which refuses, removes or
// reports as its mode says.
// With `withoutUnreadParts` (the hook's routes), the controller and the request objects'
// managedFields lists are left out of the body, whichever parser read it (./unread-parts.ts).
import type { FastifyBodyParser, FastifyRequest } from 'fastify';
import { cutUnreadParts, dropUnreadParts } from './unread-parts.js';

// One pass over the text for the three (a regular expression: about a third of three includes).
const POISON = /__proto__|constructor|\\u/;
const mayPoison = (text: string): boolean => POISON.test(text);

type Done = (err: Error | null, body?: unknown) => void;

export function jsonBodyParser(
  secureParser: FastifyBodyParser<string>,
  opts: { withoutUnreadParts?: boolean } = {},
): (req: FastifyRequest, text: string, done: Done) => void {
  const secure = (req: FastifyRequest, text: string, done: Done): void => {
    if (!opts.withoutUnreadParts) {
      secureParser(req, text, done);
      return;
    }
    secureParser(req, text, (err, body) => {
      if (!err) dropUnreadParts(body);
      done(err, body);
    });
  };
  return (req, text, done) => {
    if (text.length === 0 || mayPoison(text)) {
      secure(req, text, done);
      return;
    }
    let body: unknown;
    try {
      if (opts.withoutUnreadParts) {
        const cut = cutUnreadParts(text);
        body = JSON.parse(cut.text);
        if (dropUnreadParts(body) !== cut.cuts) {
          body = JSON.parse(text);
          dropUnreadParts(body);
        }
      } else {
        body = JSON.parse(text);
      }
    } catch {
      secure(req, text, done);
      return;
    }
    done(null, body);
  };
}
