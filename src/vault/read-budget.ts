// What one VaultApp's sync may read from Vault, and how many syncs may read much at once.
// Whoever can write a Vault path chooses how large its answer is (a KV value may be 32 MiB,
// Vault's max_request_size), and a spec may name 80 paths: read whole, one sync took the
// hook from 200 to 349 MB before the core said SecretTooLarge. Bytes are counted as they
// arrive, so reading stops before the memory is spent, not after.
import { MAX_SECRET_BYTES } from '../hook/contract.js';

/**
 * Bytes of Vault answers one VaultApp's sync may read: what its Secret may hold, plus
 * room for what a Vault answer carries around the values (JSON quoting and escapes, KV
 * metadata, the keys). A spec whose reads pass it could not fit its Secret but by keys
 * it does not use.
 */
export const READ_BUDGET_BYTES = MAX_SECRET_BYTES + 512 * 1024;

/**
 * The largest answer of an engine that makes what it answers (a credential, a certificate):
 * such reads are not counted against the budget, never stopped midway (each may be a lease
 * to record or revoke), and capped one by one at this, far above any credential's size.
 */
export const MADE_ANSWER_BYTES = 256 * 1024;

/** Bytes a sync may read before it needs one of the large-read slots. */
export const SMALL_READS_BYTES = 128 * 1024;

/** Syncs that may read past SMALL_READS_BYTES at once, whatever the number of VaultApps. */
export const LARGE_READ_SLOTS = 8;

/** Why a sync's reads stopped: its budget ran out, it must wait for a large-read slot, or the sync ended. */
export type StopReason = 'over' | 'yield' | 'closed';

/** Slots for syncs reading more than SMALL_READS_BYTES; waiters are served in order. */
export class LargeReadSlots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly slots: number) {
    this.#free = slots;
  }

  get free(): number {
    return this.#free;
  }

  tryTake(): boolean {
    if (this.#free === 0) return false;
    this.#free--;
    return true;
  }

  /** Resolves true once a slot is taken, false when none came within `ms`. */
  take(ms: number): Promise<boolean> {
    if (this.tryTake()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const grant = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        const i = this.#waiting.indexOf(grant);
        if (i >= 0) this.#waiting.splice(i, 1);
        resolve(false);
      }, ms);
      this.#waiting.push(grant);
    });
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next)
      next(); // the slot passes straight to the next waiter
    else this.#free++;
  }
}

/** One read's part of a sync's budget. */
export interface Share {
  /** Counts `bytes` more of the answer; false: the sync's reads have stopped. */
  charge(bytes: number): boolean;
  /** Resolves when the sync's reads stop (never, for a sync that stays within its budget). */
  readonly stopped: Promise<StopReason>;
}

interface ShareState extends Share {
  charged: number;
  done: boolean;
}

/**
 * One VaultApp's budget for one sync. Every read of it takes a share; a read shared with
 * other VaultApps (./shared-reads.ts) is counted in full against each of them, so that
 * whether a VaultApp's reads fit depends on its own paths only, never on who else read them.
 */
export class ReadBudget {
  #used = 0;
  #stop: StopReason | undefined;
  #slot = false;
  readonly #shares = new Set<ShareState>();
  #stopped!: Promise<StopReason>;
  #signal!: (reason: StopReason) => void;

  constructor(
    readonly slots: LargeReadSlots,
    readonly limit = READ_BUDGET_BYTES,
    readonly small = SMALL_READS_BYTES,
  ) {
    this.#arm();
  }

  get used(): number {
    return this.#used;
  }

  get stoppedBy(): StopReason | undefined {
    return this.#stop;
  }

  share(): Share & { done: boolean } {
    const share: ShareState = {
      charged: 0,
      done: false,
      stopped: this.#stopped,
      charge: (bytes) => this.#charge(share, bytes),
    };
    this.#shares.add(share);
    return share;
  }

  /**
   * After a yield, with a slot now taken: reads may start again. The bytes of reads that
   * were stopped midway are forgotten with them; the reads that finished keep their count.
   */
  resume(): void {
    this.#slot = true;
    for (const s of this.#shares)
      if (!s.done) {
        this.#used -= s.charged;
        this.#shares.delete(s);
      }
    this.#stop = undefined;
    this.#arm();
  }

  /** The sync is over: reads still running (past a deadline) stop, and the slot goes back. */
  close(): void {
    if (!this.#stop) this.#halt('closed');
    if (this.#slot) {
      this.#slot = false;
      this.slots.release();
    }
  }

  #arm(): void {
    this.#stopped = new Promise((resolve) => {
      this.#signal = resolve;
    });
  }

  #halt(reason: StopReason): void {
    this.#stop = reason;
    this.#signal(reason);
  }

  #charge(share: ShareState, bytes: number): boolean {
    if (this.#stop || !this.#shares.has(share)) return false;
    const next = this.#used + bytes;
    if (next > this.limit) {
      this.#halt('over');
      return false;
    }
    // No slot free: stop rather than wait holding what was read (waiting holders could
    // wait on each other); the sync waits for a slot holding nothing, then reads again.
    if (next > this.small && !this.#slot) {
      if (!this.slots.tryTake()) {
        this.#halt('yield');
        return false;
      }
      this.#slot = true;
    }
    this.#used = next;
    share.charged += bytes;
    return true;
  }
}
