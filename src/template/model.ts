import type {
  AppFile, CardDef, CardSectionDef, CrmEntity, FieldDef, Label, ManifestFile, RuleDef, StageDef,
} from './schema.js';

export type { AppFile, CardDef, CardSectionDef, CrmEntity, FieldDef, Label, RuleDef, StageDef };
export type { ActionDef, ConditionDef, Lang, Semantics, TriggerDef } from './schema.js';

export interface PipelineDef {
  code: string;
  tier: string;
  name: Label;
  sort: number;
  stages: StageDef[];
}

export interface LeadStatusesDef {
  tier: string;
  statuses: StageDef[];
  remove: string[];
}

/** A loaded, validated template: the desired state of a portal. */
export interface Template {
  code: string;
  version: string;
  name: Label;
  /** Tier codes in order; each includes the ones before it. */
  tiers: string[];
  manifest: ManifestFile;
  leads: LeadStatusesDef;
  pipelines: PipelineDef[];
  fields: FieldDef[];
  baseSections: Partial<Record<CrmEntity, CardSectionDef[]>>;
  cards: CardDef[];
  rules: RuleDef[];
  app: AppFile;
}

/** The stages Bitrix24 gives every new deal pipeline (CCrmStatus::GetDefaultDealStages). */
export const PORTAL_DEFAULT_DEAL_STAGES = ['NEW', 'PREPARATION', 'PREPAYMENT_INVOICE', 'EXECUTING', 'FINAL_INVOICE', 'WON', 'LOSE', 'APOLOGY'] as const;
/** The portal cuts the full STATUS_ID of a new pipeline's default stages to this length (C10:PREPAYMENT_INVOIC). */
export const DEFAULT_STAGE_ID_LENGTH = 21;

/** The pseudo-pipeline code of the lead statuses (add-stage --pipeline leads). */
export const LEADS_PIPELINE = 'leads';

/** Standard CRM fields that rules may read; template fields come on top. */
export const STANDARD_FIELDS: Record<CrmEntity, readonly string[]> = {
  lead: ['ID', 'TITLE', 'NAME', 'SECOND_NAME', 'LAST_NAME', 'COMPANY_TITLE', 'SOURCE_ID', 'STATUS_ID',
    'ASSIGNED_BY_ID', 'PHONE', 'EMAIL', 'OPPORTUNITY', 'CURRENCY_ID', 'COMMENTS', 'DATE_CREATE'],
  deal: ['ID', 'TITLE', 'STAGE_ID', 'CATEGORY_ID', 'ASSIGNED_BY_ID', 'CONTACT_ID', 'COMPANY_ID', 'LEAD_ID',
    'OPPORTUNITY', 'CURRENCY_ID', 'COMMENTS', 'CLOSEDATE', 'DATE_CREATE'],
  contact: ['ID', 'NAME', 'LAST_NAME', 'PHONE', 'EMAIL', 'COMPANY_ID', 'ASSIGNED_BY_ID'],
  company: ['ID', 'TITLE', 'PHONE', 'EMAIL', 'ASSIGNED_BY_ID'],
};

export function fieldsOf(template: Pick<Template, 'fields'>, entity: CrmEntity): FieldDef[] {
  return template.fields.filter((f) => f.entities.includes(entity));
}
