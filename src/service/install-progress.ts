// Each portal's running or last install, as this service process sees it: queued, reading the portal, applying batches
// (steps done of the steps planned), waiting out the portal's operating limit, done with the installer's report, or
// failed. Kept in memory: the install page polls it; what lasts (installed, failed and why) is in the store.
import type { InstallReport, ProgressEvent } from '../install/index.js';
import type { InstallProgressView, InstallResult } from './app-types.js';

interface Run extends InstallProgressView {
  result?: InstallResult;
  error?: string;
}

const CHANGING = new Set(['create', 'update', 'delete']);

export function installResult(report: InstallReport, now: number): InstallResult {
  return {
    created: report.created, updated: report.updated, deleted: report.deleted, unchanged: report.unchanged,
    skipped: report.skipped, kept: report.kept, failed: report.failed, converged: report.converged, httpRequests: report.httpRequests, finishedAt: now,
  };
}

export class InstallProgress {
  private readonly runs = new Map<string, Run>();

  constructor(private readonly clock: () => number) {}

  queued(memberId: string): void {
    this.runs.set(memberId, { phase: 'queued', round: 0, stepsDone: 0, stepsTotal: 0 });
  }

  /** The install job runs (a retry after a failed attempt starts over). */
  started(memberId: string): void {
    this.runs.set(memberId, { phase: 'reading', round: 0, stepsDone: 0, stepsTotal: 0, startedAt: this.clock() });
  }

  event(memberId: string, event: ProgressEvent): void {
    const run = this.runs.get(memberId);
    if (!run) return;
    switch (event.type) {
      case 'read':
        run.round = event.round;
        run.phase = 'reading';
        break;
      case 'plan': {
        // Steps done so far and the changes this round plans (the deferred ones are planned again next round).
        const planned = event.plan.steps.filter((s) => CHANGING.has(s.action) && !s.deferred).length;
        run.stepsTotal = run.stepsDone + planned;
        break;
      }
      case 'batch':
        run.phase = 'applying';
        break;
      case 'batch-done':
        run.stepsDone += event.ok;
        run.stepsTotal = Math.max(run.stepsTotal, run.stepsDone);
        break;
      case 'wait':
        run.phase = 'waiting';
        break;
      default:
    }
  }

  finished(memberId: string, report: InstallReport): void {
    const now = this.clock();
    const run = this.runs.get(memberId) ?? { phase: 'done', round: 0, stepsDone: 0, stepsTotal: 0 };
    this.runs.set(memberId, { ...run, phase: 'done', stepsTotal: Math.max(run.stepsTotal, run.stepsDone), finishedAt: now, result: installResult(report, now) });
  }

  failed(memberId: string, error: string): void {
    const run = this.runs.get(memberId) ?? { phase: 'failed', round: 0, stepsDone: 0, stepsTotal: 0 };
    this.runs.set(memberId, { ...run, phase: 'failed', finishedAt: this.clock(), error });
  }

  get(memberId: string): { progress: InstallProgressView; result?: InstallResult; error?: string } | undefined {
    const run = this.runs.get(memberId);
    if (!run) return undefined;
    const { result, error, ...progress } = run;
    return { progress, result, error };
  }
}
