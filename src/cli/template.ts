import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { tr } from '../i18n/index.js';
import { parseLang, parseTier } from './options.js';

/** The shipped template (the same path as the loader's DEFAULT_TEMPLATE_DIR, without loading the loader to show help). */
const SHIPPED = fileURLToPath(new URL('../../templates/autosalon', import.meta.url));

export function register(program: Command): void {
  const c = tr().cli;
  const template = program.command('template').description(c.cmd.template);

  template
    .command('validate')
    .description(c.cmd.templateValidate)
    .argument('[dir]', c.option.templateDir, SHIPPED)
    .option('--lang <lang>', c.option.langMessages)
    .action(async (dir: string) => {
      const [{ loadTemplate }, { templateSummary }] = await Promise.all([import('../template/loader.js'), import('../template/show.js')]);
      console.log(`OK ${templateSummary(loadTemplate(dir))}`);
    });

  template
    .command('show')
    .description(c.cmd.templateShow)
    .option('--dir <dir>', c.option.templateDir, SHIPPED)
    .option('--tier <tier>', c.option.showTier)
    .option('--lang <lang>', c.option.showLang, 'ru')
    .action(async (opts: { dir: string; tier?: string; lang: string }) => {
      const [{ loadTemplate }, { renderTemplateTree }] = await Promise.all([import('../template/loader.js'), import('../template/show.js')]);
      const t = loadTemplate(opts.dir);
      const tier = opts.tier === undefined ? undefined : parseTier(t, opts.tier);
      console.log(renderTemplateTree(t, { tier, lang: parseLang(opts.lang) }));
    });
}
