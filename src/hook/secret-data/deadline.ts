// A hard wall-clock bound on synchronous work, for code whose cost a tenant chooses (the
// templates). V8's watchdog, armed by vm's `timeout`, terminates whatever JavaScript runs
// when it fires: LiquidJS's own functions too, inside one filter call, where LiquidJS's
// render limit (checked between nodes only) cannot reach. The termination cannot be caught
// by the code it stops (no try/catch or finally inside runs), so the work must leave no
// shared state half-written: callers collect results in their own closure and read them
// afterwards. Arming the watchdog costs a thread start per call (about 0.1 ms of CPU,
// `npx tsx bench/templates.ts`): one call per VaultApp's render, never one per template.
import { Script, createContext } from 'node:vm';

// One context for the process: a context costs about 1 MB and a millisecond to make. It
// holds one slot, the function to run; the script only calls it.
const context = createContext({ work: undefined as (() => void) | undefined });
const callWork = new Script('work()', { filename: 'vaultapp-deadline' });

/** Runs `work` and returns true, or stops it after `ms` milliseconds and returns false. */
export function runWithin(ms: number, work: () => void): boolean {
  if (ms <= 0) return false;
  context.work = work;
  try {
    callWork.runInContext(context, { timeout: Math.ceil(ms), breakOnSigint: false });
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return false;
    throw err;
  } finally {
    context.work = undefined;
  }
}
