import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import { UserError } from './errors.js';
import { parseInteger, parseLang, parsePort } from './options.js';
import { untilStopped } from './signals.js';

/** The flag of each startEmulator option the command passes on unchecked. */
const FLAGS: Record<string, string> = { plan: '--plan', timeZone: '--time-zone' };

interface EmulatorFlags { port: string; portals: string; state?: string; plan: string; latencyMs: string; limits: string; lang: string; timeZone: string }

export function register(program: Command): void {
  const t = tr().cli;
  program
    .command('emulator')
    .description(t.cmd.emulator)
    .option('--port <n>', t.option.emulatorPort, '0')
    .option('--portals <n>', t.option.emulatorPortals, '1')
    .option('--state <file>', t.option.emulatorState)
    .option('--plan <code>', t.option.emulatorPlan, 'pro')
    .option('--latency-ms <n>', t.option.latency, '0')
    .option('--limits <on|off>', t.option.limits, 'on')
    .option('--lang <ru|en>', t.option.emulatorLang, 'ru')
    .option('--time-zone <zone>', t.option.timeZone, 'Europe/Moscow')
    .action(async (flags: EmulatorFlags, command: Command) => {
      if (flags.limits !== 'on' && flags.limits !== 'off') throw new UserError(t.emulator.badLimits(flags.limits));
      // A flag left at its default does not replace what a state file's portals already have.
      const given = (name: string) => command.getOptionValueSource(name) !== 'default';
      const { EmulatorOptionError, EmulatorStateError, MAX_PORTALS, portalSummary, startEmulator } = await import('../emulator/index.js');
      let emulator;
      try {
        emulator = await startEmulator({
          port: parsePort(flags.port),
          portals: parseInteger(flags.portals, '--portals', 1, MAX_PORTALS),
          stateFile: flags.state,
          plan: given('plan') ? flags.plan : undefined,
          latencyMs: parseInteger(flags.latencyMs, '--latency-ms', 0, 60_000),
          limits: flags.limits === 'on',
          language: given('lang') ? parseLang(flags.lang) : undefined,
          timeZone: given('timeZone') ? flags.timeZone : undefined,
        });
      } catch (error) {
        if (error instanceof EmulatorStateError) throw new UserError(error.message);
        if (error instanceof EmulatorOptionError) throw new UserError(`${FLAGS[error.option] ?? error.option} ${error.problem}`);
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UserError(t.emulator.portTaken(flags.port));
        throw error;
      }
      const { webhookUrl, caCertPath, controlUrl, oauthUrl, origin, portalUrl, memberId } = emulator;
      const portals = emulator.portals.map(portalSummary);
      // The first stdout line is the machine-readable contract; people read stderr.
      process.stdout.write(`${JSON.stringify({ webhookUrl, caCertPath, controlUrl, oauthUrl, origin, portalUrl, memberId, stateFile: flags.state ?? null, portals })}
`);
      console.error(t.emulator.started(portals.map((p) => `${p.origin} (${p.plan})`), flags.limits, flags.state));
      if (portals.length > 1) console.error(t.emulator.oneControlApi(controlUrl));
      console.error(t.emulator.shell(portalUrl, caCertPath));
      console.error(t.emulator.trust(caCertPath));
      await untilStopped();
      await emulator.close();
    });
}
