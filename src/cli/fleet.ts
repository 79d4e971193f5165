// install --portals FILE: many portals, a few at a time, one table at the end (or one JSON object with --json).
import { tr } from '../i18n/index.js';
import { fleetOk, readFleetFile, renderFleet, runFleet } from '../install/fleet.js';
import { UserError } from './errors.js';
import { fleetSettings, type InstallFlags } from './install.js';
import { asUserError, templateFor } from './session.js';

export async function fleetAction(flags: InstallFlags): Promise<void> {
  const t = tr().cli;
  const single = [flags.webhook, flags.accessToken, flags.refreshToken, flags.memberId, flags.tokensStdin, flags.out, flags.detailedExitcode].some(Boolean);
  if (single) throw new UserError(t.fleetFlags);
  const { concurrency, timeoutMs } = fleetSettings(flags);
  const template = await templateFor(flags);
  let entries;
  try {
    entries = readFleetFile(flags.portals!);
  } catch (error) {
    throw asUserError(error);
  }
  // Per-portal flags from the command line apply to every portal that does not name its own.
  const withDefaults = entries.map((e) => ({ ...e, tier: e.tier ?? flags.tier, plan: e.plan ?? (e.tier ? undefined : flags.plan), lang: e.lang ?? (flags.lang as typeof e.lang) }));
  const rows = await runFleet(withDefaults, {
    template, stateDir: flags.stateDir, concurrency, dryRun: flags.dryRun, yes: flags.yes, keepEdits: flags.keepEdits,
    client: { timeoutMs },
    describeError: (error, session) => asUserError(error, session).message,
    onDone: (row) => console.error(t.fleetDone(row.name, tr().fleet.result[row.result], (row.ms / 1000).toFixed(1))),
  });
  if (flags.json) console.log(JSON.stringify({ ok: fleetOk(rows), portals: rows }));
  else console.log(renderFleet(rows));
  if (!fleetOk(rows)) process.exitCode = 1;
}
