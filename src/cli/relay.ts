// `numchain relay LISTEN=TARGET ...`: forward TCP (or Unix-socket) connections with a one-way delay
// and optional loss, for testing validators over a slow network where the kernel has no netem
// (src/cli/hosts/relay.ts). Point a validator's `peers` entry (or a DNAT rule) at the relay.
import { createInterface } from 'node:readline';
import { formatHelp, parseFlags, UsageError } from './args.ts';
import { DelayRelay, formatEndpoint, parseRoute, type RelayRoute } from './hosts/relay.ts';
import type { Command } from './main.ts';

const FLAGS = {
  delay: { type: 'number', help: 'one-way delay added to every chunk, ms', default: 0 },
  loss: { type: 'number', help: 'probability a chunk is lost and retransmitted (waits --rto more, holding up what follows)', default: 0 },
  rto: { type: 'number', help: 'retransmission delay of a lost chunk, ms', default: 200 },
  control: { type: 'boolean', help: 'read commands on stdin, one a line: "delay MS", "loss P", "stats", "reset"; answers are JSON lines' },
  help: { type: 'boolean', help: 'show this help' },
} as const;

const USAGE = 'numchain relay [--delay MS] [--loss P] LISTEN=TARGET [LISTEN=TARGET ...]   (endpoints: host:port or unix:/path)';
const SUMMARY = `Accept connections on each LISTEN address and forward them to its TARGET, holding every chunk of bytes
--delay ms in each direction (order kept). Example, 50 ms each way between two machines' validators:
  numchain relay --delay 50 10.0.0.9:36656=10.0.0.2:26656
and on validator 0: peers = ["1=10.0.0.9:36656"]. Prints one JSON line when listening, and its statistics
(connections, bytes, its own CPU, event-loop delay) on "stats" (with --control) and when it stops.`;

export const command: Command = {
  summary: 'forward TCP connections with a one-way delay and optional loss (WAN emulation without netem)',
  async run(argv) {
    const f = parseFlags(argv, FLAGS);
    if (f.help) {
      console.log(formatHelp(USAGE, SUMMARY, FLAGS));
      return 0;
    }
    if (f._.length === 0) throw new UsageError('give at least one route LISTEN=TARGET');
    let routes: RelayRoute[];
    try {
      routes = f._.map(parseRoute);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const check = (v: number, name: string, max: number): void => {
      if (!(v >= 0 && v <= max)) throw new UsageError(`--${name} must be in [0, ${max}]`);
    };
    check(f.delay, 'delay', 60_000);
    check(f.loss, 'loss', 1);
    check(f.rto, 'rto', 60_000);
    const relay = new DelayRelay(routes, { delayMs: f.delay, lossRate: f.loss, rtoMs: f.rto });
    await relay.start();
    const say = (o: unknown): void => void process.stdout.write(JSON.stringify(o) + '\n');
    say({ listening: routes.map((r) => `${formatEndpoint(r.listen)}=${formatEndpoint(r.target)}`), delayMs: f.delay, lossRate: f.loss });

    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        say({ stats: relay.stats() });
        void relay.close().then(() => resolve(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (f.control) {
        const rl = createInterface({ input: process.stdin });
        rl.on('line', (line) => {
          const [cmd, arg] = line.trim().split(/\s+/);
          const n = Number(arg);
          if (cmd === 'delay' && n >= 0 && n <= 60_000) relay.delayMs = n;
          else if (cmd === 'loss' && n >= 0 && n <= 1) relay.lossRate = n;
          else if (cmd === 'reset') relay.resetAll();
          else if (cmd !== 'stats') return say({ error: `unknown command: ${line}` });
          say({ stats: relay.stats() });
        });
        rl.once('close', stop); // the supervisor went away
      }
    });
  },
};
