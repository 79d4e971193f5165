// Export: a portal's lead statuses, deal pipelines with their stages, user fields and card sections, read in one
// request, as a template directory that `template validate` accepts. What the portal cannot show — the other
// language's labels, tiers, field checks, the automation rules and the application objects — is taken from a
// reference template (the shipped one, or --template) for the objects that are still as the reference has them; a
// rule of the reference that refers to something the portal no longer has is left out and listed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { tr } from '../i18n/index.js';
import type { PortalClient } from '../portal/client.js';
import { cardKey, readMore, readSnapshot, type CardSection, type PortalSnapshot, type StatusRow, type UserFieldRow } from '../portal/snapshot.js';
import { TemplateError, type TemplateIssue } from '../template/issues.js';
import { loadTemplate } from '../template/loader.js';
import type { CardDef, CardSectionDef, CrmEntity, FieldDef, Lang, PipelineDef, RuleDef, StageDef, Template } from '../template/model.js';
import { CRM_ENTITIES, FIELD_TYPES } from '../template/constants.js';
import type { Label } from '../template/schema.js';
import { MAX_FIELD_NAME } from '../template/validate.js';
import { stageCodeFromName } from './add-stage.js';
import { sameName, SECTION_PREFIX } from './desired.js';
import type { Ledger } from './model.js';
import { dealStageEntity, LEAD_STATUS_ENTITY, stagePrefix } from './plan.js';

export interface ExportOptions {
  /** What fills in what the portal cannot show (the shipped template by default). */
  reference: Template;
  /** This portal's ledger, when the state directory has one: it names the pipelines Autosalon installed. */
  ledger?: Ledger;
  /** The language the portal's names are in (the last install's, else ru). */
  lang: Lang;
}

export interface ExportResult {
  /** File name (relative to the template directory) → YAML text. */
  files: Record<string, string>;
  /** What could not be exported, or was left out, and why. */
  warnings: string[];
  httpRequests: number;
}

/** The default lead statuses of a new portal; those the portal no longer has are listed as removed. */
const DEFAULT_LEAD_STATUSES = ['NEW', 'IN_PROCESS', 'PROCESSED', 'CONVERTED', 'JUNK'];
const STATUS_CODE = /^[A-Z0-9_]+$/;

const other = (lang: Lang): Lang => (lang === 'ru' ? 'en' : 'ru');
const colour = (c: string, semantics: string) =>
  /^#?[0-9A-Fa-f]{6}$/.test(c.trim()) ? `#${c.trim().replace(/^#/, '').toUpperCase()}` : semantics === 'success' ? '#7BD500' : semantics === 'failure' ? '#FF5752' : '#39A8EF';

/** A label in both languages: the portal's text, and the reference's other language when the reference says the same. */
function labelOf(text: string, lang: Lang, ref?: Label): Label {
  const sameAsRef = ref !== undefined && sameName(ref[lang], text);
  return { [lang]: text, [other(lang)]: sameAsRef ? ref[other(lang)] : text } as Label;
}

function stagesOf(rows: StatusRow[], prefix: string, lang: Lang, ref: StageDef[] | undefined, where: string, warnings: string[]): StageDef[] {
  const out: StageDef[] = [];
  for (const row of [...rows].sort((a, b) => a.sort - b.sort || a.id - b.id)) {
    const code = row.statusId.startsWith(prefix) ? row.statusId.slice(prefix.length) : row.statusId;
    if (!STATUS_CODE.test(code)) {
      warnings.push(tr().export.badStageCode(where, row.statusId));
      continue;
    }
    const refStage = ref?.find((s) => s.code === code);
    out.push({ code, name: labelOf(row.name, lang, refStage?.name), semantics: row.semantics, color: colour(row.color, row.semantics) });
  }
  return out;
}

/** A lower-case pipeline code from its name ("Тюнинг" → tyuning), unique among `taken`. */
function pipelineCode(name: string, taken: Set<string>): string {
  const code = stageCodeFromName(name, new Set([...taken].map((c) => c.toUpperCase())), '', 30).toLowerCase();
  return /^[a-z]/.test(code) ? code : `p_${code}`;
}

function exportPipelines(snapshot: PortalSnapshot, options: ExportOptions, warnings: string[]): { pipelines: (PipelineDef & { id: number })[] } {
  const { reference: ref, ledger, lang } = options;
  const byId = new Map<number, string>();
  for (const [key, o] of Object.entries(ledger?.objects ?? {})) {
    const m = /^category:(.+)$/.exec(key);
    if (m && o.id !== undefined) byId.set(o.id, m[1]);
  }
  const taken = new Set<string>();
  const pipelines: (PipelineDef & { id: number })[] = [];
  const categories = snapshot.categories.filter((c) => !c.isDefault && c.id !== 0).sort((a, b) => a.sort - b.sort || a.id - b.id);
  for (const cat of categories) {
    const refByName = ref.pipelines.find((p) => !taken.has(p.code) && (sameName(p.name.ru, cat.name) || sameName(p.name.en, cat.name)));
    const known = byId.get(cat.id);
    const code = known && !taken.has(known) ? known : refByName ? refByName.code : pipelineCode(cat.name, taken);
    taken.add(code);
    const refPipeline = ref.pipelines.find((p) => p.code === code);
    const stages = stagesOf(snapshot.statuses.filter((r) => r.entityId === dealStageEntity(cat.id)), stagePrefix(cat.id), lang, refPipeline?.stages, cat.name, warnings);
    pipelines.push({ id: cat.id, code, tier: refPipeline?.tier ?? ref.tiers[0], name: labelOf(cat.name, lang, refPipeline?.name), sort: cat.sort, stages });
  }
  return { pipelines };
}

function fieldOf(row: UserFieldRow, lang: Lang, ref: FieldDef | undefined, warnings: string[]): FieldDef | undefined {
  const t = tr().export;
  if (!/^UF_CRM_[A-Z0-9_]+$/.test(row.fieldName) || row.fieldName.length > MAX_FIELD_NAME) {
    warnings.push(t.badFieldName(row.entity, row.fieldName, MAX_FIELD_NAME));
    return undefined;
  }
  if (!(FIELD_TYPES as readonly string[]).includes(row.userTypeId)) {
    warnings.push(t.badFieldType(row.entity, row.fieldName, row.userTypeId));
    return undefined;
  }
  const labels = row.labels.editForm;
  const label = { ru: labels.ru || labels.en || row.fieldName, en: labels.en || labels.ru || row.fieldName };
  const sameRef = ref && ref.type === row.userTypeId ? ref : undefined;
  const field: FieldDef = {
    code: row.fieldName,
    ...(sameRef?.tier ? { tier: sameRef.tier } : {}),
    entities: [row.entity],
    type: row.userTypeId as FieldDef['type'],
    label,
    multiple: row.multiple,
    multiline: row.userTypeId === 'string' && Number(row.settings.ROWS ?? 1) > 1,
    ...(row.sort !== 100 ? { sort: row.sort } : {}),
    ...(sameRef?.validate ? { validate: sameRef.validate } : {}),
  };
  if (row.userTypeId === 'enumeration') {
    if (!row.list.length) {
      warnings.push(t.noItems(row.entity, row.fieldName));
      return undefined;
    }
    const xmlIds = new Set<string>();
    field.items = [...row.list].sort((a, b) => a.sort - b.sort || a.id - b.id).map((item) => {
      const valid = /^[a-z0-9_]+$/.test(item.xmlId) ? item.xmlId : /^[a-z0-9_]+$/i.test(item.xmlId) ? item.xmlId.toLowerCase() : '';
      const xmlId = valid && !xmlIds.has(valid) ? valid : stageCodeFromName(item.value, new Set([...xmlIds].map((x) => x.toUpperCase())), '', 40).toLowerCase();
      xmlIds.add(xmlId);
      const refItem = sameRef?.items?.find((i) => i.xmlId === xmlId);
      return { xmlId, value: labelOf(item.value, lang, refItem?.value) };
    });
  }
  return field;
}

/** One definition per field code: the same field on several entities is one entry (when it is the same there). */
function exportFields(snapshot: PortalSnapshot, options: ExportOptions, warnings: string[]): FieldDef[] {
  const out: FieldDef[] = [];
  for (const entity of CRM_ENTITIES) {
    for (const row of snapshot.fields[entity]) {
      const ref = options.reference.fields.find((f) => f.code === row.fieldName);
      const field = fieldOf(row, options.lang, ref, warnings);
      if (!field) continue;
      const existing = out.find((f) => f.code === field.code);
      if (!existing) {
        out.push(field);
        continue;
      }
      const { entities: _a, ...a } = existing;
      const { entities: _b, ...b } = field;
      if (JSON.stringify(a) === JSON.stringify(b)) existing.entities.push(entity);
      else warnings.push(tr().export.fieldDiffers(field.code, existing.entities.join(', '), entity));
    }
  }
  return out;
}

function sectionName(name: string, used: Set<string>): string {
  const base = name.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  let out = /^[a-z]/.test(base) ? base : `s_${base || 'section'}`;
  for (let n = 2; used.has(out); n++) out = `${base}_${n}`;
  used.add(out);
  return out;
}

/**
 * Cards: a section of the product's own (as_*) or holding only exported fields becomes a template section (the
 * installer manages it); the others — the portal's standard sections — become the entity's base sections, written
 * only to a card that was never set up.
 */
function exportCards(snapshot: PortalSnapshot, options: ExportOptions, fields: FieldDef[], pipelines: (PipelineDef & { id: number })[], warnings: string[]) {
  const { reference: ref, lang } = options;
  const baseSections: Partial<Record<CrmEntity, CardSectionDef[]>> = {};
  const cards: CardDef[] = [];
  const targets: { entity: CrmEntity; pipeline?: PipelineDef & { id: number } }[] = [
    ...(['lead', 'contact', 'company'] as const).map((entity) => ({ entity })),
    ...pipelines.map((pipeline) => ({ entity: 'deal' as const, pipeline })),
  ];
  for (const { entity, pipeline } of targets) {
    const sections: CardSection[] | null | undefined = snapshot.cards[cardKey(entity, pipeline?.id)];
    if (!sections) continue;
    const ours = new Set(fields.filter((f) => f.entities.includes(entity)).map((f) => f.code));
    const refCard = ref.cards.find((c) => c.entity === entity && c.pipeline === pipeline?.code);
    const managed: CardSectionDef[] = [];
    const base: CardSectionDef[] = [];
    const used = new Set<string>();
    for (const s of sections) {
      const names = s.elements.map((e) => e.name);
      const isOurs = s.name.startsWith(SECTION_PREFIX) || (names.length > 0 && names.every((n) => ours.has(n)));
      if (isOurs) {
        const kept = names.filter((n) => ours.has(n));
        if (kept.length < names.length) warnings.push(tr().export.sectionFieldsDropped(s.title, names.filter((n) => !ours.has(n)).join(', ')));
        if (!kept.length) continue;
        const name = s.name.startsWith(SECTION_PREFIX) ? s.name : sectionName(`${SECTION_PREFIX}${s.name}`, used);
        const refSection = refCard?.sections.find((x) => x.name === name);
        managed.push({ name, title: labelOf(s.title, lang, refSection?.title), fields: kept });
      } else if (names.length) {
        const name = /^[a-z][a-z0-9_]*$/.test(s.name) ? s.name : sectionName(s.name, used);
        const refSection = ref.baseSections[entity]?.find((x) => x.name === name);
        base.push({ name, title: labelOf(s.title, lang, refSection?.title), fields: names });
      }
    }
    if (base.length) {
      if (!baseSections[entity]) baseSections[entity] = base;
      else if (JSON.stringify(baseSections[entity]) !== JSON.stringify(base)) warnings.push(tr().export.baseDiffers(entity, pipeline?.code ?? ''));
    }
    if (managed.length) {
      // A card of the template needs its entity's base sections (for a portal that never set the card up).
      if (!baseSections[entity]) baseSections[entity] = ref.baseSections[entity] ?? [];
      cards.push({ entity, ...(pipeline ? { pipeline: pipeline.code } : {}), tier: refCard?.tier ?? pipeline?.tier ?? ref.tiers[0], sections: managed });
    }
  }
  // In the reference's order where it has the card (the order carries no meaning, but a round trip keeps it).
  const rank = (c: CardDef) => {
    const i = ref.cards.findIndex((r) => r.entity === c.entity && r.pipeline === c.pipeline);
    return i < 0 ? ref.cards.length : i;
  };
  cards.sort((a, b) => rank(a) - rank(b));
  // shownIn (which pipelines' cards show a deal field) must agree with the deal cards: recomputed from them.
  const dealCards = cards.filter((c) => c.entity === 'deal');
  for (const f of fields) {
    const refField = ref.fields.find((r) => r.code === f.code);
    if (!refField?.shownIn || !f.entities.includes('deal')) continue;
    const shown = dealCards.filter((c) => c.sections.some((s) => s.fields.includes(f.code))).map((c) => c.pipeline!);
    if (shown.length) f.shownIn = shown.length === pipelines.length && refField.shownIn.includes('all') ? ['all'] : shown;
  }
  return { baseSections, cards };
}

/**
 * The reference's rules for the pipelines the portal has: a deal rule keeps the pipelines that are there (and is left
 * out when none is), a conversion maps only to pipelines that are there. What else a rule refers to is checked when
 * the template is loaded (writeExport).
 */
function rulesFor(ref: Template, pipelines: Set<string>, warnings: string[]): RuleDef[] {
  return ref.rules.flatMap((rule): RuleDef[] => {
    const kept = rule.pipelines?.filter((p) => pipelines.has(p));
    if (kept && !kept.length) {
      warnings.push(tr().export.ruleLeftOut(rule.id, tr().export.pipelinesMissing(rule.pipelines!.join(', '))));
      return [];
    }
    const actions = rule.do.map((a) => ('convert' in a
      ? { convert: { ...a.convert, pipelines: Object.fromEntries(Object.entries(a.convert.pipelines).filter(([, p]) => pipelines.has(p))) } }
      : a));
    return [{ ...rule, ...(kept ? { pipelines: kept } : {}), do: actions }];
  });
}

/** Reads the portal (one request) and makes the template's files, before the reference's rules are checked. */
export async function exportPortal(client: PortalClient, options: ExportOptions): Promise<ExportResult> {
  const start = client.httpRequests;
  const snapshot = await readSnapshot(client, { core: true });
  // The cards are read by pipeline id: a second request, once the first has told the ids.
  const categories = snapshot.categories.filter((c) => !c.isDefault && c.id !== 0);
  await readMore(client, snapshot, { cards: [cardKey('lead'), cardKey('contact'), cardKey('company'), ...categories.map((c) => cardKey('deal', c.id))] });
  const warnings: string[] = [];
  const { reference: ref, lang } = options;

  const leadRows = snapshot.statuses.filter((r) => r.entityId === LEAD_STATUS_ENTITY);
  const statuses = stagesOf(leadRows, '', lang, ref.leads.statuses, tr().plan.groupLeads, warnings);
  const present = new Set(leadRows.map((r) => r.statusId));
  const leads = { tier: ref.leads.tier, statuses, remove: DEFAULT_LEAD_STATUSES.filter((c) => !present.has(c)) };
  const { pipelines } = exportPipelines(snapshot, options, warnings);
  const fields = exportFields(snapshot, options, warnings);
  const { baseSections, cards } = exportCards(snapshot, options, fields, pipelines, warnings);

  const yaml = (comment: string, data: unknown) => `# ${comment}\n${stringify(data, { lineWidth: 0 })}`;
  const header = tr().export.fileHeader(client.origin);
  const files: Record<string, string> = {
    'template.yaml': yaml(header, { ...ref.manifest }),
    'leads.yaml': yaml(header, leads),
    'fields.yaml': yaml(header, { fields }),
    'cards.yaml': yaml(header, { baseSections, cards }),
    'automation.yaml': yaml(header, { rules: rulesFor(ref, new Set(pipelines.map((p) => p.code)), warnings) }),
    'app.yaml': yaml(header, ref.app),
  };
  for (const { id: _id, ...p } of pipelines) files[`pipelines/${p.code}.yaml`] = yaml(header, p);
  return { files, warnings, httpRequests: client.httpRequests - start };
}

function writeFiles(dir: string, files: Record<string, string>): void {
  mkdirSync(join(dir, 'pipelines'), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/**
 * Writes the export to `dir` and loads it as a template: rules and business processes of the reference that refer to
 * something the portal does not have are left out (each listed), until the template validates. Other problems are a
 * TemplateError naming them.
 */
export function writeExport(dir: string, result: ExportResult): Template {
  const issuesIn = (error: unknown, file: string): TemplateIssue[] =>
    error instanceof TemplateError ? error.issues.filter((i) => i.file === file) : [];
  for (let attempt = 0; attempt < 20; attempt++) {
    writeFiles(dir, result.files);
    try {
      return loadTemplate(dir);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      const ruleIssues = issuesIn(error, 'automation.yaml');
      const appIssues = issuesIn(error, 'app.yaml');
      if (!ruleIssues.length && !appIssues.length) throw error;
      const automation = parseYaml(result.files['automation.yaml']) as { rules: { id: string }[] };
      const bad = new Set(ruleIssues.map((i) => i.path[1]).filter((i): i is number => typeof i === 'number'));
      for (const i of bad) result.warnings.push(tr().export.ruleLeftOut(automation.rules[i].id, ruleIssues.find((x) => x.path[1] === i)!.message));
      automation.rules = automation.rules.filter((_, i) => !bad.has(i));
      result.files['automation.yaml'] = `# ${tr().export.fileHeader('')}\n${stringify(automation, { lineWidth: 0 })}`;
      if (appIssues.length) {
        result.warnings.push(tr().export.appLeftOut(appIssues.map((i) => i.message).join('; ')));
        const app = parseYaml(result.files['app.yaml']) as Record<string, unknown>;
        result.files['app.yaml'] = `# ${tr().export.fileHeader('')}\n${stringify({ ...app, robots: [], triggers: [], events: [], businessProcesses: [] }, { lineWidth: 0 })}`;
      }
    }
  }
  return loadTemplate(dir);
}

/** The files are this module's own output: the yaml library reads them back. */
function parseYaml(text: string): unknown {
  return parseDocument(text).toJS();
}
