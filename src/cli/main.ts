import { readFileSync } from 'node:fs';
import { Command, CommanderError, Help } from 'commander';
import { config as loadEnv } from 'dotenv';
import { languageFrom, setLanguage, tr } from '../i18n/index.js';
import { UserError } from './errors.js';
import { register as registerAddStage } from './add-stage.js';
import { register as registerApply } from './apply.js';
import { register as registerExport } from './export.js';
import { register as registerInstall } from './install.js';
import { register as registerRemoveStage } from './remove-stage.js';
import { register as registerStart } from './start.js';
import { register as registerUninstall } from './uninstall.js';
import { register as registerVerify } from './verify.js';
import { register as registerTemplate } from './template.js';
import { register as registerServe } from './serve.js';
import { register as registerRecalls } from './recalls.js';
import { register as registerEmulator } from './emulator.js';
import { register as registerPortals } from './portals.js';
import { register as registerSettings } from './settings.js';
import { register as registerDb } from './db.js';

loadEnv({ quiet: true });
// Every message is in the language asked for with --lang, else the locale's: chosen before any text is made.
setLanguage(languageFrom(process.argv.slice(2), process.env));

/** Commander's own messages (unknown option, missing argument…) in the chosen language. */
function commanderText(text: string): string {
  const t = tr().cli.commander;
  return text
    .replace(/^error: /gm, `${t.error}: `)
    .replace(/unknown option '([^']+)'/, (_, o: string) => t.unknownOption(o))
    .replace(/unknown command '([^']+)'/, (_, c: string) => t.unknownCommand(c))
    .replace(/required option '([^']+)' not specified/, (_, o: string) => t.requiredOption(o))
    .replace(/option '([^']+)' argument missing/, (_, o: string) => t.argumentMissing(o))
    .replace(/missing required argument '([^']+)'/, (_, a: string) => t.missingArgument(a))
    .replace(/too many arguments(?: for '([^']+)')?\. Expected (\d+) arguments? but got (\d+)\./, (_, c: string | undefined, e: string, g: string) => t.tooManyArguments(e, g))
    .replace(/\(Did you mean ([^)]+)\?\)/, (_, s: string) => t.didYouMean(s));
}

export function buildProgram(): Command {
  const t = tr().cli;
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const titles: Record<string, string> = { 'Usage:': t.help.usage, 'Options:': t.help.options, 'Commands:': t.help.commands, 'Arguments:': t.help.arguments };
  const program = new Command('autosalon')
    .description(t.cmd.program)
    .version(version, '-V, --version', t.option.version)
    .helpOption('-h, --help', t.option.help)
    .helpCommand('help [command]', t.option.helpCommand)
    .configureHelp({
      styleTitle: (title) => titles[title] ?? title,
      // "(default: …)" in the chosen language.
      optionDescription: (option) => {
        const text = new Help().optionDescription(option);
        return text.replace(/\(default: ([^)]*)\)$/, (_, value: string) => t.help.defaultValue(value));
      },
    })
    .configureOutput({ outputError: (text, write) => write(commanderText(text)) })
    .showHelpAfterError(t.help.afterError)
    // Before the commands are added, so they inherit it: every parse error reaches reportAndExit.
    .exitOverride();
  registerTemplate(program);
  registerInstall(program);
  registerApply(program);
  registerVerify(program);
  registerUninstall(program);
  registerExport(program);
  registerAddStage(program);
  registerRemoveStage(program);
  registerStart(program);
  registerServe(program);
  registerRecalls(program);
  registerPortals(program);
  registerSettings(program);
  registerDb(program);
  registerEmulator(program);
  return program;
}

/** With --json, a failure is one JSON object on stdout too, so a script reading stdout always gets one. */
async function reportAndExit(error: unknown): Promise<never> {
  const t = tr().cli;
  const json = process.argv.slice(2).includes('--json');
  const fail = (message: string, exitCode: number, stack?: string): never => {
    if (json) console.log(JSON.stringify({ ok: false, error: message.replace(/^error: /, ''), exitCode }));
    if (stack) console.error(stack);
    process.exit(exitCode);
  };
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help) already.
    if (error.exitCode === 0) process.exit(0);
    return fail(commanderText(error.message), error.exitCode);
  }
  // Loaded only on this path: the template loader and the service's settings are not needed to start.
  const [{ TemplateError }, { ConfigError }] = await Promise.all([import('../template/issues.js'), import('../service/config.js')]);
  if (error instanceof TemplateError) {
    console.error(error.message);
    return fail(error.message, 1);
  }
  if (error instanceof UserError || error instanceof ConfigError) {
    console.error(`${t.commander.error}: ${error.message}`);
    return fail(error.message, error instanceof UserError ? error.exitCode : 1);
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`${t.commander.error}: ${message}`);
  const debug = process.env.AUTOSALON_DEBUG && error instanceof Error;
  if (!debug) console.error(t.debugHint);
  return fail(message, 1, debug ? (error as Error).stack : undefined);
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  await reportAndExit(error);
}
