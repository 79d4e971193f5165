/** Fills {FIELD} placeholders from a CRM record; an empty value becomes "—" so a message never shows a raw code. */
export function fillPlaceholders(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{([A-Z0-9_]+)\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) return '—';
    return Array.isArray(value) ? value.join(', ') : String(value);
  });
}
