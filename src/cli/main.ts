// numchain: command dispatch. Commands load lazily so `numchain --help` stays instant.
import { UsageError } from './args.ts';

export interface Command {
  readonly summary: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  determinism: {
    summary: 'run the same .wasm on a seeded op stream in Node, Bun, Deno, Chromium, Firefox and wabt; compare roots',
    load: async () => (await import('./determinism.ts')).command,
  },
  init: { summary: 'create this validator’s key, signed public record and config in a node home (--home DIR)', load: async () => (await import('./init.ts')).command },
  genesis: { summary: 'assemble genesis from signed validator records (--validators), or a one-machine localnet with keys', load: async () => (await import('./genesis.ts')).command },
  testnet: { summary: 'one ready node home per host: key, config, record and the shared genesis (--hosts a,b,c,d)', load: async () => (await import('./testnet.ts')).command },
  run: { summary: 'run one validator (recover, join gossip, serve the HTTP API)', load: async () => (await import('./run.ts')).command },
  ma: { summary: 'Memory Arithmetic engine tools: `ma apply FILE [--each]`', load: async () => (await import('./ma.ts')).command },
  tx: { summary: 'sign one op, submit it to a node, wait for and print its receipt', load: async () => (await import('./tx.ts')).command },
  flood: { summary: 'bounded load generator: signed txs at a target rate, commit TPS and latency', load: async () => (await import('./flood.ts')).command },
  demo: { summary: 'start a 4-validator localnet, flood it, show live heights/TPS/roots, check the roots agree', load: async () => (await import('./demo.ts')).command },
  multi: { summary: 'start N validators of a localnet and keep them running until Ctrl-C', load: async () => (await import('./multi.ts')).command },
  chaos: { summary: 'seeded faults (kill -9, pauses, restarts, 2 down) on a flooded localnet, then a Jepsen-style check', load: async () => (await import('./chaos.ts')).command },
  sim: { summary: 'deterministic simulator: many seeds, or replay one exactly', load: async () => (await import('./sim.ts')).command },
  relay: { summary: 'forward TCP connections with a one-way delay and optional loss (WAN emulation without netem)', load: async () => (await import('./relay.ts')).command },
  poc: { summary: 'proof-of-capacity replica on disk: `poc init` builds it, `poc prove` answers a challenge, `poc check` scrubs it', load: async () => (await import('./poc.ts')).command },
  poll: { summary: 'watch height, state root, peers and syncing of one or more nodes', load: async () => (await import('./poll.ts')).command },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    'usage: numchain <command> [options]   (numchain help <command>, or numchain <command> --help, for details)',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}${c.summary}`),
    `  ${'version'.padEnd(width)}print the numchain version and the SHA-256 of this engine build`,
    `  ${'help'.padEnd(width)}this list, or one command's flags: numchain help run`,
  ].join('\n');
}

async function version(): Promise<string> {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { PROJECT_ROOT, engineSha256Hex } = await import('../host/node-loader.ts');
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  let engine: string;
  try {
    engine = engineSha256Hex();
  } catch (e) {
    engine = `unavailable (${(e as Error).message})`;
  }
  return `numchain ${pkg.version}\nengine sha256 ${engine}\nnode ${process.version}`;
}

export async function main(argv: string[]): Promise<number> {
  let [name, ...rest] = argv;
  if (name === 'help' && rest.length > 0) {
    [name, rest] = [rest[0]!, ['--help']];
    if (name === 'version' || name === 'help') {
      console.log(help());
      return 0;
    }
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  if (name === 'version' || name === '--version') {
    console.log(await version());
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`numchain: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  try {
    return await (await entry.load()).run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`numchain ${name}: ${e.message} (see numchain ${name} --help)`);
      return 2;
    }
    console.error(`numchain ${name}: ${(e as Error).message}`);
    return 1;
  }
}
