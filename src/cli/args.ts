// A small, strict argument parser: unknown flags are errors, every flag is declared with its type.
export type FlagType = 'string' | 'number' | 'boolean';
export interface FlagSpec {
  readonly type: FlagType;
  readonly help: string;
  readonly default?: string | number | boolean;
}
export type FlagSpecs = Record<string, FlagSpec>;
export type Flags<S extends FlagSpecs> = { [K in keyof S]: S[K]['type'] extends 'number' ? number : S[K]['type'] extends 'boolean' ? boolean : string } & { _: string[] };

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseFlags<S extends FlagSpecs>(argv: readonly string[], specs: S): Flags<S> {
  return withDefaults(parseGivenFlags(argv, specs), specs);
}

/** The flags as given on the command line, without defaults (for commands that merge a config file). */
export function parseGivenFlags<S extends FlagSpecs>(argv: readonly string[], specs: S): Partial<Flags<S>> & { _: string[] } {
  const out: Record<string, unknown> = { _: [] as string[] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' && specs.help?.type === 'boolean') {
      out.help = true;
      continue;
    }
    if (!a.startsWith('--')) {
      (out._ as string[]).push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    const raw = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (raw === undefined) throw new UsageError(`--${name} needs a value`);
    if (spec.type === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
      out[name] = n;
    } else out[name] = raw;
  }
  return out as Partial<Flags<S>> & { _: string[] };
}

/** `given` with the specs' defaults filled in where a flag is absent. */
export function withDefaults<S extends FlagSpecs>(given: Partial<Flags<S>> & { _: string[] }, specs: S): Flags<S> {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(specs)) if (s.default !== undefined) out[k] = s.default;
  return Object.assign(out, given) as Flags<S>;
}

export function formatHelp(usage: string, summary: string, specs: FlagSpecs): string {
  const lines = [`usage: ${usage}`, '', summary];
  const names = Object.keys(specs);
  if (names.length) {
    lines.push('', 'options:');
    const width = Math.max(...names.map((n) => n.length + (specs[n].type === 'boolean' ? 0 : 4))) + 4;
    for (const n of names) {
      const s = specs[n];
      const left = n === 'help' && s.type === 'boolean' ? '  -h, --help' : `  --${n}${s.type === 'boolean' ? '' : ' <' + (s.type === 'number' ? 'n' : 'v') + '>'}`;
      const def = s.default !== undefined && s.default !== false ? ` (default ${s.default})` : '';
      lines.push(left.padEnd(width + 2) + s.help + def);
    }
  }
  return lines.join('\n');
}

/**
 * The common start of a command: parse its flags, print its help for --help or -h (returns null: exit 0),
 * and refuse positional arguments it does not take.
 */
export function parseCommandFlags<S extends FlagSpecs>(argv: readonly string[], specs: S, usage: string, summary: string): Flags<S> | null {
  const f = parseFlags(argv, specs);
  if ((f as Record<string, unknown>).help === true) {
    console.log(formatHelp(usage, summary, specs));
    return null;
  }
  if (f._.length) throw new UsageError(`unexpected argument "${f._[0]}"`);
  return f;
}
