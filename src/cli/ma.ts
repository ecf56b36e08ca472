// `numchain ma apply FILE [--each]`: replay a vector file (line 1 {"ma": params}, then one op a line)
// and print the final state root, or one root per op. This is how users check a platform.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadEngine } from '../host/node-loader.ts';
import { MaError, type MaOp, type MaParams } from '../engine/types.ts';
import type { MaEngine } from '../engine/engine.ts';
import { formatHelp, parseFlags, UsageError } from './args.ts';
import type { Command } from './main.ts';

const FLAGS = {
  each: { type: 'boolean', help: 'print the root after every op, one a line' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const USAGE = 'numchain ma apply FILE [--each]';
const SUMMARY = `Apply the ops of a JSON-lines vector file to a fresh engine and print the state root
(64 lowercase hex characters). Line 1: {"ma": {shards, layers, slots, dim, q, decay, clip}};
every later line one op: {"op":"add"|"decay"|"mix"|"clip","shard","layer","slot", ...}.
A bad line stops with an error naming the line and exit code 1.`;

const MAX_LINE = 16 << 20;

class LineError extends Error {}

function parseOp(text: string, line: number): MaOp {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new LineError(`line ${line}: not JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new LineError(`line ${line}: an op must be a JSON object`);
  return v as MaOp;
}

async function apply(file: string, each: boolean): Promise<number> {
  const input = createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  let engine: MaEngine | null = null;
  let n = 0;
  let out: string[] = [];
  try {
    for await (const text of lines) {
      n++;
      if (text.length > MAX_LINE) throw new LineError(`line ${n}: longer than ${MAX_LINE} bytes`);
      if (text.trim() === '') continue;
      if (engine === null) {
        const head = parseOp(text, n) as unknown as { ma?: MaParams };
        if (!head.ma || typeof head.ma !== 'object') throw new LineError(`line ${n}: the first line must be {"ma": {...parameters}}`);
        try {
          engine = await loadEngine(head.ma);
        } catch (e) {
          if (e instanceof MaError) throw new LineError(`line ${n}: bad parameters: ${e.message}`);
          throw e;
        }
        continue;
      }
      try {
        engine.apply(parseOp(text, n));
      } catch (e) {
        if (e instanceof MaError) throw new LineError(`line ${n}: ${e.field}: ${e.message}`);
        throw e;
      }
      if (each) {
        out.push(engine.rootHex());
        if (out.length >= 4096) {
          process.stdout.write(out.join('\n') + '\n');
          out = [];
        }
      }
    }
  } catch (e) {
    if (out.length) process.stdout.write(out.join('\n') + '\n');
    if (e instanceof LineError) {
      console.error(`numchain ma apply: ${file}: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (engine === null) {
    console.error(`numchain ma apply: ${file}: empty file (line 1 must be {"ma": {...parameters}})`);
    return 1;
  }
  if (each) {
    if (out.length) process.stdout.write(out.join('\n') + '\n');
  } else process.stdout.write(engine.rootHex() + '\n');
  return 0;
}

export const command: Command = {
  summary: 'Memory Arithmetic engine tools',
  async run(argv) {
    const flags = parseFlags(argv, FLAGS);
    if (flags.help) {
      console.log(formatHelp(USAGE, SUMMARY, FLAGS));
      return 0;
    }
    const [sub, file, ...extra] = flags._;
    if (sub !== 'apply') throw new UsageError(sub === undefined ? 'missing subcommand (apply)' : `unknown subcommand "${sub}"`);
    if (file === undefined) throw new UsageError('missing FILE');
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
    return apply(file, flags.each);
  },
};
