// Disk-fault injection for tests on real processes: NUMCHAIN_FS_FAULT=<errno>:<op>:<n> makes the
// n-th persist of `op` (safety, block, log, or any) fail with that errno (EIO, ENOSPC) before it
// reaches the disk, as a failing fsync or write would. Unset, it costs one counter per write.
// Also the exit code a node uses when a persist fails with an I/O error (EIO): it stops rather than
// vote, propose or acknowledge on state it could not write. ENOSPC pauses it instead (fs-storage.ts).

export const EXIT_PERSIST_FAILED = 74; // EX_IOERR (sysexits.h)

export type PersistOp = 'safety' | 'block' | 'log';

export interface FsFault {
  check(op: PersistOp): void;
}

export const NO_FAULT: FsFault = { check: () => undefined };

export function fsFaultFromEnv(spec: string | undefined = process.env.NUMCHAIN_FS_FAULT): FsFault {
  if (spec === undefined || spec === '') return NO_FAULT;
  const m = /^(EIO|ENOSPC):(safety|block|log|any):(\d+)$/.exec(spec);
  if (m === null) throw new Error(`NUMCHAIN_FS_FAULT must be <EIO|ENOSPC>:<safety|block|log|any>:<n>, got ${JSON.stringify(spec)}`);
  const code = m[1]!;
  const which = m[2]!;
  const nth = Number(m[3]);
  let seen = 0;
  return {
    check(op) {
      if (which !== 'any' && which !== op) return;
      if (++seen !== nth) return;
      const e = new Error(`${code}: injected ${op} write failure (NUMCHAIN_FS_FAULT)`) as NodeJS.ErrnoException;
      e.code = code;
      throw e;
    },
  };
}
