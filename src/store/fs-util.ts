import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** fsync a directory so that a create/rename/unlink inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** pwrite until every byte is written (a single write may be short). */
export async function writeFully(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write made no progress at byte ${position + done}`);
    done += bytesWritten;
  }
}

/** pread until `length` bytes are read or EOF; returns the number of bytes read. */
export async function readFully(fh: FileHandle, into: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(into, offset + done, length - done, position + done);
    if (bytesRead === 0) break; // EOF
    done += bytesRead;
  }
  return done;
}

/**
 * Replace `path` with `chunks` so that a crash leaves either the old or the new content, never a mix:
 * write a temp file, fsync it, rename over the target, fsync the directory.
 * Callers must not run two of these for the same path at once (they share the temp name).
 */
export async function atomicWriteFile(path: string, chunks: readonly Uint8Array[]): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    try {
      let pos = 0;
      for (const c of chunks) {
        await writeFully(fh, c, pos);
        pos += c.length;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    // Do not leave a partial temporary file holding space (a full disk must get it back).
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** pwrite until every byte is written, synchronously. */
export function writeFullySync(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) {
    const n = writeSync(fd, data, done, data.length - done, position + done);
    if (n <= 0) throw new Error(`write made no progress at byte ${position + done}`);
    done += n;
  }
}

/**
 * atomicWriteFile, synchronously. For small files on the consensus path (the safety state's first
 * save): the async version costs one event-loop turn per step (open, write, fsync, close, rename,
 * open dir, fsync, close), and under RPC load each turn waits behind every ready request handler.
 */
export function atomicWriteFileSync(path: string, data: Uint8Array): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    try {
      writeFullySync(fd, data, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone already */
    }
    throw e;
  }
  renameSync(tmp, path);
  fsyncDirSync(dirname(path));
}

/** fsyncDir, synchronously. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
