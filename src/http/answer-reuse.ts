// 304 without recomputing, for a request the hook has answered before. Metacontroller
// resyncs every VaultApp each resync interval with the same objects, byte for byte, and
// sends the etag of the answer it holds (If-None-Match). Parsing and syncing such a
// request again gives the same answer, so the same 304 (reconcile says until when:
// src/hook/carried-state/answer-stability.ts); this remembers, per request digest, the
// answer's etag and that time, and answers from it before the body is even parsed.
// It holds no decision of its own: forgetting everything (a restart, a second replica)
// only costs CPU, never a different answer. The digest is SHA-256 over the route, the
// representation asked for and the body as received, so no other request, however
// crafted, can be answered from an entry; and an entry answers only a client that
// already holds that answer.
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { wantsYaml } from './yaml.js';

export interface UnchangedAnswer {
  etag: string;
  /** Epoch ms: the entry answers strictly before this. */
  until: number;
  /** `namespace/name` of the VaultApp, for the log line. */
  vaultapp: string;
  /** The sync's outcome and unhealthy reasons, for the metrics. */
  outcome: string;
  errors: string[];
}

/** Enough for a fleet of this many VaultApps per replica; the oldest entries go first. */
export const DEFAULT_MAX_ANSWERS = 50_000;

export class UnchangedAnswers {
  private readonly entries = new Map<string, UnchangedAnswer>();
  /** 304s answered from an entry. */
  hits = 0;

  constructor(private readonly maxEntries = DEFAULT_MAX_ANSWERS) {}

  static digest(route: string, representation: string, body: string): string {
    return createHash('sha256').update(route).update('\0').update(representation).update('\0').update(body).digest('base64url');
  }

  /** The entry for `digest` if it still holds at `nowMs` and the client holds its answer (`ifNoneMatch`). */
  lookup(digest: string, ifNoneMatch: string | undefined, nowMs: number): UnchangedAnswer | undefined {
    const entry = this.entries.get(digest);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.until) {
      this.entries.delete(digest);
      return undefined;
    }
    if (ifNoneMatch !== entry.etag) return undefined;
    // Least recently used goes first: a hit moves the entry to the end.
    this.entries.delete(digest);
    this.entries.set(digest, entry);
    this.hits++;
    return entry;
  }

  remember(digest: string, entry: UnchangedAnswer): void {
    this.entries.delete(digest);
    this.entries.set(digest, entry);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  forget(digest: string): void {
    this.entries.delete(digest);
  }

  get size(): number {
    return this.entries.size;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** SHA-256 of this /sync request; null when answers are not reused for it. */
    answerDigest: string | null;
    /** The earlier answer this request gets as a 304, without a sync. */
    unchangedAnswer: UnchangedAnswer | null;
    /** This sync's answer may be given again to the same request until then (the etag is added on sending). */
    reusableAnswer: Omit<UnchangedAnswer, 'etag'> | null;
  }
}

type Done = (err: Error | null, body?: unknown) => void;

export interface AnswerReuseOptions {
  answers: UnchangedAnswers;
  now: () => Date;
  /** How a JSON body not answered from an entry is parsed. */
  parseJson: (req: FastifyRequest, text: string, done: Done) => void;
  /** For a request answered 304 from an entry, just before the 304 goes out (metrics, the log line). */
  onReused: (req: FastifyRequest, hit: UnchangedAnswer) => void;
}

/**
 * /sync's JSON bodies digested before they are parsed: a request answered before, whose
 * answer the client holds and which still stands, gets a 304 at once and is not parsed
 * at all. An answer the route marks reusable (`req.reusableAnswer`) is remembered with
 * the etag it is sent under; any other answer to that digest forgets the entry.
 */
export const answerReuse: FastifyPluginAsync<AnswerReuseOptions> = async (app, { answers, now, parseJson, onReused }) => {
  app.decorateRequest('answerDigest', null);
  app.decorateRequest('unchangedAnswer', null);
  app.decorateRequest('reusableAnswer', null);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (req.routeOptions.url === '/sync') {
      const digest = UnchangedAnswers.digest('/sync', wantsYaml(req) ? 'yaml' : 'json', body as string);
      req.answerDigest = digest;
      const hit = answers.lookup(digest, req.headers['if-none-match'], now().getTime());
      if (hit) {
        req.unchangedAnswer = hit;
        // Not read: the 304 goes out before validation.
        done(null, {});
        return;
      }
    }
    parseJson(req, body as string, done);
  });
  app.addHook('preValidation', async (req, reply) => {
    const hit = req.unchangedAnswer;
    if (!hit) return;
    onReused(req, hit);
    await reply.header('etag', hit.etag).code(304).send();
  });
  // After the etag plugin's onSend (registered outside): the etag of what is sent is known.
  app.addHook('onSend', async (req, reply, payload) => {
    const digest = req.answerDigest;
    if (digest === null || req.unchangedAnswer) return payload;
    const etag = reply.getHeader('etag');
    if (req.reusableAnswer && (reply.statusCode === 200 || reply.statusCode === 304) && typeof etag === 'string')
      answers.remember(digest, { ...req.reusableAnswer, etag });
    else answers.forget(digest);
    return payload;
  });
};
// Its hooks and parser are for the routes of the plugin that registers it (the hook's
// routes), not for a context of its own: what fastify-plugin marks, without the dependency.
Object.assign(answerReuse, { [Symbol.for('skip-override')]: true });
