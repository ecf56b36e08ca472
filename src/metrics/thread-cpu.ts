// Where a validator's CPU goes, by thread: the consensus (main) thread, the signature-verification
// workers, and everything else (V8's garbage-collection and compiler threads, libuv). Operators and
// bench/cluster.ts read it to see what a committed transaction costs beyond its signature checks.
// Linux only: per-thread times come from /proc/self/task/<tid>/stat; elsewhere there is no reader.
import { existsSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc. 100 on every Linux ABI Node runs on. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) of one thread of this process, or null when it has ended. */
export function threadCpuSeconds(tid: number): number | null {
  let s: string;
  try {
    s = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]); // fields 14 and 15 of proc(5)
  return Number.isFinite(ticks) ? ticks / TICKS_PER_SECOND : null;
}

export interface ThreadCpu {
  readonly consensus: number;
  readonly verify: number;
  readonly other: number;
}

/**
 * A reader of this process's CPU seconds by thread role, or null where threads cannot be told
 * apart. `verifyThreads` lists the worker threads' ids at the time of the call.
 */
export function threadCpuReader(verifyThreads: () => readonly number[]): (() => ThreadCpu) | null {
  if (!existsSync(`/proc/self/task/${process.pid}/stat`)) return null;
  return () => {
    const consensus = threadCpuSeconds(process.pid) ?? 0;
    let verify = 0;
    for (const tid of verifyThreads()) verify += threadCpuSeconds(tid) ?? 0;
    const u = process.cpuUsage();
    const total = (u.user + u.system) / 1e6;
    // Two clocks (rusage in µs, /proc in ticks): the remainder can dip below 0 by a tick.
    return { consensus, verify, other: Math.max(0, total - consensus - verify) };
  };
}
