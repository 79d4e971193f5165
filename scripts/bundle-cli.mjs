// The second half of `npm run build:cli` (after tsc): the CLI as a few bundled ES modules in dist/bundle/, so a command
// starts without resolving and reading hundreds of files, and the shipped template validated once into
// dist/templates/autosalon.json. bin/autosalon.js runs the bundle while it is newer than every source file.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);
// Chunk names change with their content: the last build's would pile up.
rmSync(new URL('dist/bundle', root), { recursive: true, force: true });

await build({
  entryPoints: [new URL('dist/cli/main.js', root).pathname],
  outdir: new URL('dist/bundle', root).pathname,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Bundled CommonJS packages call require(): an ES module has none, so each chunk makes one.
  banner: { js: "import { createRequire as autosalonCreateRequire } from 'node:module'; const require = autosalonCreateRequire(import.meta.url);" },
  // The service's and the emulator's libraries (a native module among them) load from node_modules, only when used.
  external: ['better-sqlite3', 'pg', 'pg-boss', 'umzug', 'fastify', 'selfsigned', 'php-serialize', 'tsx'],
  // Whitespace and syntax only: names stay readable in a stack trace (AUTOSALON_DEBUG=1).
  minifySyntax: true,
  minifyWhitespace: true,
  sourcemap: 'linked',
  logLevel: 'warning',
});

const { readTemplate, DEFAULT_TEMPLATE_DIR } = await import(new URL('dist/template/loader.js', root).href);
const { templateSourceHash, COMPILED_TEMPLATE_FILE } = await import(new URL('dist/template/compiled.js', root).href);
mkdirSync(new URL('dist/templates', root), { recursive: true });
writeFileSync(COMPILED_TEMPLATE_FILE, JSON.stringify({ sourceHash: templateSourceHash(DEFAULT_TEMPLATE_DIR), template: readTemplate(DEFAULT_TEMPLATE_DIR) }));
