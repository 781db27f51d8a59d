// JSON bodies of /sync and /finalize. Fastify's parser (secure-json-parse, refusing keys
// that could poison a prototype) scans every text with two regular expressions for
// `__proto__` and `constructor` in any spelling: on a 20 KB Metacontroller request that
// costs about as much as the parse itself. A text holding neither word nor any `\u`
// escape (the only other way to spell them) cannot hold such a key, so JSON.parse alone
// gives what secure-json-parse would; every other text, and every text JSON.parse
// refuses, goes to Fastify's parser, which refuses or reports it as it always has.
import type { FastifyBodyParser, FastifyRequest } from 'fastify';

const mayPoison = (text: string): boolean => text.includes('__proto__') || text.includes('constructor') || text.includes('\\u');

export function jsonBodyParser(
  secureParser: FastifyBodyParser<string>,
): (req: FastifyRequest, text: string, done: (err: Error | null, body?: unknown) => void) => void {
  return (req, text, done) => {
    if (text.length > 0 && !mayPoison(text)) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        secureParser(req, text, done);
        return;
      }
      done(null, body);
      return;
    }
    secureParser(req, text, done);
  };
}
