// The dashboard's static files (GET / and /ui/*), read once when the server starts. They are built by
// `npm run build:ui` (part of `prepare`, so `npm install` and `npm pack` make them) from ui/ into
// build/ui/, and shipped in the package. The engine is served beside them; the page checks its
// SHA-256 against genesis before it runs it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface UiAsset {
  readonly type: string;
  readonly body: Uint8Array;
}

export interface UiAssets {
  /** path → file: '/', '/ui/app.js', '/ui/app.css', '/ui/ma.wasm' */
  readonly files: ReadonlyMap<string, UiAsset>;
  /** why the page cannot be served (files missing), or null */
  readonly missing: string | null;
}

const FILES: readonly [string, string, string][] = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/ui/app.js', 'app.js', 'text/javascript; charset=utf-8'],
  ['/ui/app.css', 'app.css', 'text/css; charset=utf-8'],
];

/** Read the built page from `dir` (normally build/ui) and take the engine bytes to serve with it. */
export function loadUiAssets(dir: string, wasm: Uint8Array): UiAssets {
  const files = new Map<string, UiAsset>();
  const absent: string[] = [];
  for (const [path, name, type] of FILES) {
    try {
      files.set(path, { type, body: new Uint8Array(readFileSync(join(dir, name))) });
    } catch {
      absent.push(name);
      files.set(path, { type, body: new Uint8Array(0) }); // answered with 503 and `missing`
    }
  }
  files.set('/ui/ma.wasm', { type: 'application/wasm', body: wasm });
  const missing = absent.length === 0 ? null : `the dashboard is not built (${absent.join(', ')} missing in ${dir}): run npm run build:ui`;
  return { files, missing };
}
