import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TEMPLATE_DIR } from '../../src/template/index.js';

/** A scratch copy of the shipped template, to break on purpose. */
export function copyTemplate(): { dir: string; edit: (file: string, from: string | RegExp, to: string) => void; remove: (file: string) => void; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'autosalon-template-'));
  cpSync(DEFAULT_TEMPLATE_DIR, dir, { recursive: true });
  return {
    dir,
    edit(file, from, to) {
      const path = join(dir, file);
      const before = readFileSync(path, 'utf8');
      const after = before.replace(from, to);
      if (after === before) throw new Error(`test setup: ${String(from)} not found in ${file}`);
      writeFileSync(path, after);
    },
    remove(file) {
      rmSync(join(dir, file));
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
