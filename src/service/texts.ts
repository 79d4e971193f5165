// Words the service writes into the portal that the template does not carry (it holds the rule messages).
import type { Lang } from '../template/schema.js';

const words = {
  ru: {
    lead: 'Лид',
    deal: 'Сделка',
    missingFields: (item: string, title: string, stage: string, fields: string) =>
      `${item} «${title}» на стадии «${stage}»: заполните ${fields}.`,
    missingTodo: (fields: string) => `Заполните: ${fields}`,
    missingTodoText: (stage: string) => `Эти поля обязательны на стадии «${stage}».`,
    recallTitle: 'Повторный звонок клиенту',
    reason: 'Причина отказа',
    noReason: 'не указана',
    refusedOn: (date: string) => `Отказ ${date}.`,
  },
  en: {
    lead: 'Lead',
    deal: 'Deal',
    missingFields: (item: string, title: string, stage: string, fields: string) =>
      `${item} "${title}" at stage "${stage}": fill in ${fields}.`,
    missingTodo: (fields: string) => `Fill in: ${fields}`,
    missingTodoText: (stage: string) => `These fields are required at stage "${stage}".`,
    recallTitle: 'Re-call the customer',
    reason: 'Refusal reason',
    noReason: 'not given yet',
    refusedOn: (date: string) => `Refused on ${date}.`,
  },
} as const;

export function texts(lang: Lang) {
  return words[lang];
}

/** The re-call to-do's description: the reason (or that it is missing), when, and the template's hint. */
export function recallDescription(lang: Lang, reason: string, refusedOn: string, hint: string): string {
  const w = words[lang];
  return `${w.reason}: ${reason || w.noReason}\n${w.refusedOn(refusedOn)}\n\n${hint}`;
}
