import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { config as loadEnv } from 'dotenv';
import { ConfigError } from '../service/config.js';
import { TemplateError } from '../template/index.js';
import { UserError } from './errors.js';
import { register as registerAddStage } from './add-stage.js';
import { register as registerInstall } from './install.js';
import { register as registerStart } from './start.js';
import { register as registerUninstall } from './uninstall.js';
import { register as registerVerify } from './verify.js';
import { register as registerTemplate } from './template.js';
import { register as registerServe } from './serve.js';
import { register as registerRecalls } from './recalls.js';
import { register as registerEmulator } from './emulator.js';
import { register as registerPortals } from './portals.js';
import { register as registerSettings } from './settings.js';

loadEnv({ quiet: true });

export function buildProgram(): Command {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const program = new Command('autosalon')
    .description('Install and run the Autosalon CRM in a Bitrix24 portal')
    .version(version, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    // Before the commands are added, so they inherit it: every parse error reaches reportAndExit.
    .exitOverride();
  registerTemplate(program);
  registerInstall(program);
  registerVerify(program);
  registerUninstall(program);
  registerAddStage(program);
  registerStart(program);
  registerServe(program);
  registerRecalls(program);
  registerPortals(program);
  registerSettings(program);
  registerEmulator(program);
  return program;
}

/** With --json, a failure is one JSON object on stdout too, so a script reading stdout always gets one. */
function reportAndExit(error: unknown): never {
  const json = process.argv.slice(2).includes('--json');
  const fail = (message: string, exitCode: number, stack?: string): never => {
    if (json) console.log(JSON.stringify({ ok: false, error: message.replace(/^error: /, ''), exitCode }));
    if (stack) console.error(stack);
    process.exit(exitCode);
  };
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help) already.
    if (error.exitCode === 0) process.exit(0);
    return fail(error.message, error.exitCode);
  }
  if (error instanceof TemplateError) {
    console.error(error.message);
    return fail(error.message, 1);
  }
  if (error instanceof UserError || error instanceof ConfigError) {
    console.error(`error: ${error.message}`);
    return fail(error.message, error instanceof UserError ? error.exitCode : 1);
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`error: ${message}`);
  const debug = process.env.AUTOSALON_DEBUG && error instanceof Error;
  if (!debug) console.error('(set AUTOSALON_DEBUG=1 to see the stack trace)');
  return fail(message, 1, debug ? (error as Error).stack : undefined);
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  reportAndExit(error);
}
