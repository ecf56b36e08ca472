// Four validators from `numchain testnet` homes on 127.0.0.1, three started with nothing but
// `numchain run --home DIR`, the fourth with the seed's flags (bare ports, a plain peer list): they
// find each other through genesis and commit blocks with the same state root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePortBlock } from '../../src/cli/cluster/ports.ts';
import { killAllNodes, NodeProcess, runCli, withNodeLogs } from '../helpers/node-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'numchain-testnet-'));
test.after(async () => {
  await killAllNodes();
  rmSync(dir, { recursive: true, force: true });
});

/** `numchain run` with exactly the given arguments. */
class CliNode extends NodeProcess {
  constructor(
    index: number,
    private readonly args: readonly string[],
  ) {
    super({ genesisPath: '', index, dataDir: '', label: `node-${index}` });
  }
  override runArgs(): string[] {
    return ['run', ...this.args];
  }
}

test('testnet homes: run --home needs nothing else; the seed flags join the same network; all commit', async () => {
  const base = await findFreePortBlock(8);
  const hosts = [0, 1, 2, 3].map((i) => `127.0.0.1:${base + 2 * i}`); // gossip port; the HTTP API takes port + 1
  const out = join(dir, 'net');
  const made = await runCli(['testnet', '--hosts', hosts.join(','), '--out', out, '--block-interval', '20']);
  assert.is(made.code, 0, made.output);
  const home = (i: number) => join(out, `node-${i}`);
  const nodes = [0, 1, 2].map((i) => new CliNode(i, ['--home', home(i)]));
  nodes.push(
    new CliNode(3, [
      '--genesis', join(home(3), 'genesis.json'), '--node-index', '3', '--key', join(home(3), 'key.json'), '--data-dir', join(home(3), 'data'),
      '--rpc', String(base + 7), '--gossip', String(base + 6), '--peers', hosts.slice(0, 3).join(','),
    ]),
  );
  await withNodeLogs(nodes, async () => {
    for (const n of nodes) n.spawn();
    await Promise.all(nodes.map((n) => n.waitReady(40_000)));
    nodes.forEach((n, i) => assert.is(n.url, `http://127.0.0.1:${base + 2 * i + 1}`));
    const hs = await Promise.all(nodes.map((n) => n.waitForHeight(3, 30_000)));
    assert.equal(hs.map((h) => h.nodeIndex), [0, 1, 2, 3]);
    const h = Math.min(...hs.map((x) => x.height));
    const roots = await Promise.all(nodes.map(async (n) => (await n.client.block(h))?.stateRoot));
    assert.is(new Set(roots).size, 1, `state roots at height ${h}: ${roots.join(' ')}`);
    assert.match(nodes[3]!.log, /gossip listening address=0\.0\.0\.0:/);
  });
  await Promise.all(nodes.map((n) => n.stop()));
});

test.run();
