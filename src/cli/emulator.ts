import type { Command } from 'commander';
import { EmulatorOptionError, EmulatorStateError, MAX_PORTALS, startEmulator, type PortalSummary } from '../emulator/index.js';
import { UserError } from './errors.js';
import { parseInteger, parseLang, parsePort } from './options.js';
import { untilStopped } from './signals.js';

/** The flag of each startEmulator option the command passes on unchecked. */
const FLAGS: Record<string, string> = { plan: '--plan', timeZone: '--time-zone' };

interface EmulatorFlags { port: string; portals: string; state?: string; plan: string; latencyMs: string; limits: string; lang: string; timeZone: string }

export function register(program: Command): void {
  program
    .command('emulator')
    .description('run the local Bitrix24 portal emulator (HTTPS on 127.0.0.1); prints one JSON line with its URLs')
    .option('--port <n>', "portal 1's port (0 picks a free one; other portals always get free ports)", '0')
    .option('--portals <n>', 'how many portals, each with its own origin, member_id, data and limits', '1')
    .option('--state <file>', 'keep the portals in this JSON file so they survive restarts (default: in memory)')
    .option('--plan <code>', 'tariff plan (LICENSE_TYPE) of every portal, e.g. pro, ent250, basic, project', 'pro')
    .option('--latency-ms <n>', 'delay added to every REST response', '0')
    .option('--limits <on|off>', 'request-rate and operating-time limits', 'on')
    .option('--lang <ru|en>', 'portal language (names of default stages)', 'ru')
    .option('--time-zone <zone>', 'portal time zone (IANA)', 'Europe/Moscow')
    .action(async (flags: EmulatorFlags, command: Command) => {
      if (flags.limits !== 'on' && flags.limits !== 'off') throw new UserError(`--limits takes on or off (got "${flags.limits}")`);
      // A flag left at its default does not replace what a state file's portals already have.
      const given = (name: string) => command.getOptionValueSource(name) !== 'default';
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
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UserError(`port ${flags.port} is taken: choose another with --port, or --port 0 for a free one`);
        throw error;
      }
      const { webhookUrl, caCertPath, controlUrl, oauthUrl, origin, portalUrl, memberId } = emulator;
      const portals: PortalSummary[] = emulator.portals.map(({ webhookUrl, origin, portalUrl, domain, memberId, plan, timeZone }) => ({ webhookUrl, origin, portalUrl, domain, memberId, plan, timeZone }));
      // The first stdout line is the machine-readable contract; people read stderr.
      process.stdout.write(`${JSON.stringify({ webhookUrl, caCertPath, controlUrl, oauthUrl, origin, portalUrl, memberId, stateFile: flags.state ?? null, portals })}\n`);
      const where = portals.length === 1 ? `on ${origin} (plan ${portals[0].plan}` : `with ${portals.length} portals (${portals.map((p) => `${p.origin} ${p.plan}`).join(', ')}`;
      console.error(`Bitrix24 emulator ${where}, limits ${flags.limits}${flags.state ? `, state ${flags.state}` : ', in memory'})`);
      if (portals.length > 1) console.error(`One control API for all of them: ${controlUrl}?portal=<member_id or number>.`);
      console.error(`The portal's web shell: ${portalUrl} (?user=N acts as user N; the browser must accept the emulator's certificate or trust ${caCertPath}).`);
      console.error(`Trust its CA with NODE_EXTRA_CA_CERTS=${caCertPath}. Ctrl-C stops it.`);
      await untilStopped();
      await emulator.close();
    });
}
