// What the service wrote into the page it answered Bitrix24 with (app-pages.ts): which page, the language, the signed
// session for /api/. Without it (the page opened some other way) the application says to open it from Bitrix24.
import type { Bootstrap } from '../service/app-types.ts';

export function readBootstrap(): Bootstrap | undefined {
  const element = document.getElementById('autosalon-bootstrap');
  if (!element?.textContent) return undefined;
  try {
    return JSON.parse(element.textContent) as Bootstrap;
  } catch {
    return undefined;
  }
}
