// CPU of the servers the bench starts, read from /proc (they are other processes).
import { readdirSync, readFileSync } from 'node:fs';

/** The Vault server this process started (a child whose command is vault-<version>). */
export function vaultPid(): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(after[1]) === process.pid && stat.includes('(vault')) return Number(d);
    } catch {
      /* gone */
    }
  }
  return undefined;
}
export function procCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, at 100 ticks/s
  } catch {
    return NaN;
  }
}
