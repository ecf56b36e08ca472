// Types of scripts/build-ui.mjs for the TypeScript that imports it (tests, benchmarks).
export function buildUi(outDir?: string): Promise<{ outDir: string; files: { file: string; bytes: number }[] }>;
