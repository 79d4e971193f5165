import { Command, CommanderError } from 'commander';
import { config as loadEnv } from 'dotenv';
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

loadEnv({ quiet: true });

export function buildProgram(): Command {
  const program = new Command('autosalon')
    .description('Install and run the Autosalon CRM in a Bitrix24 portal')
    .showHelpAfterError('(run with --help for usage)');
  registerTemplate(program);
  registerInstall(program);
  registerVerify(program);
  registerUninstall(program);
  registerAddStage(program);
  registerStart(program);
  registerServe(program);
  registerRecalls(program);
  registerEmulator(program);
  return program;
}

function reportAndExit(error: unknown): never {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  if (error instanceof TemplateError) {
    console.error(error.message);
    process.exit(1);
  }
  if (error instanceof UserError) {
    console.error(`error: ${error.message}`);
    process.exit(error.exitCode);
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`error: ${message}`);
  if (process.env.AUTOSALON_DEBUG && error instanceof Error) console.error(error.stack);
  else console.error('(set AUTOSALON_DEBUG=1 to see the stack trace)');
  process.exit(1);
}

try {
  await buildProgram().exitOverride().parseAsync(process.argv);
} catch (error) {
  reportAndExit(error);
}
