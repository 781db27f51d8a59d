// Reads what one VaultApp needs from Vault: each distinct path once per sync, and
// concurrent syncs that need the same path with the same identity share one
// in-flight read. Reads of leasing engines are never shared between VaultApps:
// two parents sharing one dynamic credential would share its revocation too.
import {
  bindingOf,
  sealedTokenContext,
  type StateBinding,
  type Revocation,
  type UnsignedLeaseRecord,
  type PathPlan,
  type VaultPlan,
  type VaultEdge,
  MAX_SECRET_BYTES,
  isoSeconds,
  pathsOf,
  identityOf,
  type Identity,
  type PathRead,
  type VaultMaterial,
} from '../hook/contract.js';
import type { VaultApp } from '../api/vaultapp-schema.js';
import { problem, type ErrorCode, type Problem } from '../errors/catalog.js';
import { createLeaseOps } from './lease-ops.js';
import type { BoundedQueue } from './bounded-queue.js';
import type { TokenSealer } from './token-seal.js';
import { KubeRequestError } from '../kube/token-request.js';
import { describeVaultFailure, VaultRequestError, type ReadLimits, type VaultHttp, type VaultResponse } from './http.js';
import { apiPath, MountResolver, type MountInfo } from './mounts.js';
import { SingleFlight } from './single-flight.js';
import { LARGE_READ_SLOTS, LargeReadSlots, MADE_ANSWER_BYTES, READ_BUDGET_BYTES, ReadBudget } from './read-budget.js';
import { SharedReads } from './shared-reads.js';
import type { TokenSource } from './token-source.js';

export interface ReaderStats {
  reads: number;
  sharedReads: number;
  leasesIssued: number;
  leasesRenewed: number;
  leasesRevoked: number;
  /** Syncs whose data was fresh and leases in use: answered without any Vault request. */
  withoutVault: number;
  /** Bytes of Vault's answers to reads, counted once per read however many syncs share it (the real reader only). */
  bytesRead?: number;
  /** Syncs whose reads stopped at their budget, ./read-budget.ts (the real reader only). */
  readsStopped?: number;
}

/** What reconcile is handed (../hook/contract.ts `VaultEdge`), with its counters. */
export interface VaultReader extends VaultEdge {
  readonly stats: ReaderStats;
}

function problemFor(err: unknown, where: string, log?: (err: unknown, where: string) => void): Problem {
  if (err instanceof VaultRequestError && err.kind === 'too-large')
    return problem(
      'SECRET_TOO_LARGE',
      `cannot read ${where}: Vault's answer is larger than the hook takes from one read (${MADE_ANSWER_BYTES} bytes for a credential, certificate or other answer Vault makes)`,
    );
  if (err instanceof VaultRequestError) {
    const code: ErrorCode =
      err.kind === 'unreachable'
        ? 'VAULT_UNREACHABLE'
        : err.status === 403
          ? 'VAULT_PERMISSION_DENIED'
          : err.status === 404
            ? 'VAULT_PATH_NOT_FOUND'
            : err.status === 503
              ? 'VAULT_SEALED'
              : 'VAULT_ERROR';
    const what =
      code === 'VAULT_PERMISSION_DENIED'
        ? 'permission denied (403)'
        : code === 'VAULT_PATH_NOT_FOUND'
          ? 'nothing stored there (404)'
          : code === 'VAULT_SEALED'
            ? 'Vault is sealed or unavailable (503)'
            : // Vault's own words only from a read of the spec's path, the endpoint the hook meant to call.
              describeVaultFailure(err, { vaultErrors: true });
    return problem(code, `cannot read ${where}: ${what}`);
  }
  log?.(err, where);
  return problem('INTERNAL', `cannot read ${where}: ${describeVaultFailure(err)}`);
}

// When the mount could not be looked up (no capability on sys/internal/ui/mounts,
// an older server), a KV v2 answer is recognised by its data + metadata.version.
function looksLikeKv2(res: VaultResponse): boolean {
  const d = res.data as { data?: unknown; metadata?: { version?: unknown } } | undefined;
  return typeof d?.data === 'object' && typeof d?.metadata?.version === 'number' && Object.keys(d).length === 2;
}

function classify(res: VaultResponse, mount: MountInfo | undefined, where: string): PathRead {
  const leaseId = typeof res.lease_id === 'string' ? res.lease_id : '';
  if (mount?.kvVersion === 2 || (mount === undefined && looksLikeKv2(res))) {
    const d = res.data as { data?: unknown; metadata?: { version?: number; deletion_time?: string; destroyed?: boolean } } | undefined;
    if (d?.data === null || d?.metadata?.destroyed)
      return { ok: false, problem: problem('VAULT_PATH_NOT_FOUND', `cannot read ${where}: the current version is deleted`) };
    if (!d || typeof d.data !== 'object' || Array.isArray(d.data))
      return { ok: false, problem: problem('VAULT_UNEXPECTED_RESPONSE', `cannot read ${where}: expected KV v2 data.data`) };
    return {
      ok: true,
      engine: 'kv2',
      data: d.data as Record<string, unknown>,
      ...(typeof d.metadata?.version === 'number' ? { version: d.metadata.version } : {}),
    };
  }
  if (!res.data || typeof res.data !== 'object' || Array.isArray(res.data)) {
    return { ok: false, problem: problem('VAULT_UNEXPECTED_RESPONSE', `cannot read ${where}: the response has no data object`) };
  }
  const data = res.data as Record<string, unknown>;
  if (leaseId) {
    return { ok: true, engine: 'leased', data, lease: { id: leaseId, durationSeconds: res.lease_duration ?? 0, renewable: res.renewable === true } };
  }
  return { ok: true, engine: 'kv1', data };
}

export interface ReaderOptions {
  /** Upper bound on one VaultApp's Vault work, to answer inside Metacontroller's hook timeout. */
  deadlineMs: number;
  /** A refusal here means no Vault call at all for this VaultApp. */
  authorize?: (id: Identity) => Problem | undefined;
  /** Seals the tokens that create leases, for the lease records on the Secret. */
  sealer: TokenSealer;
  /** Bounded queue every sync's Vault work goes through; full → QueueFullError. */
  queue?: BoundedQueue;
  /** Where an unexpected error goes: a status condition only says there was one. */
  logUnexpected?: (err: unknown, where: string) => void;
  /** Syncs that may read more than a little at once (./read-budget.ts); shared by the hook's readers. */
  largeReads?: LargeReadSlots;
}

/** A read stopped so that its sync could wait for a large-read slot; made again once it has one. */
const YIELDED = Symbol('yielded');
/** A read its sync's budget stopped; the sync says why for every path the budget covers. */
const STOPPED = Symbol('stopped');
type Outcome = PathRead | typeof YIELDED | typeof STOPPED;

/** One sync's reads: its budget, and which of its paths the budget covers. */
interface SyncReads {
  budget: ReadBudget;
  budgeted: Set<string>;
}

const vaultAppOf = (app: VaultApp): string => `${app.metadata.namespace ?? ''}/${app.metadata.name}`;

function overBudget(app: VaultApp, path: string): Problem {
  return problem(
    'SECRET_TOO_LARGE',
    `cannot read path "${path}": the reads of VaultApp ${vaultAppOf(app)} came to more than ${READ_BUDGET_BYTES} bytes (the ${MAX_SECRET_BYTES} a Secret holds, plus room for JSON and metadata), and reading stopped`,
  );
}

function noLargeReadSlot(path: string, slots: number): Problem {
  return problem(
    'LARGE_READS_BUSY',
    `cannot read path "${path}": all ${slots} of the hook's slots for large reads stayed taken by other syncs until this sync's deadline; the next sync reads again`,
  );
}

export function createVaultReader(http: VaultHttp, tokens: TokenSource, options: ReaderOptions): VaultReader {
  const mounts = new MountResolver(http);
  const flights = new SingleFlight<PathRead>();
  const budgetedFlights = new SharedReads<PathRead>();
  const largeReads = options.largeReads ?? new LargeReadSlots(LARGE_READ_SLOTS);
  const stats: ReaderStats = {
    reads: 0,
    sharedReads: 0,
    leasesIssued: 0,
    leasesRenewed: 0,
    leasesRevoked: 0,
    withoutVault: 0,
    bytesRead: 0,
    readsStopped: 0,
  };
  const leaseOps = createLeaseOps(http, options.sealer);

  // A new lease carries its creating token, sealed for this VaultApp, path and lease, and that token's expiry.
  async function withTokenInfo(read: Outcome, path: string, id: Identity, binding: StateBinding): Promise<Outcome> {
    if (typeof read === 'symbol' || !read.ok || !('lease' in read) || !read.lease) return read;
    stats.leasesIssued++;
    const info = await tokens.describe(id);
    if (info.expiresAt === undefined) return read;
    const sealedToken = options.sealer.seal(info.token, sealedTokenContext(binding, path, read.lease.id));
    return { ...read, lease: { ...read.lease, sealedToken, tokenExpiresAt: isoSeconds(new Date(info.expiresAt)), tokenTtl: info.ttlSeconds } };
  }

  async function readPath(path: string, id: Identity, binding: StateBinding, plan: PathPlan, sync: SyncReads): Promise<Outcome> {
    const untouched = withoutReading(plan);
    if (untouched) return untouched;
    if (plan.action === 'renew') {
      const renewed = await leaseOps.renew(path, plan, binding, () => tokens.token(id));
      if (renewed) {
        if (renewed.ok) stats.leasesRenewed++;
        return renewed;
      }
    }
    return withTokenInfo(await readOnce(path, id, binding.uid || `${binding.namespace}/${binding.name}`, sync), path, id, binding);
  }

  async function readOnce(path: string, id: Identity, parentUid: string, sync: SyncReads): Promise<Outcome> {
    const where = `path "${path}"`;
    let token = await tokens.token(id);
    const mount = await mounts.resolve(path, token);
    const target = apiPath(path, mount);
    const shareable = mount?.type === 'kv' || mount?.type === 'generic';
    const key = [tokens.key(id), target, shareable ? '' : parentUid].join('\u0000');
    const read = (limits: ReadLimits) => async (): Promise<PathRead> => {
      for (let attempt = 0; ; attempt++) {
        try {
          stats.reads++;
          return classify(await http.read(target, token, limits), mount, where);
        } catch (err) {
          // A 403 may be a token Vault revoked or let expire: one new login, then report.
          if (attempt === 0 && err instanceof VaultRequestError && err.status === 403 && tokens.invalidate(id, token)) {
            const next = await tokens.token(id);
            if (next !== token) {
              token = next;
              continue;
            }
          }
          return { ok: false, problem: problemFor(err, where, options.logUnexpected) };
        }
      }
    };
    const counted = (bytes: number): boolean => {
      stats.bytesRead = (stats.bytesRead ?? 0) + bytes;
      return true;
    };
    // Engines that make what they answer (a credential, a certificate: Vault's words, not a
    // tenant's) are read whole, never stopped midway: each answer may be a lease that must
    // be recorded or revoked. Their answers are capped one by one (MADE_ANSWER_BYTES).
    if (mount !== undefined && !shareable) {
      if (flights.has(key)) stats.sharedReads++;
      return flights.run(key, read({ maxBytes: MADE_ANSWER_BYTES, onChunk: counted }));
    }
    // KV, and paths whose engine is unknown: what whoever writes the path chose, counted against the budget.
    sync.budgeted.add(path);
    if (sync.budget.stoppedBy) return sync.budget.stoppedBy === 'yield' ? YIELDED : STOPPED;
    if (budgetedFlights.has(key)) stats.sharedReads++;
    const outcome = await budgetedFlights.run(key, sync.budget.share(), (onChunk, signal) =>
      // The budget stops it (onChunk) before any cap on one answer would.
      read({ onChunk: (bytes) => counted(bytes) && onChunk(bytes), signal })(),
    );
    if (outcome.ok) return outcome.value;
    return outcome.stopped === 'yield' ? YIELDED : STOPPED;
  }

  return {
    stats,
    revoke(app, records) {
      return options.queue ? options.queue.run(() => revoke(app, records)) : revoke(app, records);
    },
    material(app, plan = {}) {
      return options.queue ? options.queue.run(() => material(app, plan)) : material(app, plan);
    },
  };

  async function revoke<R extends UnsignedLeaseRecord>(app: VaultApp, records: R[]): Promise<Revocation<R>[]> {
    const id = identityOf(app);
    const binding = bindingOf(app);
    return Promise.all(
      records.map(async (record): Promise<Revocation<R>> => {
        try {
          const r = await withDeadline(
            leaseOps.revoke(record, binding, () => tokens.token(id)),
            options.deadlineMs,
            `revoking the lease of path "${record.path}"`,
          );
          if (r.ok) stats.leasesRevoked++;
          return { record, ...r };
        } catch (err) {
          if (!(err instanceof VaultRequestError)) options.logUnexpected?.(err, `revoking the lease of path "${record.path}"`);
          return { record, ok: false, message: `cannot revoke the lease of path "${record.path}": ${describeVaultFailure(err)}` };
        }
      }),
    );
  }

  async function material(app: VaultApp, plan: VaultPlan): Promise<VaultMaterial> {
    const id = identityOf(app);
    const binding = bindingOf(app);
    const refused = options.authorize?.(id);
    if (refused) return { auth: { ok: false, problem: refused }, reads: {} };
    const paths = pathsOf(app);
    const planned = (path: string): PathPlan => (Object.hasOwn(plan, path) ? plan[path] : undefined) ?? { action: 'read' };
    // Nothing to read or renew: not even a login (a token may have to be requested and Vault asked).
    if (paths.every((p) => planned(p).action === 'keep' || planned(p).action === 'reuse')) {
      const reads = paths.map((p): [string, PathRead] => [p, withoutReading(planned(p))!]);
      stats.withoutVault++;
      return { auth: { ok: true }, reads: Object.fromEntries(reads), vaultSkipped: true };
    }
    const until = Date.now() + options.deadlineMs;
    try {
      await withDeadline(tokens.token(id), options.deadlineMs, 'logging in to Vault');
    } catch (err) {
      return { auth: { ok: false, problem: authProblem(err, tokens.who(id), options.logUnexpected) }, reads: {} };
    }
    const sync: SyncReads = { budget: new ReadBudget(largeReads), budgeted: new Set() };
    // A few paths at a time: once the budget runs out, the paths not started are never
    // asked for (Vault would build every answer asked for, read or not).
    const readAll = (some: string[]) =>
      inBatches(some, READS_AT_ONCE, async (path): Promise<[string, Outcome]> => {
        try {
          return [path, await withDeadline(readPath(path, id, binding, planned(path), sync), until - Date.now(), `reading path "${path}"`, options.deadlineMs)];
        } catch (err) {
          return [path, { ok: false, problem: problemFor(err, `path "${path}"`, options.logUnexpected) }];
        }
      });
    try {
      const results = new Map(await readAll(paths));
      const yielded = [...results].flatMap(([path, r]) => (r === YIELDED ? [path] : []));
      if (yielded.length > 0) {
        // Waits holding nothing it read, then reads again what was stopped.
        if (await largeReads.take(Math.max(0, until - Date.now()))) {
          sync.budget.resume();
          for (const [path, r] of await readAll(yielded)) results.set(path, r);
        } else for (const path of yielded) results.set(path, { ok: false, problem: noLargeReadSlot(path, largeReads.slots) });
      }
      if (sync.budget.stoppedBy === 'over') {
        stats.readsStopped = (stats.readsStopped ?? 0) + 1;
        // Every path the budget covers, whichever read happened to be running when it ran out:
        // the same spec and data give the same status at every sync. A lease just issued
        // stays as it is, for the hook to revoke (src/hook/reconcile.ts).
        for (const path of sync.budgeted) {
          const r = results.get(path);
          if (!(typeof r === 'object' && r.ok && 'lease' in r && r.lease)) results.set(path, { ok: false, problem: overBudget(app, path) });
        }
      }
      const reads: Record<string, PathRead> = {};
      for (const [path, r] of results)
        reads[path] = typeof r === 'symbol' ? { ok: false, problem: problem('INTERNAL', `path "${path}": the read stopped and was not made again`) } : r;
      return { auth: { ok: true }, reads };
    } finally {
      sync.budget.close();
    }
  }
}

function authProblem(err: unknown, who: string, log?: (err: unknown, where: string) => void): Problem {
  if (err instanceof KubeRequestError) return problem('SERVICE_ACCOUNT_TOKEN_FAILED', err.message);
  if (err instanceof VaultRequestError) {
    // The login endpoint is one the hook meant to call: Vault's words say why it refused.
    return problem(
      err.kind === 'unreachable' ? 'VAULT_UNREACHABLE' : 'VAULT_AUTH_FAILED',
      `cannot log in to Vault with ${who}: ${describeVaultFailure(err, { vaultErrors: true })}`,
    );
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return problem('VAULT_NO_CREDENTIALS', `cannot log in to Vault with ${who}: no service-account token at ${e.path}`);
  log?.(err, `logging in to Vault with ${who}`);
  return problem('VAULT_AUTH_FAILED', `cannot log in to Vault with ${who}: ${describeVaultFailure(err)}`);
}

/** Reads of one sync running at once. */
const READS_AT_ONCE = 4;

/** `fn` over `items`, at most `n` running at once; results in the order of `items`. */
async function inBatches<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** What a path planned 'keep' or 'reuse' gives: no Vault request at all. */
function withoutReading(plan: PathPlan): PathRead | undefined {
  if (plan.action === 'keep') return { ok: true, unchanged: true };
  if (plan.action === 'reuse') return { ok: true, engine: 'leased', kept: plan.record };
  return undefined;
}

class DeadlineError extends VaultRequestError {}

/** `said`: the deadline the message names (the sync's), when `ms` is what is left of it. */
function withDeadline<T>(p: Promise<T>, ms: number, what: string, said = ms): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DeadlineError('unreachable', undefined, [`no answer within ${said} ms`], `${what}: no answer within ${said} ms`)),
      Math.max(0, ms),
    );
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
