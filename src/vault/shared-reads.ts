// Concurrent syncs that read the same path with the same identity share one in-flight
// read, as ./single-flight.ts does, with each chunk of the answer counted against the
// budget of every sync sharing it (./read-budget.ts). A sync whose budget stops leaves the
// read; the read goes on for the others, and is aborted once nobody is left.
import type { Share, StopReason } from './read-budget.js';

/** Told each chunk's size as it arrives; false aborts the read. */
export type OnChunk = (bytes: number) => boolean;

export type SharedOutcome<T> = { ok: true; value: T } | { ok: false; stopped: StopReason };

interface Flight<T> {
  shares: Set<Share & { done: boolean }>;
  /** Bytes of the answer so far: a sync joining late is charged them at once. */
  received: number;
  result: Promise<T>;
  settled: boolean;
  /** Aborts the request, also while it waits for a socket (no chunk yet to refuse). */
  abort: AbortController;
}

export class SharedReads<T> {
  readonly #flights = new Map<string, Flight<T>>();

  has(key: string): boolean {
    return this.#flights.has(key);
  }

  async run(key: string, share: Share & { done: boolean }, start: (onChunk: OnChunk, signal: AbortSignal) => Promise<T>): Promise<SharedOutcome<T>> {
    const running = this.#flights.get(key);
    if (running && running.received > 0 && !share.charge(running.received)) return { ok: false, stopped: await share.stopped };
    const flight = running ?? this.#start(key, start);
    flight.shares.add(share);
    try {
      const outcome = await Promise.race([
        flight.result.then((value): SharedOutcome<T> => ({ ok: true, value })),
        share.stopped.then((stopped): SharedOutcome<T> => ({ ok: false, stopped })),
      ]);
      if (outcome.ok) share.done = true;
      return outcome;
    } finally {
      flight.shares.delete(share);
      // Nobody left: abort, and let the next sync that needs the path start afresh.
      if (flight.shares.size === 0 && !flight.settled) this.#abandon(key, flight);
    }
  }

  #abandon(key: string, flight: Flight<T>): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
    flight.abort.abort();
  }

  #start(key: string, start: (onChunk: OnChunk, signal: AbortSignal) => Promise<T>): Flight<T> {
    const flight: Flight<T> = { shares: new Set(), received: 0, result: Promise.resolve() as Promise<T>, settled: false, abort: new AbortController() };
    const onChunk: OnChunk = (bytes) => {
      flight.received += bytes;
      for (const s of flight.shares) if (!s.charge(bytes)) flight.shares.delete(s);
      if (flight.shares.size === 0) this.#abandon(key, flight);
      return flight.shares.size > 0;
    };
    flight.result = start(onChunk, flight.abort.signal);
    // Settled for nobody when every share left: its outcome is no one's.
    const settle = (): void => {
      flight.settled = true;
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    flight.result.then(settle, settle);
    this.#flights.set(key, flight);
    return flight;
  }
}
