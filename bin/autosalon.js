#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm install` / `npm ci` through the prepare script) when it is newer than
// every source file; otherwise — no build yet, or a source edited since — the TypeScript itself through tsx, so a
// checkout always runs its own code. The compiled build starts in a fraction of tsx's time.
import { readdirSync, statSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/bundle/main.js`;

function builtIsCurrent() {
  let builtAt;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    return false;
  }
  for (const name of readdirSync(`${root}src`, { recursive: true })) {
    // src/web is the front end (built into dist/web by its own step, which also writes .d.ts files there), not the CLI.
    if (name.startsWith('web/')) continue;
    if (name.endsWith('.ts') && statSync(`${root}src/${name}`).mtimeMs > builtAt) return false;
  }
  return true;
}

if (process.env.AUTOSALON_FROM_SOURCE !== '1' && builtIsCurrent()) {
  // Node 22.1 and later keep the compiled code of the bundle between runs (in the project's own dist/, not a shared
  // temporary directory); Node 20 has no such cache and goes on without it.
  module.enableCompileCache?.(`${root}dist/compile-cache`);
  await import(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
