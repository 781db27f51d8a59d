// The hook's own logger (redaction and scrub included), writing into an array instead of
// stdout, so a test reads exactly what an operator's log would hold.
import { Writable } from 'node:stream';
import { createLogger } from '../../src/http/logger.js';

export function capturedLogger(level: string, lines: string[] = []): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const log = createLogger(
    level,
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  return { log, lines };
}
