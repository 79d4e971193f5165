import type { Command } from 'commander';
import { DEFAULT_TEMPLATE_DIR, loadTemplate } from '../template/index.js';
import { renderTemplateTree, templateSummary } from '../template/show.js';
import { parseLang, parseTier } from './options.js';

export function register(program: Command): void {
  const template = program.command('template').description('check and read the CRM template');

  template
    .command('validate')
    .description('validate a template directory; exit 0 with a summary, or 1 with every error')
    .argument('[dir]', 'template directory', DEFAULT_TEMPLATE_DIR)
    .action((dir: string) => {
      const t = loadTemplate(dir);
      console.log(`OK ${templateSummary(t)}`);
    });

  template
    .command('show')
    .description('print the template as a tree: pipelines, stages, fields, cards, rules per stage')
    .option('--dir <dir>', 'template directory', DEFAULT_TEMPLATE_DIR)
    .option('--tier <tier>', 'show only what this tier installs (base | crm_plus)')
    .option('--lang <lang>', 'label language (ru | en)', 'ru')
    .action((opts: { dir: string; tier?: string; lang: string }) => {
      const t = loadTemplate(opts.dir);
      const tier = opts.tier === undefined ? undefined : parseTier(t, opts.tier);
      console.log(renderTemplateTree(t, { tier, lang: parseLang(opts.lang) }));
    });
}
