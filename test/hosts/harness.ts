// Shared pieces of the namespaced-hosts tests: the validators of compose.yaml, each in its own network
// namespace at its compose address, started from the homes `numchain testnet` wrote (the command the
// compose file's header gives); a skip when namespaces cannot be made here; and the check that a
// closed network left nothing behind.
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostsNet } from '../../src/cli/hosts/hostnet.ts';
import { leftovers, netnsUnavailable } from '../../src/cli/hosts/netns.ts';
import { runCli } from '../helpers/node-process.ts';
import { evidence, say } from '../cluster/harness.ts';
import { freeAddresses, hostsFromCompose, readCompose, type ComposeTopology } from './compose.ts';

let unavailable: string | null | undefined;

/** Why these tests cannot run here (printed, and the test passes empty), or null. In CI (CI set) it fails instead. */
export function skipReason(tag: string): string | null {
  if (unavailable === undefined) unavailable = netnsUnavailable();
  if (unavailable === null) return null;
  if (process.env.CI) assert.unreachable(`${tag}: namespaced hosts cannot run in CI: ${unavailable}`);
  say(tag, `SKIPPED: ${unavailable} (CI runs these tests as root with iproute2 and nftables)`);
  return unavailable;
}

export interface HostsRun {
  readonly net: HostsNet;
  readonly topo: ComposeTopology;
  readonly dir: string;
  /** close the network, remove the homes, and check that no namespace or rule of it is left */
  close(): Promise<void>;
}

/**
 * compose.yaml's validators on namespaced hosts, started and past height 2. `relay` puts the WAN
 * relay on every validator-to-validator link.
 */
export async function startHosts(opts: { relay?: { delayMs: number; lossRate?: number }; testnetArgs?: readonly string[] } = {}): Promise<HostsRun> {
  const topo = readCompose();
  const dir = mkdtempSync(join(tmpdir(), 'numchain-hosts-test-'));
  // The homes, as the compose file's header says to make them (projectDir = dir: ./testnet/node-<i>).
  const made = await runCli(['testnet', '--hosts', topo.services.map((s) => s.address).join(','), '--rpc-listen-host', '0.0.0.0', '--out', join(dir, 'testnet'), ...(opts.testnetArgs ?? [])]);
  assert.is(made.code, 0, made.output);
  const [client, relay] = freeAddresses(topo, 2);
  let net: HostsNet;
  try {
    net = await HostsNet.create({ hosts: hostsFromCompose(topo, dir), prefixLen: topo.prefixLen, clientAddress: client!, relayAddress: relay!, relay: opts.relay, dir: join(dir, 'run'), keep: true });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const tag = net.fabric.tag;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await net.close();
    if (!process.env.NUMCHAIN_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
    const left = leftovers(tag);
    assert.equal(left.namespaces, [], `namespaces of run ${tag} left behind`);
    assert.equal(left.rootNftTables, [], 'nft tables of ours in the root namespace');
  };
  try {
    net.startAll();
    await net.waitFor({ minHeight: 2, timeoutMs: 90_000 });
  } catch (e) {
    console.log(await evidence(net));
    await close().catch(() => undefined);
    throw e;
  }
  return { net, topo, dir, close };
}
