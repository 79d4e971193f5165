// The shape of each template file. Cross-file rules (references, duplicates, tiers) live in validate.ts.
import { z } from 'zod';

import { CRM_ENTITIES, FIELD_TYPES } from './constants.js';

export { CRM_ENTITIES, FIELD_TYPES, LANGUAGES, type CrmEntity, type Lang } from './constants.js';

export const label = z.strictObject({
  ru: z.string().trim().min(1, 'the Russian label is empty'),
  en: z.string().trim().min(1, 'the English label is empty'),
});
export type Label = z.infer<typeof label>;

export const semantics = z.enum(['process', 'success', 'failure']);
export type Semantics = z.infer<typeof semantics>;

const color = z.string().regex(/^#[0-9A-Fa-f]{6}$/, 'a colour must look like #RRGGBB');
// A tier is declared in template.yaml; references are checked against that list.
const tierRef = z.string().min(1);
const duration = z
  .string()
  .regex(/^\d+(m|h|d)$/, 'a duration looks like 30m, 2h or 1d');

// ---- template.yaml -------------------------------------------------------------------------
export const manifestFile = z.strictObject({
  code: z.string().regex(/^[a-z][a-z0-9_]*$/, 'the template code is lower-case latin, digits and _'),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'the version is semantic (1.2.3)'),
  name: label,
  description: label.optional(),
  // Ordered: each tier includes everything of the tiers before it.
  tiers: z
    .array(z.strictObject({ code: z.string().regex(/^[a-z][a-z0-9_]*$/), name: label }))
    .min(1, 'at least one tier is needed'),
  plans: z.strictObject({
    // Plan codes as app.info reports them (LICENSE_TYPE or LICENSE_FAMILY); a trailing * matches a prefix.
    tiers: z.record(z.string(), z.array(z.string().regex(/^[a-z0-9_]+\*?$/, 'a plan code is lower-case latin, digits, _ and an optional trailing *'))),
    unknown: tierRef,
  }),
  roles: z.record(
    z.string().regex(/^[a-z][a-z0-9_]*$/, 'a role name is lower-case latin, digits and _'),
    z.discriminatedUnion('source', [
      z.strictObject({ source: z.literal('responsible'), name: label }),
      z.strictObject({ source: z.literal('department_head'), name: label, fallbackSetting: z.string().min(1) }),
      z.strictObject({ source: z.literal('field'), name: label, field: z.string().min(1) }),
      z.strictObject({ source: z.literal('setting'), name: label, setting: z.string().min(1) }),
    ]),
  ),
});
export type ManifestFile = z.infer<typeof manifestFile>;

// ---- leads.yaml and pipelines/*.yaml --------------------------------------------------------
export const stage = z.strictObject({
  code: z.string().min(1),
  name: label,
  semantics,
  color,
});
export type StageDef = z.infer<typeof stage>;

export const leadsFile = z.strictObject({
  tier: tierRef,
  statuses: z.array(stage).min(1, 'at least one lead status is needed'),
  // Default statuses the template replaces: removed only where no lead uses them.
  remove: z.array(z.string().min(1)).default([]),
});
export type LeadsFile = z.infer<typeof leadsFile>;

export const pipelineFile = z.strictObject({
  code: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a pipeline code is lower-case latin, digits and _'),
  tier: tierRef,
  name: label,
  sort: z.number().int().nonnegative(),
  stages: z.array(stage).min(3, 'a pipeline needs process, success and failure stages'),
});
export type PipelineFile = z.infer<typeof pipelineFile>;

// ---- fields.yaml ----------------------------------------------------------------------------
export const crmEntity = z.enum(CRM_ENTITIES);

export const fieldDef = z.strictObject({
  code: z.string().min(1),
  tier: tierRef.optional(),
  entities: z.array(crmEntity).min(1, 'a field belongs to at least one entity'),
  type: z.enum(FIELD_TYPES),
  label,
  multiple: z.boolean().default(false),
  multiline: z.boolean().default(false),
  sort: z.number().int().positive().optional(),
  items: z
    .array(z.strictObject({ xmlId: z.string().regex(/^[a-z0-9_]+$/, 'an XML_ID is lower-case latin, digits and _'), value: label }))
    .optional(),
  // Pipelines whose deal card shows this field; "all" for every pipeline.
  shownIn: z.array(z.string().min(1)).optional(),
  validate: z.strictObject({ pattern: z.string().min(1), message: label }).optional(),
});
export type FieldDef = z.infer<typeof fieldDef>;

// An export of a portal without custom fields has none.
export const fieldsFile = z.strictObject({ fields: z.array(fieldDef) });

// ---- cards.yaml -----------------------------------------------------------------------------
export const cardSection = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a section name is lower-case latin, digits and _'),
  title: label,
  fields: z.array(z.string().min(1)).min(1, 'a section holds at least one field'),
});
export type CardSectionDef = z.infer<typeof cardSection>;

export const cardDef = z.strictObject({
  entity: crmEntity,
  pipeline: z.string().optional(),
  tier: tierRef,
  sections: z.array(cardSection).min(1),
});
export type CardDef = z.infer<typeof cardDef>;

export const cardsFile = z.strictObject({
  // Used only when the portal has never saved a common card: set() replaces the whole card,
  // so the standard fields must be sent along with the template's sections.
  baseSections: z.record(crmEntity, z.array(cardSection)),
  // A template may leave every card as the portal has it (an export of a portal whose cards were never set up).
  cards: z.array(cardDef),
});

// ---- automation.yaml ------------------------------------------------------------------------
const roleList = z.array(z.string().min(1)).min(1);

export const action = z.union([
  z.strictObject({ notify: z.strictObject({ to: roleList, message: label }) }),
  z.strictObject({
    createTask: z.strictObject({ title: label, description: label.optional(), to: z.string().min(1), deadline: duration }),
  }),
  z.strictObject({
    createTodo: z.strictObject({ title: label, description: label.optional(), to: z.string().min(1), deadline: duration }),
  }),
  z.strictObject({ requireFields: z.array(z.string().min(1)).min(1) }),
  // Warns the responsible user when a field's value does not match the field's `validate` pattern.
  z.strictObject({ checkFormat: z.array(z.string().min(1)).min(1) }),
  z.strictObject({ setStage: z.string().min(1) }),
  z.strictObject({
    convert: z.strictObject({
      // Field whose enumeration XML_ID chooses the deal pipeline; `default` when it is empty.
      pipelineField: z.string().min(1),
      pipelines: z.record(z.string(), z.string()),
      default: z.string().min(1),
    }),
  }),
  z.strictObject({
    refusal: z.strictObject({
      reasonField: z.string().min(1),
      recallField: z.string().min(1),
      hint: label,
    }),
  }),
]);
export type ActionDef = z.infer<typeof action>;

export const condition = z.union([
  z.strictObject({ stageIn: z.array(z.string().min(1)).min(1) }),
  z.strictObject({ semanticsNotIn: z.array(semantics).min(1) }),
  z.strictObject({ field: z.string().min(1), in: z.array(z.string()).min(1) }),
]);
export type ConditionDef = z.infer<typeof condition>;

export const trigger = z.union([
  z.strictObject({ on: z.literal('create'), after: duration.optional(), if: condition.optional() }),
  z.strictObject({
    on: z.literal('enterStage'),
    stages: z.array(z.string().min(1)).optional(),
    semantics: semantics.optional(),
    after: duration.optional(),
    if: condition.optional(),
  }),
  z.strictObject({ on: z.literal('change'), fields: z.array(z.string().min(1)).min(1) }),
]);
export type TriggerDef = z.infer<typeof trigger>;

export const rule = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_.]*$/, 'a rule id is lower-case latin, digits, _ and .'),
  tier: tierRef,
  entity: z.enum(['lead', 'deal']),
  // For deals: the pipelines (codes) the rule applies to.
  pipelines: z.array(z.string().min(1)).optional(),
  description: label,
  when: trigger,
  do: z.array(action).min(1, 'a rule does at least one thing'),
});
export type RuleDef = z.infer<typeof rule>;

export const automationFile = z.strictObject({ rules: z.array(rule) });

// ---- app.yaml: objects that need an installed application ----------------------------------
const robotProperty = z.strictObject({
  name: label,
  type: z.enum(['bool', 'date', 'datetime', 'double', 'int', 'select', 'string', 'text', 'user']),
  required: z.boolean().default(false),
});

export const appFile = z.strictObject({
  tier: tierRef,
  robots: z.array(
    z.strictObject({
      code: z.string().regex(/^[a-z0-9._-]+$/, 'a robot code is lower-case latin, digits, . _ -'),
      name: label,
      description: label,
      handlerPath: z.string().regex(/^\/[a-z0-9/_-]*$/, 'a handler path starts with / and is lower-case'),
      documentTypes: z.array(z.enum(['lead', 'deal'])).min(1),
      properties: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/i), robotProperty).default({}),
      returnProperties: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/i), robotProperty).default({}),
    }),
  ),
  triggers: z.array(
    z.strictObject({
      code: z.string().regex(/^[a-z0-9._-]+$/, 'a trigger code is lower-case latin, digits, . _ -'),
      name: label,
    }),
  ),
  // None when the template has no automation (an export of a portal): nothing then needs the service's events.
  events: z.array(z.string().regex(/^ON[A-Z]+$/, 'an event name is upper case, starting with ON')),
  businessProcesses: z.array(
    z.strictObject({
      code: z.string().regex(/^[a-z][a-z0-9_]*$/),
      name: label,
      description: label,
      documentType: z.enum(['lead', 'deal']),
      robot: z.string().min(1),
    }),
  ),
});
export type AppFile = z.infer<typeof appFile>;
