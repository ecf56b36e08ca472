// wabt's interpreter. wasm-interp itself cannot pass arguments to exports, so the run is a generated
// spec-test script (wast2json → spectest-interp, the same interpreter): it instantiates the real
// build/ma.wasm, registers it as "ma", instantiates build/selftest.wasm as the op generator ("gen"),
// and a small glue module (below) pulls ops from the generator and applies them to ma's exports.
// So the interpreter runs the very bytes every other engine runs, fed the same stream.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointsFor } from '../../engine/opstream.ts';
import { findExecutable, lastLines, runGroup } from './proc.ts';
import { failed, type EngineResult, type RunSpec } from './types.ts';

// Applies n generated ops to ma; returns 0, or the first engine error code (the glue stops there).
const GLUE = `(module $glue
  (import "ma" "memory" (memory 0))
  (import "ma" "ioPtr" (func $ioPtr (result i32)))
  (import "ma" "opAdd" (func $opAdd (param i32 i32 i32) (result i32)))
  (import "ma" "opDecay" (func $opDecay (param i32 i32 i32 i32 i32) (result i32)))
  (import "ma" "opMix" (func $opMix (param i32 i32 i32 i32 i32) (result i32)))
  (import "ma" "opClip" (func $opClip (param i32 i32 i32 i32) (result i32)))
  (import "gen" "genNext" (func $next (result i32)))
  (import "gen" "genShard" (func $shard (result i32)))
  (import "gen" "genLayer" (func $layer (result i32)))
  (import "gen" "genSlot" (func $slot (result i32)))
  (import "gen" "genSrc" (func $src (result i32)))
  (import "gen" "genArg" (func $arg (result i32)))
  (import "gen" "genVec" (func $vec (param i32) (result i32)))
  (func (export "steps") (param $n i32) (param $dim i32) (result i32)
    (local $kind i32) (local $i i32) (local $io i32) (local $rc i32)
    (local.set $io (call $ioPtr))
    (block $done
      (loop $each
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $kind (call $next))
        (if (i32.eqz (local.get $kind))
          (then
            (local.set $i (i32.const 0))
            (block $filled
              (loop $fill
                (br_if $filled (i32.ge_u (local.get $i) (local.get $dim)))
                (i32.store (i32.add (local.get $io) (i32.shl (local.get $i) (i32.const 2))) (call $vec (local.get $i)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $fill)))
            (local.set $rc (call $opAdd (call $shard) (call $layer) (call $slot))))
          (else (if (i32.eq (local.get $kind) (i32.const 1))
            (then (local.set $rc (call $opDecay (call $shard) (call $layer) (call $slot) (i32.const 0) (i32.const 0))))
          (else (if (i32.eq (local.get $kind) (i32.const 2))
            (then (local.set $rc (call $opDecay (call $shard) (call $layer) (call $slot) (i32.const 1) (call $arg))))
          (else (if (i32.eq (local.get $kind) (i32.const 3))
            (then (local.set $rc (call $opMix (call $shard) (call $layer) (call $slot) (call $src) (call $arg))))
            (else (local.set $rc (call $opClip (call $shard) (call $layer) (call $slot) (call $arg)))))))))))
        (br_if $done (local.get $rc))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $each)))
    (local.get $rc))
  (func (export "ioWord") (param $w i32) (result i32)
    (i32.load (i32.add (call $ioPtr) (i32.shl (local.get $w) (i32.const 2))))))`;

function wasmString(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += '\\' + b.toString(16).padStart(2, '0');
  return `"${s}"`;
}

/** An exact wast literal for a double: hexadecimal float built from its bits. */
export function f64Literal(x: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const bits = dv.getBigUint64(0);
  const sign = bits >> 63n ? '-' : '';
  const exp = Number((bits >> 52n) & 0x7ffn);
  const mant = (bits & ((1n << 52n) - 1n)).toString(16).padStart(13, '0');
  if (exp === 0x7ff) throw new RangeError('not a finite number');
  return exp === 0 ? `${sign}0x0.${mant}p-1022` : `${sign}0x1.${mant}p${exp - 1023}`;
}

function i32(v: number): string {
  return `(i32.const ${v | 0})`;
}

export function interpScript(spec: RunSpec, ma: Uint8Array, selftest: Uint8Array): string {
  const p = spec.params;
  const shape = [p.shards, p.layers, p.slots, p.dim, p.q].map(i32).join(' ') + ` (f64.const ${f64Literal(p.decay)}) (f64.const ${f64Literal(p.clip)})`;
  const lines = [
    `(module $ma binary ${wasmString(ma)})`,
    '(register "ma" $ma)',
    `(module $gen binary ${wasmString(selftest)})`,
    '(register "gen" $gen)',
    GLUE,
    `(assert_return (invoke $ma "init" ${shape}) (i32.const 0))`,
    `(assert_return (invoke $gen "genBegin" ${shape} ${i32(spec.seed)}) (i32.const 0))`,
  ];
  let done = 0;
  for (const stop of checkpointsFor(spec.ops)) {
    lines.push(`(invoke $glue "steps" ${i32(stop - done)} ${i32(p.dim)})`);
    lines.push(`(assert_return (invoke $ma "root") (i32.const 0))`);
    for (let w = 0; w < 8; w++) lines.push(`(invoke $glue "ioWord" ${i32(w)})`);
    done = stop;
  }
  return lines.join('\n') + '\n';
}

/** Parse spectest-interp's `steps(...) => i32:N` and `ioWord(i32:W) => i32:V` lines into roots. */
export function parseInterpOutput(out: string, checkpoints: number): { roots: string[] } | { error: string } {
  const roots: string[] = [];
  let words: string[] = [];
  for (const line of out.split('\n')) {
    const step = /^steps\(.*\) => i32:(\d+)$/.exec(line.trim());
    if (step && step[1] !== '0') return { error: `ma.wasm rejected a generated op (code -${2 ** 32 - Number(step[1])}): generator bug` };
    const m = /^ioWord\(i32:(\d+)\) => i32:(\d+)$/.exec(line.trim());
    if (!m) continue;
    const le = Number(m[2]) >>> 0;
    // ioWord reads little-endian; the root's bytes are in memory order.
    const bytes = [le & 255, (le >>> 8) & 255, (le >>> 16) & 255, le >>> 24];
    words.push(bytes.map((b) => b.toString(16).padStart(2, '0')).join(''));
    if (words.length === 8) {
      roots.push(words.join(''));
      words = [];
    }
  }
  if (roots.length !== checkpoints) return { error: `expected ${checkpoints} roots in spectest-interp output, got ${roots.length}` };
  return { roots };
}

export async function runInterp(spec: RunSpec, ma: Uint8Array, selftest: Uint8Array): Promise<EngineResult> {
  const t0 = performance.now();
  const wall = (): number => performance.now() - t0;
  const wast2json = findExecutable('wast2json');
  const interp = findExecutable('spectest-interp');
  if (!wast2json || !interp) {
    return failed('wasm-interp', spec.ops, wall(), `wabt not installed: ${!wast2json ? 'wast2json' : 'spectest-interp'} not found on PATH (Debian: apt-get install wabt)`);
  }
  if (WebAssembly.Module.imports(new WebAssembly.Module(selftest as BufferSource)).length > 0) {
    return failed('wasm-interp', spec.ops, wall(), 'build/selftest.wasm imports something; it must import nothing');
  }
  const version = `wabt ${(await runGroup(interp, ['--version'], 10_000)).stdout.trim()}`;
  const dir = mkdtempSync(join(tmpdir(), 'numchain-interp-'));
  try {
    writeFileSync(join(dir, 'run.wast'), interpScript(spec, ma, selftest));
    const conv = await runGroup(wast2json, ['run.wast', '-o', 'run.json'], 60_000, { cwd: dir });
    if (conv.code !== 0) {
      return failed('wasm-interp', spec.ops, wall(), `wast2json failed (exit ${conv.code}): ${lastLines(conv.stderr || conv.stdout)}`, version);
    }
    const left = Math.max(1000, spec.timeoutMs - wall());
    const t1 = performance.now();
    const run = await runGroup(interp, ['run.json'], left, { cwd: dir });
    const computeMs = performance.now() - t1;
    if (run.timedOut) {
      return failed('wasm-interp', spec.ops, wall(), `no result within ${Math.round(spec.timeoutMs / 1000)} s (killed); lower --interp-ops`, version);
    }
    if (run.code !== 0) {
      return failed('wasm-interp', spec.ops, wall(), `spectest-interp exit ${run.code ?? run.signal}: ${lastLines(run.stdout + '\n' + run.stderr)}`, version);
    }
    const parsed = parseInterpOutput(run.stdout, 4);
    if ('error' in parsed) return failed('wasm-interp', spec.ops, wall(), parsed.error, version);
    return { engine: 'wasm-interp', version, ok: true, ops: spec.ops, at: checkpointsFor(spec.ops), roots: parsed.roots, computeMs, wallMs: wall() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
