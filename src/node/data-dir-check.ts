// Before a validator opens anything: its data directory must be a writable directory, or a path
// whose nearest existing ancestor is one (a first start creates it). Checked with access(2), which
// writes nothing, so a refused start leaves no partial state behind; access(2) reports EROFS on a
// read-only mount even for root.
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export const EXIT_DATA_DIR_UNUSABLE = 73; // EX_CANTCREAT (sysexits.h)

/** null when usable, else why not. */
export function dataDirProblem(dataDir: string): string | null {
  let p = resolve(dataDir);
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return `${p}: ${code ?? String(e)}`;
      const up = dirname(p);
      if (up === p) return `no existing ancestor of ${dataDir}`;
      p = up;
      continue;
    }
    if (!st.isDirectory()) return `${p} exists and is not a directory`;
    try {
      accessSync(p, constants.W_OK | constants.X_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      return `${p} is not writable (${code}${code === 'EROFS' ? ': read-only file system' : ''})`;
    }
    return null;
  }
}
