// crm.*.userfield.* (server notes §5; docs api-reference/crm/leads/userfield/*).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/index.js';
import { rawCall, startTestEmulator } from '../helpers/emulator.js';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startTestEmulator({ limits: false });
});
afterAll(() => emu.close());

type Field = Record<string, unknown> & { FIELD_NAME: string; LIST?: Record<string, string>[] };
const listFields = async (entity: string, filter: Record<string, unknown> = {}) =>
  (await rawCall(emu, `crm.${entity}.userfield.list`, { filter })).body.result as Field[];

describe('crm.*.userfield.add', () => {
  test('FIELD_NAME gets the UF_CRM_ prefix and is upper-cased', async () => {
    for (const given of ['as_car_make', 'UF_AS_MODEL', 'UF_CRM_AS_PLATE']) {
      const r = await rawCall(emu, 'crm.lead.userfield.add', { fields: { FIELD_NAME: given, USER_TYPE_ID: 'string', LABEL: given } });
      expect(r.status).toBe(200);
      expect(typeof r.body.result).toBe('number');
    }
    expect((await listFields('lead')).map((f) => f.FIELD_NAME)).toEqual(['UF_CRM_AS_CAR_MAKE', 'UF_CRM_AS_MODEL', 'UF_CRM_AS_PLATE']);
  });

  test('length, charset, type and duplicate errors', async () => {
    const add = (fields: Record<string, unknown>) => rawCall(emu, 'crm.deal.userfield.add', { fields });
    expect((await add({ FIELD_NAME: 'X'.repeat(44), USER_TYPE_ID: 'string' })).body).toEqual({
      error: 'ERROR_CORE',
      error_description: 'Field name is too long (more than 50 characters).<br>',
    });
    expect((await add({ FIELD_NAME: 'X'.repeat(43), USER_TYPE_ID: 'string' })).status).toBe(200);
    expect((await add({ FIELD_NAME: 'bad-name', USER_TYPE_ID: 'string' })).body.error_description).toBe(
      'Field name contains invalid characters. Allowed characters are: A-Z, 0-9 and _.<br>',
    );
    expect((await add({ FIELD_NAME: 'GOOD', USER_TYPE_ID: 'nonsense' })).body).toEqual({ error: 'ERROR_CORE', error_description: 'Invalid custom type specified.<br>' });
    expect((await add({ FIELD_NAME: 'X'.repeat(43), USER_TYPE_ID: 'string' })).body.error_description).toBe(
      `The field UF_CRM_${'X'.repeat(43)} for entity CRM_DEAL already exists.<br>`,
    );
    expect((await add({})).body).toEqual({ error: '', error_description: "The 'USER_TYPE_ID' field is not found.\nThe 'FIELD_NAME' field is not found." });
  });

  test('labels: a lang map per language, LABEL for the rest; get shows maps, list (with LANG) shows strings', async () => {
    const r = await rawCall(emu, 'crm.contact.userfield.add', {
      fields: { FIELD_NAME: 'AS_LABELS', USER_TYPE_ID: 'string', LABEL: 'Default', EDIT_FORM_LABEL: { ru: 'Марка', en: 'Make' } },
    });
    const got = (await rawCall(emu, 'crm.contact.userfield.get', { id: r.body.result })).body.result as Record<string, Record<string, string>>;
    expect(got.EDIT_FORM_LABEL).toMatchObject({ ru: 'Марка', en: 'Make', de: 'Default' });
    expect(got.LIST_COLUMN_LABEL.ru).toBe('Default');
    expect(got.HELP_MESSAGE.en).toBe('Default');
    const [listed] = await listFields('contact', { FIELD_NAME: 'UF_CRM_AS_LABELS', LANG: 'ru' });
    expect(listed.EDIT_FORM_LABEL).toBe('Марка');
    const [english] = await listFields('contact', { FIELD_NAME: 'UF_CRM_AS_LABELS', LANG: 'en' });
    expect(english.EDIT_FORM_LABEL).toBe('Make');
  });

  test('enumeration LIST: empty values skipped, XML_IDs kept or generated; read back in SORT order', async () => {
    const r = await rawCall(emu, 'crm.lead.userfield.add', {
      fields: {
        FIELD_NAME: 'AS_DIRECTION',
        USER_TYPE_ID: 'enumeration',
        LIST: [
          { VALUE: 'Ремонт авто', XML_ID: 'repair', SORT: 10, DEF: 'Y' },
          { VALUE: '' },
          { VALUE: 'Магазин', XML_ID: 'shop', SORT: 20, DEF: 'Y' },
          { VALUE: 'Мойка', SORT: 30 },
        ],
      },
    });
    const [listed] = await listFields('lead', { FIELD_NAME: 'UF_CRM_AS_DIRECTION' });
    expect(listed.LIST!.map((i) => [i.VALUE, i.SORT, i.DEF, i.XML_ID.length > 0])).toEqual([
      ['Ремонт авто', '10', 'Y', true],
      ['Магазин', '20', 'N', true],
      ['Мойка', '30', 'N', true],
    ]);
    expect(listed.LIST!.slice(0, 2).map((i) => i.XML_ID)).toEqual(['repair', 'shop']);
    const got = (await rawCall(emu, 'crm.lead.userfield.get', { id: r.body.result })).body.result as Field;
    expect(Object.keys(got.LIST![0])).toEqual(['ID', 'SORT', 'VALUE', 'DEF']);
  });

  test('duplicate XML_IDs fail with ERROR_CORE, yet the field itself was created (as on the server)', async () => {
    const r = await rawCall(emu, 'crm.company.userfield.add', {
      fields: { FIELD_NAME: 'AS_DUP', USER_TYPE_ID: 'enumeration', LIST: [{ VALUE: 'a', XML_ID: 'same' }, { VALUE: 'b', XML_ID: 'same' }] },
    });
    expect(r.body).toEqual({ error: 'ERROR_CORE', error_description: 'List item with XML_ID=same already exists.<br>' });
    const [field] = await listFields('company', { FIELD_NAME: 'UF_CRM_AS_DUP' });
    expect(field.LIST).toEqual([]);
  });
});

describe('crm.*.userfield.update / delete', () => {
  test('labels given are rewritten completely; LIST items by ID are changed or deleted, new ones added', async () => {
    const id = (await rawCall(emu, 'crm.deal.userfield.add', {
      fields: { FIELD_NAME: 'AS_WASH_TYPE', USER_TYPE_ID: 'enumeration', LABEL: 'Тип мойки', LIST: [{ VALUE: 'Экспресс' }, { VALUE: 'Комплекс' }] },
    })).body.result;
    const before = ((await rawCall(emu, 'crm.deal.userfield.get', { id })).body.result as Field).LIST!;
    await rawCall(emu, 'crm.deal.userfield.update', {
      id,
      fields: {
        EDIT_FORM_LABEL: { en: 'Wash type' },
        LIST: [{ ID: before[0].ID, VALUE: 'Экспресс+' }, { ID: before[1].ID, DEL: 'Y' }, { VALUE: 'Химчистка' }],
        MANDATORY: 'Y',
      },
    });
    const after = (await rawCall(emu, 'crm.deal.userfield.get', { id })).body.result as Field & { EDIT_FORM_LABEL: Record<string, string> };
    expect(after.EDIT_FORM_LABEL).toMatchObject({ en: 'Wash type', ru: '' });
    expect(after.LIST!.map((i) => i.VALUE)).toEqual(['Экспресс+', 'Химчистка']);
    expect(after.MANDATORY).toBe('Y');
  });

  test('a field of another entity is refused; a missing one is ERROR_NOT_FOUND; delete removes it', async () => {
    const id = (await rawCall(emu, 'crm.lead.userfield.add', { fields: { FIELD_NAME: 'AS_TMP', USER_TYPE_ID: 'integer' } })).body.result;
    expect((await rawCall(emu, 'crm.deal.userfield.get', { id })).body).toEqual({ error: '', error_description: 'Access denied.' });
    expect((await rawCall(emu, 'crm.lead.userfield.delete', { id })).body.result).toBe(true);
    expect((await rawCall(emu, 'crm.lead.userfield.get', { id })).body).toEqual({ error: 'ERROR_NOT_FOUND', error_description: `The entity with ID '${id}' is not found.` });
  });
});
