// `numchain flood` as a supervised child process with a JSON summary. A child rather than a call in
// this process because flood signs tens of thousands of transactions up front, which would freeze
// the supervisor's event loop (live display, health checks, fault timing) for seconds.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { FloodSummary } from '../flood.ts';
import { BIN } from './localnet.ts';

export interface FloodOptions {
  readonly rpcUrls: readonly string[];
  readonly rate: number;
  readonly durationS: number;
  readonly senders?: number;
  readonly drainS?: number;
  readonly seedBase?: number;
  readonly batch?: number;
  /** flood's stderr (progress) goes here; default: discarded */
  readonly logPath?: string;
  readonly extraArgs?: readonly string[];
  /** argv prefix the flood runs under, e.g. ['ip', 'netns', 'exec', NS] to send from inside a network namespace */
  readonly wrap?: readonly string[];
}

export interface FloodRun {
  readonly child: ChildProcess;
  /** the parsed summary, or null if flood failed (exit code and stdout in `error`) */
  readonly done: Promise<{ summary: FloodSummary | null; code: number | null; error: string }>;
  stop(): void;
}

const CHILDREN = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of CHILDREN) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

export function startFlood(o: FloodOptions): FloodRun {
  const args = [BIN, 'flood', '--rpc', o.rpcUrls.join(','), '--rate', String(o.rate), '--duration', String(o.durationS), '--json'];
  if (o.senders !== undefined) args.push('--senders', String(o.senders));
  if (o.drainS !== undefined) args.push('--drain', String(o.drainS));
  if (o.seedBase !== undefined) args.push('--seed-base', String(o.seedBase));
  if (o.batch !== undefined) args.push('--batch', String(o.batch));
  if (o.extraArgs) args.push(...o.extraArgs);
  const errFd = o.logPath ? openSync(o.logPath, 'a') : 'ignore';
  let child: ChildProcess;
  try {
    const [cmd, ...pre] = [...(o.wrap ?? []), process.execPath];
    child = spawn(cmd!, [...pre, ...args], { stdio: ['ignore', 'pipe', errFd] });
  } finally {
    if (typeof errFd === 'number') closeSync(errFd);
  }
  CHILDREN.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const done = new Promise<{ summary: FloodSummary | null; code: number | null; error: string }>((resolve) => {
    child.once('close', (code, signal) => {
      CHILDREN.delete(child);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve({ summary: JSON.parse(line) as FloodSummary, code, error: '' });
      } catch {
        resolve({ summary: null, code, error: `flood exited code=${code} signal=${signal}: ${out.slice(-500)}` });
      }
    });
  });
  return {
    child,
    done,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
