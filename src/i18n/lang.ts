/** The languages of the CLI's messages and of the names a template writes to a portal. */
export const LANGUAGES = ['ru', 'en'] as const;
export type Lang = (typeof LANGUAGES)[number];
