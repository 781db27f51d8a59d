// Prometheus metrics (prefix vaultapp_). The Vault layer keeps plain counts
// (src/vault knows nothing of prom-client); they are read at scrape time.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BoundedQueue } from '../vault/bounded-queue.js';
import type { RequestCounts } from '../vault/http.js';
import type { ReaderStats } from '../vault/reader.js';
import type { TokenStats } from '../vault/token-source.js';

export interface VaultCounts {
  requests: RequestCounts;
  tokens: TokenStats;
  reader: ReaderStats;
  queue?: BoundedQueue;
}

/** What the HTTP layer reports about syncs. */
export interface SyncObserver {
  /** Call at the start of a sync; call the returned function with the outcome at its end. */
  start(): (outcome: string) => void;
  /** A reason a sync was not healthy (a condition reason, or an HTTP error code). */
  error(reason: string): void;
  /** A sync answered 304 from its unchanged earlier answer (src/http/answer-reuse.ts), without syncing again. */
  unchanged(): void;
}

/** Why a call to /sync or /finalize was refused before its body was read (the catalog's codes). */
export type AuthRefusal = 'UNAUTHENTICATED' | 'FORBIDDEN';

/** What the HTTP layer reports about refused callers. */
export interface AuthObserver {
  authRefused(code: AuthRefusal): void;
}

export interface Metrics extends SyncObserver, AuthObserver {
  registry: Registry;
}

export function createMetrics(vault: VaultCounts | undefined): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vaultapp_' });

  const duration = new Histogram({
    name: 'vaultapp_sync_duration_seconds',
    help: 'Time to answer a sync or finalize request, by outcome.',
    labelNames: ['outcome'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const inFlight = new Gauge({ name: 'vaultapp_syncs_in_flight', help: 'Sync requests being answered.', registers: [registry] });
  const errors = new Counter({
    name: 'vaultapp_sync_errors_total',
    help: 'Syncs that were not healthy, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  // Refused calls are not syncs (no duration, no outcome): a counter of their own makes
  // brute force against the bearer token visible. Both series exist from the start, so
  // rate() and alerts see the first refusal.
  const refused = new Counter({
    name: 'vaultapp_hook_auth_refused_total',
    help: 'Calls to /sync or /finalize refused for missing (UNAUTHENTICATED) or wrong (FORBIDDEN) credentials.',
    labelNames: ['code'],
    registers: [registry],
  });
  for (const code of ['UNAUTHENTICATED', 'FORBIDDEN'] satisfies AuthRefusal[]) refused.inc({ code }, 0);

  // Counted here and in the syncs without Vault below: such a sync made no Vault request either.
  let unchangedCount = 0;
  const unchanged = new Counter({
    name: 'vaultapp_syncs_answered_unchanged_total',
    help: 'Syncs of a request answered before, answered 304 from that answer without syncing again.',
    registers: [registry],
  });

  // Counters mirrored from the Vault layer's own counts when scraped.
  const mirror = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  if (vault) {
    new Counter({
      name: 'vaultapp_vault_requests_total',
      help: 'Requests to Vault, by operation and status code.',
      labelNames: ['operation', 'code'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of vault.requests.values()) this.inc({ operation: c.operation, code: c.status }, c.count);
      },
    });
    mirror('vaultapp_vault_logins_total', 'Logins to Vault.', () => vault.tokens.logins);
    mirror('vaultapp_vault_token_renewals_total', 'Renewals of cached Vault tokens.', () => vault.tokens.renewals);
    new Counter({
      name: 'vaultapp_token_cache_total',
      help: 'Vault token cache lookups, by result.',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ result: 'hit' }, vault.tokens.cacheHits);
        this.inc({ result: 'miss' }, vault.tokens.cacheMisses);
      },
    });
    const queue = vault.queue;
    if (queue) {
      new Gauge({
        name: 'vaultapp_vault_queue_depth',
        help: 'Syncs waiting for a slot in the queue in front of Vault.',
        registers: [registry],
        collect() {
          this.set(queue.depth);
        },
      });
      mirror('vaultapp_vault_queue_rejected_total', 'Syncs answered 429 because the queue in front of Vault was full.', () => queue.rejected);
    }
    mirror(
      'vaultapp_syncs_without_vault_total',
      'Syncs answered without any Vault request: data inside its refresh interval, leases in use (answered-unchanged syncs included).',
      () => vault.reader.withoutVault + unchangedCount,
    );
    mirror('vaultapp_vault_reads_shared_total', "Reads answered by another sync's in-flight read of the same path.", () => vault.reader.sharedReads);
    new Counter({
      name: 'vaultapp_leases_total',
      help: 'Dynamic-secret leases, by event.',
      labelNames: ['event'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ event: 'issued' }, vault.reader.leasesIssued);
        this.inc({ event: 'renewed' }, vault.reader.leasesRenewed);
        this.inc({ event: 'revoked' }, vault.reader.leasesRevoked);
      },
    });
  }

  return {
    registry,
    start() {
      inFlight.inc();
      const end = duration.startTimer();
      return (outcome) => {
        inFlight.dec();
        end({ outcome });
      };
    },
    error(reason) {
      errors.inc({ reason });
    },
    unchanged() {
      unchangedCount++;
      unchanged.inc();
    },
    authRefused(code) {
      refused.inc({ code });
    },
  };
}
