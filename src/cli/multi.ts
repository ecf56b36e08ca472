// `numchain multi`: run N validators of a localnet as child processes until Ctrl-C (the seed's
// `make multi`). With `flood` and `poll` pointed at the printed RPC URLs it replaces
// `make flood-multi` and `make poll`.
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCommandFlags, UsageError } from './args.ts';
import { Localnet } from './cluster/localnet.ts';
import type { Command } from './main.ts';

const FLAGS = {
  nodes: { type: 'number', help: 'validators when generating a genesis', default: 4 },
  genesis: { type: 'string', help: 'use this genesis (key-<i>.json beside it) instead of DATA_DIR/genesis.json' },
  'data-dir': { type: 'string', help: 'node data and logs (and the generated genesis)', default: 'data/localnet' },
  fresh: { type: 'boolean', help: 'delete the data dir first (new chain)' },
  only: { type: 'string', help: 'start only these validator indices, e.g. 0,1,2 (run the others yourself)' },
  'base-port': { type: 'number', help: 'gossip port of validator 0 when generating; RPC from base + 10', default: 26650 },
  'block-interval': { type: 'number', help: 'ms a leader waits before proposing (new genesis only)', default: 50 },
  'timeout-base': { type: 'number', help: 'base round timeout, ms (new genesis only)', default: 1000 },
  'key-seed': { type: 'number', help: 'deterministic validator keys (new genesis only)', default: 1 },
  poc: { type: 'boolean', help: 'proof of capacity and processing with the default parameters (new genesis only; docs/poc-pop.md): each validator builds a 4 MiB replica at first start' },
  'log-level': { type: 'string', help: 'debug, info, warn or error', default: 'info' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const USAGE = 'numchain multi [--nodes 4] [--genesis FILE | --data-dir DIR [--fresh]] [--only 0,1,2]';
const SUMMARY = `Start validators of a localnet as child processes on this machine and keep them running until Ctrl-C
(then SIGTERM, SIGKILL after 5 s). Reuses DATA_DIR/genesis.json when it exists, so a second \`multi\` resumes
the chain; otherwise writes a new genesis there. Prints each validator's RPC URL and log file, and the
\`numchain flood\` / \`numchain poll\` commands to load and watch the network.`;

export const command: Command = {
  summary: 'start N validators of a localnet and keep them running until Ctrl-C',
  async run(argv) {
    const f = parseCommandFlags(argv, FLAGS, USAGE, SUMMARY);
    if (f === null) return 0;
    if (!['debug', 'info', 'warn', 'error'].includes(f['log-level'])) throw new UsageError('--log-level must be debug, info, warn or error');
    const dataDir = resolve(f['data-dir']);
    if (f.fresh) {
      if (f.genesis !== undefined && resolve(f.genesis).startsWith(dataDir + '/')) throw new UsageError('--fresh would delete the --genesis file itself');
      rmSync(dataDir, { recursive: true, force: true });
    }
    const existing = join(dataDir, 'genesis.json');
    const genesisPath = f.genesis ?? (existsSync(existing) ? existing : undefined);
    const net = await Localnet.create({
      nodes: f.nodes,
      dataDir,
      keep: true,
      genesisPath,
      basePort: f['base-port'],
      blockIntervalMs: f['block-interval'],
      timeoutBaseMs: f['timeout-base'],
      keySeed: f['key-seed'],
      ...(f.poc ? { poc: {} } : {}),
      logLevel: f['log-level'] as 'info',
    });
    let which = [...Array(net.size).keys()];
    if (f.only !== undefined) {
      which = f.only.split(',').map((s) => Number(s.trim()));
      for (const i of which) if (!Number.isInteger(i) || i < 0 || i >= net.size) throw new UsageError(`--only: ${i} is not a validator index (0–${net.size - 1})`);
    }
    console.log(genesisPath ? `using genesis ${net.genesisPath}` : `wrote a new genesis ${net.genesisPath}`);
    for (const i of which) net.start(i);
    console.log(net.describe());
    const urls = which.map((i) => net.rpcUrls[i]).join(',');
    console.log(`\nload:  node bin/numchain.js flood --rpc ${urls} --senders 64 --rate 1000 --duration 30`);
    console.log(`watch: node bin/numchain.js poll --rpc ${net.rpcUrls.join(',')}`);
    console.log(`dashboard: ${which.map((i) => `${net.rpcUrls[i]}/`).join('  ')}`);
    console.log(`logs:  tail -f ${join(net.dir, 'node-*.log')}\n`);

    let resolveStop: (code: number) => void = () => {};
    const stopped = new Promise<number>((r) => (resolveStop = r));
    const onSignal = (): void => resolveStop(0);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    net.onUnexpectedExit = (e) => {
      console.error(`validator ${e.index} (pid ${e.pid}) exited: code=${e.code} signal=${e.signal}; see ${net.logPath(e.index)}`);
      if (which.every((i) => !net.isRunning(i))) resolveStop(1);
    };
    const ready = net.waitFor({ which, minHeight: which.length === net.size ? 1 : 0, timeoutMs: 120_000 });
    ready.then(
      (hs) => console.log(`running: ${hs.map((h) => `n${h.nodeIndex} h=${h.height}`).join(' ')} — Ctrl-C stops all`),
      (e: Error) => console.error(`not ready: ${e.message}`),
    );
    const code = await stopped;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    console.log('stopping validators...');
    await net.close();
    console.log(`stopped; data and logs kept in ${net.dir}`);
    return code;
  },
};
