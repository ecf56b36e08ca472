// esbuild bundles CSS imported from TypeScript into build/ui/app.css.
declare module '*.css';
