// Local state per portal, under AUTOSALON_STATE_DIR (default .autosalon):
//   portals/<portal key>/ledger.json   what this product created or adopted, the language, local additions
//   portals/<portal key>/journal.json  the batch in flight, written before it is sent (a killed run resumes from it)
//   portals/<portal key>/backups/<timestamp>.json   every object a run changes, written before its first write
// No secrets go into these files. Writes are atomic (temporary file + rename), so a kill leaves the old or the new file.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
// zod's small build: every run reads the ledger, and the full one would add to every command's start.
import * as z from 'zod/mini';
import { tr } from '../i18n/index.js';
import { LANGUAGES } from '../template/constants.js';
import { InstallError, type Ledger, type LedgerObject, type StepAction, type StepKind } from './model.js';

// The ledger, journals and backups describe a client's CRM: only the user who runs the installer reads them.
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.AUTOSALON_STATE_DIR || '.autosalon');
}

/** A portal key as a directory name: host:port → host_port. */
export function portalDirName(portalKey: string): string {
  return portalKey.replace(/[^A-Za-z0-9._-]/g, '_');
}

const ledgerObjectSchema = z.object({
  created: z.boolean(), id: z.optional(z.number()), hash: z.optional(z.string()), handler: z.optional(z.string()),
});

const ledgerSchema = z.object({
  version: z.literal(1),
  portal: z.object({ key: z.string(), origin: z.string(), mode: z.enum(['webhook', 'app']) }),
  template: z.optional(z.object({ code: z.string(), version: z.string() })),
  tier: z.optional(z.string()),
  lang: z.optional(z.enum(LANGUAGES)),
  publicUrl: z.optional(z.string()),
  installedAt: z.optional(z.string()),
  updatedAt: z.optional(z.string()),
  objects: z.record(z.string(), ledgerObjectSchema),
  localAdditions: z.array(z.object({
    pipeline: z.string(), statusId: z.string(), name: z.string(), after: z.string(),
    semantics: z.enum(['process', 'failure']), color: z.string(), sort: z.number(), addedAt: z.string(),
  })),
});

export interface JournalStep {
  id: string;
  action: StepAction;
  kind: StepKind;
  key: string;
  title: string;
  /** How to find the object on the portal if the answer was lost (names, codes). */
  natural?: Record<string, unknown>;
  /** What the ledger records for it once found. */
  record?: LedgerObject;
}

export interface Journal {
  startedAt: string;
  round: number;
  batch: number;
  steps: JournalStep[];
}

const journalSchema = z.object({
  startedAt: z.string(),
  round: z.number(),
  batch: z.number(),
  steps: z.array(z.object({
    id: z.string(), action: z.string(), kind: z.string(), key: z.string(), title: z.string(),
    natural: z.optional(z.record(z.string(), z.unknown())),
    record: z.optional(ledgerObjectSchema),
  })),
});

export interface BackupEntry { key: string; kind: StepKind; action: StepAction; title: string; before: unknown }

export interface BackupFile {
  portal: string;
  createdAt: string;
  template: string;
  tier: string;
  lang: string;
  objects: BackupEntry[];
}

function writeAtomic(path: string, data: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: PRIVATE_FILE });
  renameSync(tmp, path);
}

function readJson(path: string, what: 'ledger' | 'journal' | 'backup'): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InstallError(tr().state.notJson(what, path, (error as Error).message));
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class PortalState {
  readonly dir: string;
  /** The portal's identity for the run lock: its host, the same for a webhook and for the application's tokens. */
  private readonly lockKey: string;

  /** `origin` is the portal's address (a webhook's or the app's client endpoint); its host names the portal's lock. */
  constructor(private readonly stateDir: string, readonly portalKey: string, origin?: string) {
    this.dir = join(stateDir, 'portals', portalDirName(portalKey));
    this.lockKey = origin ? new URL(origin).host.toLowerCase() : portalKey;
  }

  get ledgerFile(): string {
    return join(this.dir, 'ledger.json');
  }

  get journalFile(): string {
    return join(this.dir, 'journal.json');
  }

  get backupDir(): string {
    return join(this.dir, 'backups');
  }

  /** One per portal, not per way in: a webhook run and an app-mode run (CLI or service) of one portal share it. */
  get lockFile(): string {
    return join(this.stateDir, 'locks', `${portalDirName(this.lockKey)}.lock`);
  }

  /**
   * One run at a time per portal (a CLI install and the service's app-mode install must not interleave their
   * batches). A lock left by a process that no longer runs is taken over. Returns the release function.
   */
  lock(what: string): () => void {
    mkdirSync(dirname(this.lockFile), { recursive: true, mode: PRIVATE_DIR });
    const mine = JSON.stringify({ pid: process.pid, host: hostname(), what, since: new Date().toISOString() });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(this.lockFile, mine, { flag: 'wx', mode: PRIVATE_FILE });
        return () => rmSync(this.lockFile, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        let holder: { pid?: number; host?: string; what?: string; since?: string } = {};
        try {
          holder = JSON.parse(readFileSync(this.lockFile, 'utf8'));
        } catch {
          // Unreadable: written by a process killed mid-write; treat as stale.
        }
        if (holder.pid && holder.host === hostname() && isRunning(holder.pid)) {
          throw new InstallError(tr().state.locked(holder.what ?? 'run', holder.pid, holder.since ?? '?', this.lockFile));
        }
        if (holder.pid && holder.host && holder.host !== hostname()) {
          throw new InstallError(tr().state.lockedElsewhere(holder.what ?? 'run', holder.host, this.lockFile));
        }
        rmSync(this.lockFile, { force: true });
      }
    }
    throw new InstallError(tr().state.lockFailed(this.lockFile));
  }

  /** Runs `work` holding the portal's lock (see lock()). */
  async locked<T>(what: string, work: () => Promise<T>): Promise<T> {
    const release = this.lock(what);
    try {
      return await work();
    } finally {
      release();
    }
  }

  loadLedger(portal: Ledger['portal']): Ledger {
    if (!existsSync(this.ledgerFile)) return { version: 1, portal, objects: {}, localAdditions: [] };
    const parsed = ledgerSchema.safeParse(readJson(this.ledgerFile, 'ledger'));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InstallError(tr().state.ledgerDamaged(this.ledgerFile, `${issue.path.join('.') || '—'}: ${issue.message}`));
    }
    return { ...parsed.data, portal } as Ledger;
  }

  saveLedger(ledger: Ledger): void {
    mkdirSync(this.dir, { recursive: true, mode: PRIVATE_DIR });
    writeAtomic(this.ledgerFile, { ...ledger, updatedAt: new Date().toISOString() });
  }

  readJournal(): Journal | undefined {
    if (!existsSync(this.journalFile)) return undefined;
    const parsed = journalSchema.safeParse(readJson(this.journalFile, 'journal'));
    if (!parsed.success) {
      throw new InstallError(tr().state.journalDamaged(this.journalFile));
    }
    return parsed.data as Journal;
  }

  writeJournal(journal: Journal): void {
    mkdirSync(this.dir, { recursive: true, mode: PRIVATE_DIR });
    writeAtomic(this.journalFile, journal);
  }

  clearJournal(): void {
    rmSync(this.journalFile, { force: true });
  }

  /** A new backup file name for this run (not yet written). */
  newBackupFile(now = new Date()): string {
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    let path = join(this.backupDir, `${stamp}.json`);
    for (let n = 1; existsSync(path); n++) path = join(this.backupDir, `${stamp}-${n}.json`);
    return path;
  }

  writeBackup(path: string, backup: BackupFile): void {
    mkdirSync(this.backupDir, { recursive: true, mode: PRIVATE_DIR });
    writeAtomic(path, backup);
  }

  /** Every backup of this portal, oldest first. */
  readBackups(): { file: string; backup: BackupFile }[] {
    if (!existsSync(this.backupDir)) return [];
    return readdirSync(this.backupDir)
      .filter((n) => n.endsWith('.json'))
      .sort()
      .map((n) => {
        const file = join(this.backupDir, n);
        return { file, backup: readJson(file, 'backup') as BackupFile };
      });
  }

  /** The earliest saved state of each object: what the portal held before this product first changed it. */
  originalStates(): Map<string, BackupEntry> {
    const out = new Map<string, BackupEntry>();
    for (const { backup } of this.readBackups()) {
      for (const entry of backup.objects ?? []) if (!out.has(entry.key)) out.set(entry.key, entry);
    }
    return out;
  }
}
