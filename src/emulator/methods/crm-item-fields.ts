// The fields of leads, deals, contacts and companies as the universal methods (crm.item.*) see them: the factories'
// getFieldsSettings (crm/lib/Service/Factory/{Lead,Deal,Contact,Company}.php) with their field maps onto the columns
// the legacy methods use, so both families read and write the same records.
// One field per line: NAME|column|type|flags|title|statusType — column empty: same as NAME. Flags: O read-only,
// R required, M multiple, I immutable, E cannot be emptied, D deprecated, X listed by crm.item.fields but never part
// of the item's data (relations).
import type { CrmEntity } from '../state.js';

export interface ItemFieldMeta {
  /** UPPER_CASE item field name (camelCase outside). */
  name: string;
  /** The record column holding the value (the legacy field name). */
  column: string;
  type: string;
  readOnly: boolean;
  required: boolean;
  multiple: boolean;
  immutable: boolean;
  cannotBeEmptied: boolean;
  deprecated: boolean;
  /** A relation: in crm.item.fields, not in the item. */
  relation: boolean;
  title: string;
  statusType?: string;
}

const COMMON_HEAD = `
  ID||integer|O|ID
`;

const AUDIT = `
  ASSIGNED_BY_ID||user|E|Responsible person
  CREATED_BY|CREATED_BY_ID|user|O|Created by
  UPDATED_BY|MODIFY_BY_ID|user|O|Modified by
`;

const TIMES = `
  CREATED_TIME|DATE_CREATE|datetime|O|Created on
  UPDATED_TIME|DATE_MODIFY|datetime|O|Modified on
`;

const LAST_ACTIVITY = `
  LAST_ACTIVITY_BY||user|O|Last activity by
  LAST_ACTIVITY_TIME||datetime|O|Last activity
`;

const MOVED = `
  MOVED_BY|MOVED_BY_ID|user|O|Moved by
  MOVED_TIME||datetime|O|Moved on
`;

const TAIL = `
  OBSERVERS|OBSERVER_IDS|user|M|Observers
  UTM_SOURCE||string||Ad system
  UTM_MEDIUM||string||Traffic type
  UTM_CAMPAIGN||string||Ad campaign UTM
  UTM_CONTENT||string||Campaign contents
  UTM_TERM||string||Campaign search term
`;

const FM = `
  FM|FM|crm_multifield|MX|Multifield
`;

const TABLES: Record<CrmEntity, string> = {
  lead: `${COMMON_HEAD}
  TITLE||string|E|Lead name
  HONORIFIC||crm_status||Salutation|HONORIFIC
  NAME||string||First name
  SECOND_NAME||string||Middle name
  LAST_NAME||string||Last name
  BIRTHDATE||date||Date of birth
  COMPANY_TITLE||string||Company name
  SOURCE_ID||crm_status||Source|SOURCE
  SOURCE_DESCRIPTION||text||Source information
  STAGE_ID|STATUS_ID|crm_status||Stage|STATUS
  STATUS_DESCRIPTION||text||Stage information
  STAGE_SEMANTIC_ID|STATUS_SEMANTIC_ID|string|O|Stage group
  POST||string||Position
  CURRENCY_ID||crm_currency|E|Currency
  IS_MANUAL_OPPORTUNITY||boolean||Amount calculation mode
  OPPORTUNITY||double||Amount
  OPENED||boolean|R|Available to everyone
  COMMENTS||text||Comment
  HAS_PHONE||boolean|O|Has phone
  HAS_EMAIL||boolean|O|Has email
  HAS_IMOL||boolean|O|Has Open Channel
  ${AUDIT}${MOVED}${LAST_ACTIVITY}${TIMES}
  COMPANY_ID||crm_company||Company
  CONTACT_ID||crm_contact|D|Contact
  CONTACT_IDS||crm_contact|M|CONTACT_IDS
  CONTACTS||crm_contact|MX|CONTACTS
  IS_RETURN_CUSTOMER||boolean|O|Repeat lead
  DATE_CLOSED||datetime|O|Closed on
  ORIGINATOR_ID||string||External source
  ORIGIN_ID||string||Item ID in data source
  WEBFORM_ID||integer||Created by CRM form
  ${FM}${TAIL}`,
  deal: `${COMMON_HEAD}
  TITLE||string|E|Deal name
  TYPE_ID||crm_status||Type|DEAL_TYPE
  CATEGORY_ID||crm_category||Pipeline
  STAGE_ID||crm_status||Stage|DEAL_STAGE
  PREVIOUS_STAGE_ID||crm_status|OX|Previous stage|DEAL_STAGE
  STAGE_SEMANTIC_ID||string|O|Stage group
  IS_NEW||boolean|O|New deal
  IS_RECURRING||boolean||Recurring deal
  IS_RETURN_CUSTOMER||boolean|O|Repeat deal
  IS_REPEATED_APPROACH||boolean|O|Repeat inquiry
  PROBABILITY||integer||Probability
  CURRENCY_ID||crm_currency|E|Currency
  IS_MANUAL_OPPORTUNITY||boolean||Amount calculation mode
  OPPORTUNITY||double||Amount
  TAX_VALUE||double||Tax rate
  COMPANY_ID||crm_company||Company
  CONTACT_ID||crm_contact|D|Contact
  CONTACT_IDS||crm_contact|M|CONTACT_IDS
  CONTACTS||crm_contact|MX|CONTACTS
  QUOTE_ID||crm_quote||Quote
  BEGINDATE||date|E|Start date
  CLOSEDATE||date|E|End date
  OPENED||boolean|R|Available to everyone
  CLOSED||boolean|O|Closed
  COMMENTS||text||Comment
  ${AUDIT}${MOVED}${LAST_ACTIVITY}${TIMES}
  SOURCE_ID||crm_status||Source|SOURCE
  SOURCE_DESCRIPTION||text||Source information
  LEAD_ID||crm_lead||Lead
  ADDITIONAL_INFO||string||Additional information
  ORIGINATOR_ID||string||External source
  ORIGIN_ID||string||Item ID in data source
  LOCATION_ID||location||Location
  ${TAIL}`,
  contact: `${COMMON_HEAD}
  HONORIFIC||crm_status||Salutation|HONORIFIC
  NAME||string||First name
  SECOND_NAME||string||Middle name
  LAST_NAME||string||Last name
  PHOTO||file||Photo
  BIRTHDATE||date||Date of birth
  TYPE_ID||crm_status||Contact type|CONTACT_TYPE
  SOURCE_ID||crm_status||Source|SOURCE
  SOURCE_DESCRIPTION||text||Source information
  POST||string||Position
  COMMENTS||text||Comment
  OPENED||boolean|R|Available to everyone
  EXPORT||boolean||Included in export
  HAS_PHONE||boolean|O|Has phone
  HAS_EMAIL||boolean|O|Has email
  HAS_IMOL||boolean|O|Has Open Channel
  ${AUDIT}${LAST_ACTIVITY}${TIMES}
  COMPANY_ID||crm_company|D|Company
  COMPANY_IDS||crm_company|M|COMPANY_IDS
  COMPANIES||crm_company|MX|COMPANIES
  LEAD_ID||crm_lead||Lead
  ORIGINATOR_ID||string||External source
  ORIGIN_ID||string||Item ID in data source
  ORIGIN_VERSION||string||Original version
  CATEGORY_ID||crm_category||Category
  ${FM}${TAIL}`,
  company: `${COMMON_HEAD}
  TITLE||string|E|Company name
  TYPE_ID|COMPANY_TYPE|crm_status||Company type|COMPANY_TYPE
  CATEGORY_ID||crm_category||Category
  LOGO||file||Logo
  BANKING_DETAILS||string|D|Payment details
  INDUSTRY||crm_status||Industry|INDUSTRY
  EMPLOYEES||crm_status||Employees|EMPLOYEES
  CURRENCY_ID||crm_currency|E|Currency
  REVENUE||double||Annual revenue
  OPENED||boolean|R|Available to everyone
  COMMENTS||text||Comment
  HAS_PHONE||boolean|O|Has phone
  HAS_EMAIL||boolean|O|Has email
  HAS_IMOL||boolean|O|Has Open Channel
  IS_MY_COMPANY||boolean|I|My company
  ${AUDIT}${LAST_ACTIVITY}${TIMES}
  CONTACT_IDS|CONTACT_ID|crm_contact|M|CONTACT_IDS
  CONTACTS||crm_contact|MX|CONTACTS
  LEAD_ID||crm_lead||Lead
  ORIGINATOR_ID||string||External source
  ORIGIN_ID||string||Item ID in data source
  ORIGIN_VERSION||string||Original version
  ${FM}${TAIL}`,
};

function parse(table: string): ItemFieldMeta[] {
  return table
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name, column, type, flags, title, statusType] = line.split('|');
      return {
        name,
        column: column || name,
        type,
        readOnly: flags.includes('O'),
        required: flags.includes('R'),
        multiple: flags.includes('M'),
        immutable: flags.includes('I'),
        cannotBeEmptied: flags.includes('E'),
        deprecated: flags.includes('D'),
        relation: flags.includes('X'),
        title,
        ...(statusType ? { statusType } : {}),
      };
    });
}

export const ITEM_FIELDS: Record<CrmEntity, ItemFieldMeta[]> = {
  lead: parse(TABLES.lead),
  deal: parse(TABLES.deal),
  contact: parse(TABLES.contact),
  company: parse(TABLES.company),
};

/**
 * Fields the item carries but the portal keeps empty ("Field is disabled" or not emulated): always null in the
 * answer, as in the docs' examples (object-fields.md).
 */
export const ALWAYS_NULL: Record<CrmEntity, string[]> = {
  lead: ['dateCreateShort', 'dateModifyShort', 'isConvert', 'productId', 'shortName', 'address', 'login', 'searchContent', 'skype', 'icq'],
  deal: [
    'dateCreateShort', 'dateModifyShort', 'productId', 'begindateShort', 'closedateShort', 'eventDate', 'eventDateShort', 'eventId',
    'eventDescription', 'searchContent', 'orderStage', 'isWork', 'isWon', 'isLose', 'receivedAmount', 'lostAmount', 'hasProducts',
  ],
  contact: ['shortName', 'address', 'login', 'searchContent'],
  company: ['address', 'addressLegal', 'searchContent'],
};

/** The flat multifield aliases crm.item.get adds (Item controller getMultiFields): [name, type, value type or '' for any]. */
export const MULTIFIELD_ALIASES: [string, string, string][] = [
  ['email', 'EMAIL', ''],
  ['emailHome', 'EMAIL', 'HOME'],
  ['emailWork', 'EMAIL', 'WORK'],
  ['emailMailing', 'EMAIL', 'MAILING'],
  ['phone', 'PHONE', ''],
  ['phoneMobile', 'PHONE', 'MOBILE'],
  ['phoneWork', 'PHONE', 'WORK'],
  ['phoneMailing', 'PHONE', 'MAILING'],
  ['imol', 'IM', 'IMOL'],
];

/** Types with multifields (factory isMultiFieldsEnabled). */
export const HAS_MULTIFIELDS: Record<CrmEntity, boolean> = { lead: true, deal: false, contact: true, company: true };

export const MULTIFIELD_TITLES: Record<string, string> = { PHONE: 'Phone', EMAIL: 'E-mail', WEB: 'Website', IM: 'Messenger', LINK: 'LINK' };
