import { deflateSync } from 'node:zlib';
import { serialize } from 'php-serialize';
import { describe, expect, it } from 'vitest';
import { BptDecodeError, decodeBpt, encodeBpt, refusalProcess, robotActivityType, walkActivities } from '../../src/bpt/index.js';

const refusal = refusalProcess({ clientId: 'local.abc123', robotCode: 'autosalon_refusal', reasonField: 'UF_CRM_AS_REFUSAL', lang: 'ru' });

describe('.bpt codec', () => {
  it('encodes as zlib (RFC 1950) over PHP serialize, VERSION 2', () => {
    const data = encodeBpt(refusal);
    expect(data[0]).toBe(0x78); // zlib header, not gzip (0x1f 0x8b)
    expect(decodeBpt(data)).toEqual(JSON.parse(JSON.stringify(refusal)));
    expect(decodeBpt(data).VERSION).toBe(2);
  });

  it('keeps Cyrillic text byte-exact through PHP string lengths', () => {
    const decoded = decodeBpt(encodeBpt(refusal));
    const titles = [...walkActivities(decoded.TEMPLATE)].map((a) => a.Properties.Title);
    expect(titles).toContain('Укажите причину отказа');
  });

  it('accepts uncompressed serialized data, as the server does', () => {
    const plain = Buffer.from(serialize(refusal), 'utf8');
    expect(decodeBpt(plain).TEMPLATE[0].Type).toBe('SequentialWorkflowActivity');
  });

  it('rejects data that is neither', () => {
    expect(() => decodeBpt(Buffer.from('not a template'))).toThrow(BptDecodeError);
    expect(() => decodeBpt(deflateSync(Buffer.from(serialize({ NO_TEMPLATE: 1 }))))).toThrow(/no TEMPLATE key/);
  });

  it('calls the app robot by its rest_ + md5(client_id@CODE) activity type', () => {
    const type = robotActivityType('local.abc123', 'autosalon_refusal');
    expect(type).toMatch(/^rest_[0-9a-f]{32}$/);
    const types = [...walkActivities(refusal.TEMPLATE)].map((a) => a.Type);
    expect(types).toEqual([
      'SequentialWorkflowActivity', 'IfElseActivity', 'IfElseBranchActivity', 'RequestInformationActivity',
      'SetFieldActivity', 'IfElseBranchActivity', type,
    ]);
  });
});
