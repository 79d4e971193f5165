// .bpt business-process files: PHP serialize(), then zlib (gzcompress, RFC 1950), as Bitrix24 exports them.
import { deflateSync, inflateSync } from 'node:zlib';
import { serialize, unserialize } from 'php-serialize';

export interface BptActivity {
  Type: string;
  Name: string;
  Properties: Record<string, unknown>;
  Children: BptActivity[];
  Activated?: 'Y' | 'N';
}

export interface BptPackage {
  VERSION: number;
  TEMPLATE: BptActivity[];
  PARAMETERS: Record<string, unknown> | unknown[];
  VARIABLES: Record<string, unknown> | unknown[];
  CONSTANTS: Record<string, unknown> | unknown[];
  DOCUMENT_FIELDS: Record<string, unknown> | unknown[];
}

export class BptDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BptDecodeError';
  }
}

export function encodeBpt(pkg: BptPackage): Buffer {
  return deflateSync(Buffer.from(serialize(pkg), 'utf8'), { level: 9 });
}

function tryUnserialize(text: string): unknown {
  try {
    // An empty class scope: serialized objects are not instantiated (the server passes allowed_classes false).
    return unserialize(text, {}, { strict: false, encoding: 'utf8' });
  } catch {
    return undefined;
  }
}

const isPackage = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && 'TEMPLATE' in v;

/** Mirrors the server's Bpt::unpack: plain serialized data first, then zlib-compressed. */
export function decodeBpt(data: Buffer): BptPackage {
  let value = tryUnserialize(data.toString('utf8'));
  if (!isPackage(value)) {
    let inflated: Buffer;
    try {
      inflated = inflateSync(data);
    } catch {
      throw new BptDecodeError('the data is neither a serialized template nor zlib-compressed');
    }
    value = tryUnserialize(inflated.toString('utf8'));
  }
  if (!isPackage(value)) throw new BptDecodeError('the data does not hold a business-process template (no TEMPLATE key)');
  if (!Array.isArray(value.TEMPLATE) || value.TEMPLATE.length === 0) throw new BptDecodeError('TEMPLATE is empty');
  return {
    VERSION: Number(value.VERSION ?? 0),
    TEMPLATE: value.TEMPLATE as BptActivity[],
    PARAMETERS: (value.PARAMETERS ?? []) as BptPackage['PARAMETERS'],
    VARIABLES: (value.VARIABLES ?? []) as BptPackage['VARIABLES'],
    CONSTANTS: (value.CONSTANTS ?? []) as BptPackage['CONSTANTS'],
    DOCUMENT_FIELDS: (value.DOCUMENT_FIELDS ?? []) as BptPackage['DOCUMENT_FIELDS'],
  };
}

/** Every activity of a template, depth first. */
export function* walkActivities(activities: BptActivity[]): Generator<BptActivity> {
  for (const activity of activities) {
    yield activity;
    if (Array.isArray(activity.Children)) yield* walkActivities(activity.Children);
  }
}
