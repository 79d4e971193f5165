// The shipped template, validated once at build time (npm run build writes dist/templates/autosalon.json): a command
// then loads it without parsing and validating nine YAML files. It is used only while the template's files are
// byte for byte those it was made from (a hash of their names and contents), so an edited template is always read.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Template } from './model.js';

/** The template shipped with the product (the same path from src/, dist/ and dist/bundle/). */
export const DEFAULT_TEMPLATE_DIR = fileURLToPath(new URL('../../templates/autosalon', import.meta.url));

/** Where the build writes the compiled shipped template (the same place from src/, dist/ and dist/bundle/). */
export const COMPILED_TEMPLATE_FILE = fileURLToPath(new URL('../../dist/templates/autosalon.json', import.meta.url));

export interface CompiledTemplate { sourceHash: string; template: Template }

/** A fingerprint of a template directory's YAML files: names and contents. */
export function templateSourceHash(dir: string): string {
  const hash = createHash('sha256');
  const files = readdirSync(dir, { recursive: true }).map(String).filter((n) => n.endsWith('.yaml')).sort();
  for (const name of files) hash.update(name).update('\0').update(readFileSync(join(dir, name))).update('\0');
  return hash.digest('hex');
}

/** The compiled template of `dir`, when the build made one from exactly these files. */
export function compiledTemplate(dir: string): Template | undefined {
  if (!existsSync(COMPILED_TEMPLATE_FILE)) return undefined;
  try {
    const compiled = JSON.parse(readFileSync(COMPILED_TEMPLATE_FILE, 'utf8')) as CompiledTemplate;
    return compiled.sourceHash === templateSourceHash(dir) ? compiled.template : undefined;
  } catch {
    // A half-written or foreign file: the template is read from its YAML files instead.
    return undefined;
  }
}
