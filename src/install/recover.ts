// After a run that died or lost an answer with a batch in flight: the journal names what that batch tried to create.
// Each of those objects is looked up on the freshly read portal; what is there was created by us and goes into the
// ledger (so a pipeline is not "adopted" as someone else's, and nothing is created twice). Nothing is re-sent blindly.
import type { PortalSnapshot } from '../portal/snapshot.js';
import { sameName } from './desired.js';
import type { Ledger } from './model.js';
import { sameNamedCategory } from './plan.js';
import type { Journal, JournalStep } from './state.js';

const text = (v: unknown) => (typeof v === 'string' ? v : '');

function findCreated(step: JournalStep, snapshot: PortalSnapshot, ledger: Ledger): { id?: number } | undefined {
  const n = step.natural ?? {};
  switch (step.kind) {
    case 'category': {
      const names = Array.isArray(n.names) ? n.names.map(String) : [];
      const taken = new Set(Object.entries(ledger.objects).filter(([key]) => key.startsWith('category:')).map(([, o]) => o.id));
      const row = sameNamedCategory(snapshot.categories, names, taken);
      return row && { id: row.id };
    }
    case 'status':
    case 'stage': {
      const statusId = text(n.statusId).toUpperCase();
      const row = snapshot.statuses.find((r) => r.statusId.toUpperCase() === statusId && (!n.entityId || r.entityId === n.entityId));
      return row && { id: row.id };
    }
    case 'field': {
      const entity = text(n.entity) as keyof PortalSnapshot['fields'];
      const row = snapshot.fields[entity]?.find((f) => f.fieldName === text(n.fieldName));
      return row && { id: row.id };
    }
    case 'robot':
      return snapshot.app?.robots.includes(text(n.code)) ? {} : undefined;
    case 'trigger':
      return snapshot.app?.triggers.some((t) => t.code === text(n.code)) ? {} : undefined;
    case 'event':
      return snapshot.app?.events.some((e) => e.event === text(n.event).toUpperCase() && e.handler === text(n.handler)) ? {} : undefined;
    case 'bp': {
      const names = Array.isArray(n.names) ? n.names.map(String) : [];
      const row = snapshot.app?.templates.find((t) => names.some((name) => sameName(t.name, name)));
      return row && { id: row.id };
    }
    default:
      return undefined;
  }
}

/** Records in the ledger what the interrupted batch created; returns how many of its creates were found. */
export function recoverFromJournal(journal: Journal, snapshot: PortalSnapshot, ledger: Ledger): { creates: number; found: number } {
  let creates = 0;
  let found = 0;
  for (const step of journal.steps) {
    if (step.action !== 'create') continue;
    creates++;
    const hit = findCreated(step, snapshot, ledger);
    if (!hit) continue;
    found++;
    const record = step.record ?? { created: true };
    ledger.objects[step.key] = { ...record, created: true, ...(hit.id !== undefined ? { id: hit.id } : {}) };
  }
  return { creates, found };
}
