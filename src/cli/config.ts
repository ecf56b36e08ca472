// A node's config file: TOML (smol-toml), or JSON for a file ending in .json. One flat table whose
// keys are the flags of the command it configures, spelled the same (`data-dir = "data"` is
// `--data-dir data`); flags on the command line override it. An unknown key, or a value of the
// wrong type, is an error naming the key and the file, so a typo never silently falls back to a
// default. Relative paths resolve against a base directory (the node's home), not the current one.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { FlagSpecs } from './args.ts';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly key: string | null,
    message: string,
  ) {
    super(`config ${file}: ${key === null ? '' : `key "${key}": `}${message}`);
  }
}

export interface ConfigShape {
  /** flags that cannot be set in the file (e.g. home, config, help) */
  readonly flagOnly: readonly string[];
  /** string keys that are file paths (resolved against the base directory) */
  readonly paths: readonly string[];
  /** string keys that also take an integer (a bare port) */
  readonly ports?: readonly string[];
  /** string keys that also take a list of strings (joined with ",") */
  readonly lists?: readonly string[];
}

/** Parse a config file's text into flag values (no defaults filled in). */
export function parseConfig(text: string, file: string, specs: FlagSpecs, shape: ConfigShape, baseDir: string): Record<string, string | number | boolean> {
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseToml(text);
  } catch (e) {
    throw new ConfigError(file, null, `is not valid ${file.endsWith('.json') ? 'JSON' : 'TOML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(file, null, 'must be a table of keys');
  const known = Object.keys(specs).filter((k) => !shape.flagOnly.includes(k));
  const out: Record<string, string | number | boolean> = {};
  for (const [key, v] of Object.entries(doc as Record<string, unknown>)) {
    const spec = Object.hasOwn(specs, key) ? specs[key] : undefined;
    if (!spec || shape.flagOnly.includes(key)) {
      const hint = shape.flagOnly.includes(key) ? 'is a command-line flag only' : `is not a known key (known: ${known.join(', ')})`;
      throw new ConfigError(file, key, hint);
    }
    const bad = (want: string): never => {
      throw new ConfigError(file, key, `must be ${want}, got ${JSON.stringify(v)}`);
    };
    if (spec.type === 'number') {
      if (typeof v !== 'number' || !Number.isFinite(v)) bad('a number');
      out[key] = v as number;
    } else if (spec.type === 'boolean') {
      if (typeof v !== 'boolean') bad('true or false');
      out[key] = v as boolean;
    } else if (typeof v === 'string') {
      out[key] = shape.paths.includes(key) && !isAbsolute(v) ? resolve(baseDir, v) : v;
    } else if (shape.ports?.includes(key) && typeof v === 'number' && Number.isInteger(v)) {
      out[key] = String(v);
    } else if (shape.lists?.includes(key) && Array.isArray(v) && v.every((x) => typeof x === 'string')) {
      out[key] = v.join(',');
    } else {
      bad(['a string', ...(shape.ports?.includes(key) ? ['a port number'] : []), ...(shape.lists?.includes(key) ? ['a list of strings'] : [])].join(' or '));
    }
  }
  return out;
}

export function readConfig(path: string, specs: FlagSpecs, shape: ConfigShape, baseDir: string): Record<string, string | number | boolean> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, null, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseConfig(text, path, specs, shape, baseDir);
}

/** A TOML string (TOML basic strings take JSON's escapes). */
export function tomlString(s: string): string {
  return JSON.stringify(s);
}
