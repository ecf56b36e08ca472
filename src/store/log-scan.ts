/*
 * The block log's open-time scan and repair: read the whole file once, verify every line (see
 * log-line.ts), build the height index, and cut a torn tail.
 *
 * Crash model: a crash can leave a torn tail (a partial line, a line without LF, garbage or
 * zeros after the last good line). Bad lines with no good line after them are cut with
 * ftruncate+fsync and reported. A bad line followed by a good line cannot come from an
 * interrupted append, so the scan refuses with `log_corrupt` naming the byte offset and line.
 */
import type { FileHandle } from 'node:fs/promises';
import { StoreError } from './errors.ts';
import { readFully } from './fs-util.ts';
import { checkLine, LF, type LineCheck } from './log-line.ts';
import type { StoreLogger } from './logger.ts';

export interface TornTailReport {
  /** Byte offset where the file was cut (start of the first bad line). */
  readonly offset: number;
  /** 1-based line number of the first bad line. */
  readonly line: number;
  readonly bytesCut: number;
  readonly linesCut: number; // including a final line without LF
  readonly reason: string;
}

export interface LogIndex {
  /** offsets[i] = byte offset of height i+1 (the array may be longer than count) */
  readonly offsets: Float64Array;
  readonly count: number;
  /** end of the last good line */
  readonly size: number;
}

/** Scan the log open in `fh` and cut a torn tail (reported through `logger` and returned). */
export async function scanAndRepair(fh: FileHandle, path: string, maxLineBytes: number, chunkBytes: number, logger: StoreLogger): Promise<{ index: LogIndex; tornTail: TornTailReport | null }> {
  const scan = await scanLog(fh, path, maxLineBytes, chunkBytes);
  let tornTail: TornTailReport | null = null;
  if (scan.bad !== null) {
    tornTail = {
      offset: scan.bad.offset,
      line: scan.bad.line,
      bytesCut: scan.fileSize - scan.bad.offset,
      linesCut: scan.badLines,
      reason: scan.bad.reason,
    };
    await fh.truncate(scan.bad.offset);
    await fh.sync();
    logger.warn('block log: cut torn tail left by a crash', { path, ...tornTail });
  }
  return { index: { offsets: scan.offsets, count: scan.count, size: scan.size }, tornTail };
}


interface ScanResult {
  offsets: Float64Array;
  count: number;
  size: number; // end of the last good line
  fileSize: number;
  bad: { offset: number; line: number; reason: string } | null;
  badLines: number;
}

/** Read the whole file once: verify every line, build the height index, find a torn tail. */
async function scanLog(fh: FileHandle, path: string, maxLineBytes: number, chunkBytes: number): Promise<ScanResult> {
  const fileSize = (await fh.stat()).size;
  let offsets = new Float64Array(1024);
  let count = 0;
  let goodEnd = 0;
  let bad: ScanResult['bad'] = null;
  let badLines = 0;
  let lineNo = 0;

  const onLine = (offset: number, line: Uint8Array | null, reasonIfBad?: string): void => {
    lineNo++;
    const check: LineCheck = line === null ? { ok: false, reason: reasonIfBad ?? 'bad line' } : checkLine(line);
    if (!check.ok) {
      if (bad === null) bad = { offset, line: lineNo, reason: check.reason };
      badLines++;
      return;
    }
    if (bad !== null) {
      const b = bad as { offset: number; line: number; reason: string };
      throw new StoreError(
        'log_corrupt',
        `block log ${path} is corrupt at byte offset ${b.offset} (line ${b.line}): ${b.reason}, and valid records follow it at line ${lineNo}; ` +
          `this is not a torn write. Restore from a peer or, accepting the loss, truncate the file to ${b.offset} bytes`,
        { path, offset: b.offset, line: b.line },
      );
    }
    const want = count + 1;
    if (check.height !== want) {
      const code = check.height < want ? 'height_repeat' : 'height_gap';
      throw new StoreError(code, `block log ${path}: line ${lineNo} at byte offset ${offset} holds height ${check.height}, expected ${want}`, {
        path,
        offset,
        line: lineNo,
      });
    }
    if (count === offsets.length) {
      const grown = new Float64Array(offsets.length * 2);
      grown.set(offsets);
      offsets = grown;
    }
    offsets[count++] = offset;
    goodEnd = offset + line!.length + 1;
  };

  let buf = Buffer.allocUnsafe(Math.max(64, Math.min(chunkBytes, maxLineBytes, fileSize || 64)));
  let bufStart = 0; // file offset of buf[0]
  let bufLen = 0;
  let filePos = 0;
  let skipping = false; // inside an over-long line, looking for its end
  let skipStart = 0;

  while (true) {
    const n = filePos < fileSize ? await readFully(fh, buf, bufLen, buf.length - bufLen, filePos) : 0;
    filePos += n;
    bufLen += n;
    const eof = n === 0 || filePos >= fileSize;
    let p = 0;
    while (p < bufLen) {
      const nl = buf.indexOf(LF, p);
      if (nl === -1 || nl >= bufLen) break;
      if (skipping) {
        onLine(skipStart, null, `line longer than maxLineBytes (${maxLineBytes})`);
        skipping = false;
      } else {
        onLine(bufStart + p, buf.subarray(p, nl));
      }
      p = nl + 1;
    }
    if (eof) {
      if (skipping) onLine(skipStart, null, `line longer than maxLineBytes (${maxLineBytes}) at end of file`);
      else if (p < bufLen) onLine(bufStart + p, null, 'last line has no line end (interrupted write)');
      break;
    }
    if (skipping) {
      bufStart += bufLen;
      bufLen = 0;
      continue;
    }
    if (p === 0 && bufLen === buf.length) {
      // A line fills the whole buffer: grow up to the line limit, then give up on it.
      if (buf.length >= maxLineBytes) {
        skipping = true;
        skipStart = bufStart;
        bufStart += bufLen;
        bufLen = 0;
      } else {
        const grown = Buffer.allocUnsafe(Math.min(maxLineBytes, buf.length * 2));
        buf.copy(grown, 0, 0, bufLen);
        buf = grown;
      }
      continue;
    }
    buf.copy(buf, 0, p, bufLen);
    bufStart += p;
    bufLen -= p;
  }
  return { offsets, count, size: bad === null ? goodEnd : (bad as { offset: number }).offset, fileSize, bad, badLines };
}
