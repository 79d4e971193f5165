import type { Command } from 'commander';
import { tr } from '../i18n/index.js';
import { UserError } from './errors.js';
import { parseInteger, parseLang, parsePort } from './options.js';
import { untilStopped } from './signals.js';

interface EmulatorFlags { port: string; state?: string; plan: string; latencyMs: string; limits: string; lang: string; timeZone: string }

export function register(program: Command): void {
  const t = tr().cli;
  program
    .command('emulator')
    .description(t.cmd.emulator)
    .option('--port <n>', t.option.emulatorPort, '0')
    .option('--state <file>', t.option.emulatorState)
    .option('--plan <code>', t.option.emulatorPlan, 'pro')
    .option('--latency-ms <n>', t.option.latency, '0')
    .option('--limits <on|off>', t.option.limits, 'on')
    .option('--lang <ru|en>', t.option.emulatorLang, 'ru')
    .option('--time-zone <zone>', t.option.timeZone, 'Europe/Moscow')
    .action(async (flags: EmulatorFlags) => {
      if (flags.limits !== 'on' && flags.limits !== 'off') throw new UserError(t.emulator.badLimits(flags.limits));
      if (!/^[a-z][a-z0-9_]*$/.test(flags.plan)) throw new UserError(t.emulator.badPlan(flags.plan));
      const { EmulatorStateError, startEmulator } = await import('../emulator/index.js');
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
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UserError(t.emulator.portTaken(flags.port));
        throw error;
      }
      const { webhookUrl, caCertPath, controlUrl, oauthUrl, origin, memberId } = emulator;
      // The first stdout line is the machine-readable contract; people read stderr.
      process.stdout.write(`${JSON.stringify({ webhookUrl, caCertPath, controlUrl, oauthUrl, origin, memberId, stateFile: flags.state ?? null })}\n`);
      console.error(t.emulator.started(origin, flags.plan, flags.limits, flags.state));
      console.error(t.emulator.trust(caCertPath));
      await untilStopped();
      await emulator.close();
    });
}
