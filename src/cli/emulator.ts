import type { Command } from 'commander';
import { EmulatorStateError, startEmulator } from '../emulator/index.js';
import { UserError } from './errors.js';
import { parseInteger, parseLang, parsePort } from './options.js';
import { untilStopped } from './signals.js';

interface EmulatorFlags { port: string; state?: string; plan: string; latencyMs: string; limits: string; lang: string; timeZone: string }

export function register(program: Command): void {
  program
    .command('emulator')
    .description('run the local Bitrix24 portal emulator (HTTPS on 127.0.0.1); prints one JSON line with its URLs')
    .option('--port <n>', 'port (0 picks a free one)', '0')
    .option('--state <file>', 'keep the portal in this JSON file so it survives restarts (default: in memory)')
    .option('--plan <code>', 'tariff plan (LICENSE_TYPE), e.g. pro, ent250, basic, project', 'pro')
    .option('--latency-ms <n>', 'delay added to every REST response', '0')
    .option('--limits <on|off>', 'request-rate and operating-time limits', 'on')
    .option('--lang <ru|en>', 'portal language (names of default stages)', 'ru')
    .option('--time-zone <zone>', 'portal time zone (IANA)', 'Europe/Moscow')
    .action(async (flags: EmulatorFlags) => {
      if (flags.limits !== 'on' && flags.limits !== 'off') throw new UserError(`--limits takes on or off (got "${flags.limits}")`);
      if (!/^[a-z][a-z0-9_]*$/.test(flags.plan)) throw new UserError(`--plan takes a plan code such as pro, ent250 or basic (got "${flags.plan}")`);
      let emulator;
      try {
        emulator = await startEmulator({
          port: parsePort(flags.port),
          stateFile: flags.state,
          plan: flags.plan,
          latencyMs: parseInteger(flags.latencyMs, '--latency-ms', 0, 60_000),
          limits: flags.limits === 'on',
          language: parseLang(flags.lang),
          timeZone: flags.timeZone,
        });
      } catch (error) {
        if (error instanceof EmulatorStateError) throw new UserError(error.message);
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UserError(`port ${flags.port} is taken: choose another with --port, or --port 0 for a free one`);
        throw error;
      }
      const { webhookUrl, caCertPath, controlUrl, oauthUrl, origin, memberId } = emulator;
      // The first stdout line is the machine-readable contract; people read stderr.
      process.stdout.write(`${JSON.stringify({ webhookUrl, caCertPath, controlUrl, oauthUrl, origin, memberId, stateFile: flags.state ?? null })}\n`);
      console.error(`Bitrix24 emulator on ${origin} (plan ${flags.plan}, limits ${flags.limits}${flags.state ? `, state ${flags.state}` : ', in memory'})`);
      console.error(`Trust its CA with NODE_EXTRA_CA_CERTS=${caCertPath}. Ctrl-C stops it.`);
      await untilStopped();
      await emulator.close();
    });
}
