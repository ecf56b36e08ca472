// Child processes for the determinism check: every engine runs in its own process group so that a
// timeout or an early result can kill the whole tree (browsers fork helpers), never anything else.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** The first of `names` that is an executable file (absolute, or found on PATH), else null. */
export function findExecutable(...names: string[]): string | null {
  for (const name of names) {
    const candidates = isAbsolute(name) ? [name] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name));
    for (const c of candidates) {
      try {
        accessSync(c, constants.X_OK);
        return c;
      } catch {
        // not here
      }
    }
  }
  return null;
}

export interface Spawned {
  readonly child: ChildProcess;
  /** resolves when the process has exited (after kill() too) */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** the last ~16 KB of stdout and stderr */
  output(): { stdout: string; stderr: string };
  /** SIGKILL the whole process group (idempotent) and wait for the leader to exit */
  kill(): Promise<void>;
}

const TAIL = 16 * 1024;

export function spawnGroup(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Spawned {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.length > 4 * TAIL) stdout = stdout.slice(-TAIL);
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 4 * TAIL) stderr = stderr.slice(-TAIL);
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (e) => {
      done = true;
      stderr += `\n${e.message}`;
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  const killGroup = (): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is already gone
    }
  };
  return {
    child,
    exited,
    output: () => ({ stdout: stdout.slice(-TAIL), stderr: stderr.slice(-TAIL) }),
    async kill() {
      // Kill the group even if the leader already exited: helpers (browser renderers) may linger.
      killGroup();
      if (!done) await exited;
      // Wait (bounded) until no member of the group is left, so callers can delete its files.
      for (let i = 0; i < 40 && child.pid !== undefined && groupAlive(child.pid); i++) {
        killGroup();
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Run to completion, killing the process group after `timeoutMs`. */
export async function runGroup(cmd: string, args: string[], timeoutMs: number, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Finished> {
  const p = spawnGroup(cmd, args, opts);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void p.kill();
  }, timeoutMs);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  await p.kill();
  return { code, signal, ...p.output(), timedOut };
}

/** The last non-empty lines of a process's output, for an error message. */
export function lastLines(text: string, n = 3): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-n).join(' | ');
}
