// 304 without recomputing, for a request the hook has answered before. Metacontroller
// resyncs every VaultApp each resync interval with the same objects, byte for byte, and
// sends the etag of the answer it holds (If-None-Match). Parsing and syncing such a
// request again gives the same answer, so the same 304 (src/hook/carried-state/answer-stability.ts
// says until when); this remembers, per request digest, the answer's etag and that time.
// It holds no decision of its own: forgetting everything (a restart, a second replica)
// only costs CPU, never a different answer. The digest is SHA-256 over the route, the
// representation asked for and the body as received, so no other request, however
// crafted, can be answered from an entry; and an entry answers only a client that
// already holds that answer.
import { createHash } from 'node:crypto';

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
