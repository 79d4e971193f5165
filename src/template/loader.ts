import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { compiledTemplate, DEFAULT_TEMPLATE_DIR } from './compiled.js';
import { IssueList, SourceFile, TemplateError } from './issues.js';
import type { Template } from './model.js';
import {
  appFile, automationFile, cardsFile, fieldsFile, leadsFile, manifestFile, pipelineFile,
} from './schema.js';
import { validateTemplate } from './validate.js';

export { DEFAULT_TEMPLATE_DIR };

function readSource(dir: string, name: string, issues: IssueList): SourceFile | undefined {
  const path = join(dir, name);
  if (!existsSync(path)) {
    issues.add(name, [], 'file is missing');
    return undefined;
  }
  const source = SourceFile.parse(name, readFileSync(path, 'utf8'), (text, lineCounter) =>
    parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true }),
  );
  for (const error of source.doc.errors) {
    const pos = error.linePos?.[0];
    issues.items.push({ file: name, path: [], line: pos?.line, column: pos?.col, message: `YAML: ${error.message.split('\n')[0]}` });
  }
  return source.doc.errors.length ? undefined : source;
}

function parseWith<S extends z.ZodType>(source: SourceFile | undefined, schema: S, issues: IssueList): z.output<S> | undefined {
  if (!source) return undefined;
  const result = schema.safeParse(source.doc.toJS());
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.add(source, [...path, key], `unknown key "${key}"`);
    } else {
      issues.add(source, path, issue.message);
    }
  }
  return undefined;
}

export interface LoadedSources {
  manifest?: SourceFile;
  leads?: SourceFile;
  pipelines: SourceFile[];
  fields?: SourceFile;
  cards?: SourceFile;
  automation?: SourceFile;
  app?: SourceFile;
}

/** Reads and validates a template directory; throws TemplateError listing every problem found. */
export function loadTemplate(dir: string = DEFAULT_TEMPLATE_DIR): Template {
  const root = resolve(dir);
  if (root === DEFAULT_TEMPLATE_DIR) {
    const compiled = compiledTemplate(root);
    if (compiled) return compiled;
  }
  return readTemplate(root, dir);
}

/** Reads and validates the YAML files (what the build's compiled template was made by). */
export function readTemplate(root: string, dir: string = root): Template {
  const issues = new IssueList();
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new TemplateError(dir, [{ file: '.', path: [], message: `no template directory at ${root}` }]);
  }
  const sources: LoadedSources = {
    manifest: readSource(root, 'template.yaml', issues),
    leads: readSource(root, 'leads.yaml', issues),
    fields: readSource(root, 'fields.yaml', issues),
    cards: readSource(root, 'cards.yaml', issues),
    automation: readSource(root, 'automation.yaml', issues),
    app: readSource(root, 'app.yaml', issues),
    pipelines: [],
  };
  const pipelineDir = join(root, 'pipelines');
  const pipelineNames = existsSync(pipelineDir)
    ? readdirSync(pipelineDir).filter((n) => n.endsWith('.yaml')).sort()
    : [];
  if (pipelineNames.length === 0) issues.add('pipelines/', [], 'no pipeline files (pipelines/*.yaml)');
  for (const name of pipelineNames) {
    const source = readSource(root, `pipelines/${name}`, issues);
    if (source) sources.pipelines.push(source);
  }

  const manifest = parseWith(sources.manifest, manifestFile, issues);
  const leads = parseWith(sources.leads, leadsFile, issues);
  const fields = parseWith(sources.fields, fieldsFile, issues);
  const cards = parseWith(sources.cards, cardsFile, issues);
  const automation = parseWith(sources.automation, automationFile, issues);
  const app = parseWith(sources.app, appFile, issues);
  const pipelines = sources.pipelines.map((s) => ({ source: s, def: parseWith(s, pipelineFile, issues) }));

  if (!issues.empty || !manifest || !leads || !fields || !cards || !automation || !app || pipelines.some((p) => !p.def)) {
    throw new TemplateError(dir, issues.items);
  }
  const template: Template = {
    code: manifest.code,
    version: manifest.version,
    name: manifest.name,
    tiers: manifest.tiers.map((t) => t.code),
    manifest,
    leads,
    pipelines: pipelines.map((p) => p.def!).sort((a, b) => a.sort - b.sort),
    fields: fields.fields,
    baseSections: cards.baseSections,
    cards: cards.cards,
    rules: automation.rules,
    app,
  };
  validateTemplate(template, sources, pipelines.map((p) => ({ source: p.source, code: p.def!.code })), issues);
  if (!issues.empty) throw new TemplateError(dir, issues.items);
  return template;
}
