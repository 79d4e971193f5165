// The standard fields of leads, deals, contacts and companies as crm.*.fields lists them (taken from the response
// examples of api-reference/crm/{leads,deals,contacts,companies}/crm-*-fields.md).
// One field per line: NAME|type|flags|title|statusType — flags: R required, O read-only, I immutable, M multiple.
import type { CrmEntity } from '../state.js';

export interface FieldMeta { name: string; type: string; required: boolean; readOnly: boolean; immutable: boolean; multiple: boolean; title: string; statusType?: string }

const TABLES: Record<CrmEntity, string> = {
  lead: `
  ID|integer|O|ID
  TITLE|string||Lead Title
  HONORIFIC|crm_status||Salutation|HONORIFIC
  NAME|string||First Name
  SECOND_NAME|string||Middle Name
  LAST_NAME|string||Last Name
  BIRTHDATE|date||Birthdate
  COMPANY_TITLE|string||Company Name
  SOURCE_ID|crm_status||Source|SOURCE
  SOURCE_DESCRIPTION|string||Source Description
  STATUS_ID|crm_status||Stage|STATUS
  STATUS_DESCRIPTION|string||Stage Description
  STATUS_SEMANTIC_ID|string|O|Status Semantic
  POST|string||Position
  ADDRESS|string||Address
  ADDRESS_2|string||Address (Line 2)
  ADDRESS_CITY|string||City
  ADDRESS_POSTAL_CODE|string||Postal Code
  ADDRESS_REGION|string||Region
  ADDRESS_PROVINCE|string||Province
  ADDRESS_COUNTRY|string||Country
  ADDRESS_COUNTRY_CODE|string||Country Code
  ADDRESS_LOC_ADDR_ID|integer||Location Address ID
  CURRENCY_ID|crm_currency||Currency
  OPPORTUNITY|double||Amount
  IS_MANUAL_OPPORTUNITY|char||IS_MANUAL_OPPORTUNITY
  OPENED|char||Available to All
  COMMENTS|string||Comments
  HAS_PHONE|char|O|Phone Provided
  HAS_EMAIL|char|O|Email Provided
  HAS_IMOL|char|O|Open Line Assigned
  ASSIGNED_BY_ID|user||Responsible User
  CREATED_BY_ID|user|O|Created By
  MODIFY_BY_ID|user|O|Modified By
  MOVED_BY_ID|user|O|MOVED_BY_ID
  DATE_CREATE|datetime|O|Creation Date
  DATE_MODIFY|datetime|O|Modification Date
  MOVED_TIME|datetime|O|MOVED_TIME
  COMPANY_ID|crm_company||Company
  CONTACT_ID|crm_contact||Contact
  CONTACT_IDS|crm_contact|M|CONTACT_IDS
  IS_RETURN_CUSTOMER|char|O|Returning Lead
  DATE_CLOSED|datetime|O|Closing Date
  ORIGINATOR_ID|string||External Source
  ORIGIN_ID|string||Identifier in External Source
  UTM_SOURCE|string||Advertising System
  UTM_MEDIUM|string||Traffic Type
  UTM_CAMPAIGN|string||Campaign Identifier
  UTM_CONTENT|string||Campaign Content
  UTM_TERM|string||Campaign Search Term
  LAST_ACTIVITY_TIME|datetime|O|LAST_ACTIVITY_TIME
  LAST_ACTIVITY_BY|user|O|LAST_ACTIVITY_BY
  PHONE|crm_multifield|M|Phone
  EMAIL|crm_multifield|M|E-mail
  WEB|crm_multifield|M|Website
  IM|crm_multifield|M|Messenger
  LINK|crm_multifield|M|LINK
  `,
  deal: `
  ID|integer|O|ID
  TITLE|string||Title
  TYPE_ID|crm_status||Type|DEAL_TYPE
  CATEGORY_ID|crm_category|I|Sales Funnel
  STAGE_ID|crm_status||Deal Stage|DEAL_STAGE
  STAGE_SEMANTIC_ID|string|O|Stage Group
  IS_NEW|char|O|New Deal
  IS_RECURRING|char||Recurring Deal
  IS_RETURN_CUSTOMER|char||Repeat Deal
  IS_REPEATED_APPROACH|char||Repeated Approach
  PROBABILITY|integer||Probability
  CURRENCY_ID|crm_currency||Currency
  OPPORTUNITY|double||Amount
  IS_MANUAL_OPPORTUNITY|char||IS_MANUAL_OPPORTUNITY
  TAX_VALUE|double||Tax Rate
  COMPANY_ID|crm_company||Company
  CONTACT_ID|crm_contact||Contact
  CONTACT_IDS|crm_contact|M|Contacts
  QUOTE_ID|crm_quote|O|Estimate
  BEGINDATE|date||Start Date
  CLOSEDATE|date||Close Date
  OPENED|char||Available to All
  CLOSED|char||Closed
  COMMENTS|string||Comment
  ASSIGNED_BY_ID|user||Responsible
  CREATED_BY_ID|user|O|Created By
  MODIFY_BY_ID|user|O|Modified By
  MOVED_BY_ID|user|O|MOVED_BY_ID
  DATE_CREATE|datetime|O|Creation Date
  DATE_MODIFY|datetime|O|Modification Date
  MOVED_TIME|datetime|O|MOVED_TIME
  SOURCE_ID|crm_status||Source|SOURCE
  SOURCE_DESCRIPTION|string||Additional Info about Source
  LEAD_ID|crm_lead|O|Lead
  ADDITIONAL_INFO|string||Additional Information
  LOCATION_ID|location||Location
  ORIGINATOR_ID|string||External Source
  ORIGIN_ID|string||Identifier in External Source
  UTM_SOURCE|string||Advertising System
  UTM_MEDIUM|string||Traffic Type
  UTM_CAMPAIGN|string||Campaign Identifier
  UTM_CONTENT|string||Campaign Content
  UTM_TERM|string||Campaign Search Condition
  LAST_ACTIVITY_TIME|datetime|O|LAST_ACTIVITY_TIME
  LAST_ACTIVITY_BY|user|O|LAST_ACTIVITY_BY
  `,
  contact: `
  ID|integer|O|ID
  HONORIFIC|crm_status||Salutation|HONORIFIC
  NAME|string|R|First Name
  SECOND_NAME|string|R|Middle Name
  LAST_NAME|string|R|Last Name
  PHOTO|file||Photo
  BIRTHDATE|date||Birthdate
  TYPE_ID|crm_status||Contact Type|CONTACT_TYPE
  SOURCE_ID|crm_status||Source|SOURCE
  SOURCE_DESCRIPTION|string||Additional Source Information
  POST|string||Position
  ADDRESS|string||Address
  ADDRESS_2|string||Address (Line 2)
  ADDRESS_CITY|string||City
  ADDRESS_POSTAL_CODE|string||Postal Code
  ADDRESS_REGION|string||Region
  ADDRESS_PROVINCE|string||Province
  ADDRESS_COUNTRY|string||Country
  ADDRESS_COUNTRY_CODE|string||Country Code
  ADDRESS_LOC_ADDR_ID|integer||Location Address ID
  COMMENTS|string||Comment
  OPENED|char||Available to All
  EXPORT|char||Participates in Contact Export
  HAS_PHONE|char|O|Phone Set
  HAS_EMAIL|char|O|E-mail Set
  HAS_IMOL|char|O|Open Line Set
  ASSIGNED_BY_ID|user||Responsible Person
  CREATED_BY_ID|user|O|Created By
  MODIFY_BY_ID|user|O|Modified By
  DATE_CREATE|datetime|O|Creation Date
  DATE_MODIFY|datetime|O|Modification Date
  COMPANY_ID|crm_company||Company
  COMPANY_IDS|crm_company|M|COMPANY_IDS
  LEAD_ID|crm_lead|O|Lead
  ORIGINATOR_ID|string||External Source
  ORIGIN_ID|string||Identifier in External Source
  ORIGIN_VERSION|string||Original Version
  UTM_SOURCE|string||Advertising System
  UTM_MEDIUM|string||Traffic Type
  UTM_CAMPAIGN|string||Campaign Identifier
  UTM_CONTENT|string||Campaign Content
  UTM_TERM|string||Campaign Search Condition
  LAST_ACTIVITY_TIME|datetime|O|Last Activity
  LAST_ACTIVITY_BY|user|O|Last Activity By
  PHONE|crm_multifield|M|Phone
  EMAIL|crm_multifield|M|E-mail
  WEB|crm_multifield|M|Website
  IM|crm_multifield|M|Messenger
  LINK|crm_multifield|M|LINK
  `,
  company: `
  ID|integer|O|ID
  TITLE|string|R|Company Name
  COMPANY_TYPE|crm_status||Company Type|COMPANY_TYPE
  LOGO|file||Logo
  ADDRESS|string||Physical Address
  ADDRESS_2|string||Address (line 2)
  ADDRESS_CITY|string||City
  ADDRESS_POSTAL_CODE|string||Postal Code
  ADDRESS_REGION|string||Region
  ADDRESS_PROVINCE|string||Province
  ADDRESS_COUNTRY|string||Country
  ADDRESS_COUNTRY_CODE|string||Country Code
  ADDRESS_LOC_ADDR_ID|integer||Location Address ID
  ADDRESS_LEGAL|string||Legal Address
  REG_ADDRESS|string||Legal Address
  REG_ADDRESS_2|string||Legal Address (line 2)
  REG_ADDRESS_CITY|string||Legal Address City
  REG_ADDRESS_POSTAL_CODE|string||Legal Address Postal Code
  REG_ADDRESS_REGION|string||Legal Address Region
  REG_ADDRESS_PROVINCE|string||Legal Address Province
  REG_ADDRESS_COUNTRY|string||Legal Address Country
  REG_ADDRESS_COUNTRY_CODE|string||Legal Address Country Code
  REG_ADDRESS_LOC_ADDR_ID|integer||Legal Address Location ID
  BANKING_DETAILS|string||Banking Details
  INDUSTRY|crm_status||Industry|INDUSTRY
  EMPLOYEES|crm_status||Number of Employees|EMPLOYEES
  CURRENCY_ID|crm_currency||Currency
  REVENUE|double||Annual Revenue
  OPENED|char||Available to Everyone
  COMMENTS|string||Comment
  HAS_PHONE|char|O|Phone Set
  HAS_EMAIL|char|O|E-mail Set
  HAS_IMOL|char|O|Open Line Set
  IS_MY_COMPANY|char||My Company
  ASSIGNED_BY_ID|user||Responsible Person
  CREATED_BY_ID|user|O|Created By
  MODIFY_BY_ID|user|O|Modified By
  DATE_CREATE|datetime|O|Creation Date
  DATE_MODIFY|datetime|O|Modification Date
  CONTACT_ID|crm_contact|M|Contact
  LEAD_ID|crm_lead|O|Lead
  ORIGINATOR_ID|string||External Source
  ORIGIN_ID|string||Identifier in External Source
  ORIGIN_VERSION|string||Original Version
  UTM_SOURCE|string||Advertising System
  UTM_MEDIUM|string||Traffic Type
  UTM_CAMPAIGN|string||Campaign Identifier
  UTM_CONTENT|string||Campaign Content
  UTM_TERM|string||Campaign Search Term
  LAST_ACTIVITY_TIME|datetime||Last Activity Time
  LAST_ACTIVITY_BY|user||Last Activity Author
  LAST_COMMUNICATION_TIME|string|O|Last Communication Date
  PHONE|crm_multifield|M|Phone
  EMAIL|crm_multifield|M|E-mail
  WEB|crm_multifield|M|Website
  IM|crm_multifield|M|Messenger
  LINK|crm_multifield|M|LINK
  `,
};

function parse(table: string): FieldMeta[] {
  return table
    .trim()
    .split('\n')
    .map((line) => {
      const [name, type, flags, title, statusType] = line.trim().split('|');
      return {
        name,
        type,
        required: flags.includes('R'),
        readOnly: flags.includes('O'),
        immutable: flags.includes('I'),
        multiple: flags.includes('M'),
        title,
        ...(statusType ? { statusType } : {}),
      };
    });
}

export const STANDARD_FIELDS: Record<CrmEntity, FieldMeta[]> = {
  lead: parse(TABLES.lead),
  deal: parse(TABLES.deal),
  contact: parse(TABLES.contact),
  company: parse(TABLES.company),
};
