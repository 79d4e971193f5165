// Looking at an emulated portal the way a person with REST access would (raw calls, not the installer's reader),
// to check what the installer did.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { rawCall } from '../helpers/emulator.js';

export function tempStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'autosalon-state-'));
}

export interface Row { ID: string; ENTITY_ID: string; STATUS_ID: string; NAME: string; SORT: string; COLOR: string; SEMANTICS: string | null }

export async function call<T = unknown>(emulator: RunningEmulator, method: string, params: Record<string, unknown> = {}): Promise<T> {
  const { status, body } = await rawCall(emulator, method, params);
  if (status !== 200) throw new Error(`${method}: HTTP ${status} ${JSON.stringify(body)}`);
  return body.result as T;
}

export async function statuses(emulator: RunningEmulator, entityId?: string): Promise<Row[]> {
  const rows = await call<Row[]>(emulator, 'crm.status.list', { order: { SORT: 'ASC' } });
  return entityId ? rows.filter((r) => r.ENTITY_ID === entityId) : rows;
}

export async function categories(emulator: RunningEmulator): Promise<{ id: number; name: string; sort: number }[]> {
  const r = await call<{ categories: { id: number; name: string; sort: number; isDefault: string }[] }>(emulator, 'crm.category.list', { entityTypeId: 2 });
  return r.categories.filter((c) => c.isDefault !== 'Y' && Number(c.id) !== 0).map((c) => ({ id: Number(c.id), name: c.name, sort: Number(c.sort) }));
}

export async function fieldNames(emulator: RunningEmulator, entity: string): Promise<string[]> {
  return (await call<{ FIELD_NAME: string }[]>(emulator, `crm.${entity}.userfield.list`)).map((f) => f.FIELD_NAME);
}

export async function card(emulator: RunningEmulator, entityTypeId: number, categoryId?: number): Promise<unknown> {
  return call(emulator, 'crm.item.details.configuration.get', {
    entityTypeId, scope: 'C', ...(categoryId === undefined ? {} : { extras: { dealCategoryId: categoryId } }),
  });
}

/** Everything an install must never duplicate: pipelines by name, stages by name within a pipeline, fields by name. */
export async function duplicates(emulator: RunningEmulator): Promise<string[]> {
  const out: string[] = [];
  const dup = (what: string, values: string[]) => {
    const seen = new Set<string>();
    for (const v of values) {
      if (seen.has(v)) out.push(`${what}: ${v}`);
      seen.add(v);
    }
  };
  dup('pipeline', (await categories(emulator)).map((c) => c.name));
  const rows = await statuses(emulator);
  for (const entity of new Set(rows.map((r) => r.ENTITY_ID).filter((e) => e === 'STATUS' || e.startsWith('DEAL_STAGE')))) {
    dup(`stage of ${entity}`, rows.filter((r) => r.ENTITY_ID === entity).map((r) => r.NAME));
  }
  for (const entity of ['lead', 'deal', 'contact', 'company']) dup(`${entity} field`, await fieldNames(emulator, entity));
  return out;
}
