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
  genesis: { summary: 'write a genesis document and validator key files', load: async () => (await import('./genesis.ts')).command },
  run: { summary: 'run one validator (recover, join gossip, serve the HTTP API)', load: async () => (await import('./run.ts')).command },
  ma: { summary: 'Memory Arithmetic engine tools: `ma apply FILE [--each]`', load: async () => (await import('./ma.ts')).command },
  tx: { summary: 'sign one op, submit it to a node, wait for and print its receipt', load: async () => (await import('./tx.ts')).command },
  flood: { summary: 'bounded load generator: signed txs at a target rate, commit TPS and latency', load: async () => (await import('./flood.ts')).command },
  demo: { summary: 'start a 4-validator localnet, flood it, show live heights/TPS/roots, check the roots agree', load: async () => (await import('./demo.ts')).command },
  multi: { summary: 'start N validators of a localnet and keep them running until Ctrl-C', load: async () => (await import('./multi.ts')).command },
  poll: { summary: 'watch height, state root, peers and syncing of one or more nodes', load: async () => (await import('./poll.ts')).command },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    'usage: numchain <command> [options]   (numchain <command> --help for details)',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}${c.summary}`),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    console.log('numchain 0.1.0');
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
