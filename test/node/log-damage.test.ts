// A damaged block log on restart: a torn last line (what a crash mid-append leaves) is cut and
// logged and the node starts; a corrupted line in the middle makes the node refuse to start with a
// message naming the byte offset.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalnet, killAllNodes, logFields, NodeProcess, runCli, withNodeLogs, type Localnet } from '../helpers/node-process.ts';

let net: Localnet;
let node: NodeProcess;

test.before(async () => {
  net = await createLocalnet({ nodes: 1 });
  node = new NodeProcess({ genesisPath: net.genesisPath, index: 0, dataDir: net.dataDir(0), snapshotEvery: 0 });
});

test.after(async () => {
  await killAllNodes();
  await net?.cleanup();
});

const logPath = (): string => join(net.dataDir(0), 'blocks.log');

/** Byte offset at which each line starts, and the lines (LF excluded). */
function lines(buf: Buffer): { starts: number[]; texts: Buffer[] } {
  const starts: number[] = [];
  const texts: Buffer[] = [];
  let s = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x0a) {
      starts.push(s);
      texts.push(buf.subarray(s, i));
      s = i + 1;
    }
  }
  return { starts, texts };
}

test('a torn last line is cut, logged, and the node starts at the last whole block', () =>
  withNodeLogs([node], async () => {
    await node.start();
    await node.waitForHeight(8);
    const served = (await node.client.block('latest'))!;
    await node.kill9();

    const before = await readFile(logPath());
    const { texts } = lines(before);
    assert.ok(texts.length >= served.height, 'every served block is in the log');
    const lastRoot = (JSON.parse(texts.at(-1)!.subarray(9).toString()) as { root?: string }).root;
    // Half of a copy of the last line, no LF: what an interrupted append leaves behind.
    const half = texts.at(-1)!.subarray(0, texts.at(-1)!.length >> 1);
    await appendFile(logPath(), half);

    const h = await node.start();
    const torn = logFields(node.log, 'cut a torn tail off the block log');
    assert.ok(torn, `the node logs the cut:\n${node.tail()}`);
    assert.is(Number(torn!.offset), before.length, 'cut at the end of the last whole line');
    assert.is(Number(torn!.bytesCut), half.length);
    assert.ok(h.height >= texts.length, `started at height ${h.height} ≥ ${texts.length} whole blocks`);
    const recovered = logFields(node.log, 'recovered')!;
    assert.is(Number(recovered.height), texts.length, 'recovered exactly the whole lines');
    if (lastRoot) assert.is(recovered.root, lastRoot, 'state root of the last whole block');
    // The file on disk now starts with exactly the old whole lines.
    const after = await readFile(logPath());
    assert.ok(after.subarray(0, before.length).equals(before));
    await node.kill9();
  }));

test('a corrupted middle line: the node refuses to start, naming the byte offset', () =>
  withNodeLogs([node], async () => {
    const buf = await readFile(logPath());
    const { starts, texts } = lines(buf);
    assert.ok(texts.length >= 6);
    const k = Math.floor(texts.length / 2); // 0-based line index, height k + 1
    // Flip one byte inside the JSON of line k (its checksum no longer matches).
    const at = starts[k]! + 9 + 20;
    const damaged = Buffer.from(buf);
    damaged[at] = damaged[at] === 0x30 ? 0x31 : 0x30;
    await writeFile(logPath(), damaged);

    const r = await runCli(node.runArgs(), { timeoutMs: 30_000 });
    assert.is.not(r.code, 0, `must exit non-zero:\n${r.output}`);
    assert.is(r.signal, null);
    assert.match(r.output, new RegExp(`offset ${starts[k]}\\b`), `names byte offset ${starts[k]}:\n${r.output}`);
    assert.not.match(r.output, /rpc listening/, 'never served');
    // Nothing was cut or rewritten: the operator still has the evidence.
    assert.ok((await readFile(logPath())).equals(damaged));
  }));

test.run();
