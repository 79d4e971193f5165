// The page inside the Bitrix24 frame, through the official SDK's frame mode (@bitrix24/b24jssdk initializeB24Frame):
// the frame follows the page's height, carries its title, opens CRM items in the portal's slider, and tells the portal
// when the installer has finished. Outside a frame the page works on its own.
import { initializeB24Frame, MessageCommands, type B24Frame } from '@bitrix24/b24jssdk';
import { reactive } from 'vue';

export const frameState = reactive({ status: 'outside' as 'outside' | 'connecting' | 'ready' | 'failed', installMode: false, error: '' });

let frame: B24Frame | undefined;
/** The page's title, sent again once the frame is connected (the sections set it before the handshake is done). */
let title = '';

/** The portal names the frame "DOMAIN|PROTOCOL|APP_SID" (the SDK's loader-b24frame.mjs reads nothing else). */
export const insideBitrix24 = () => window.parent !== window && window.name.split('|').length >= 3;

/** The SDK waits for the portal's answer for ever: a portal that never answers is told after this long. */
const HANDSHAKE_MS = 8000;

export async function connectFrame(): Promise<void> {
  if (!insideBitrix24()) return;
  frameState.status = 'connecting';
  try {
    frame = await Promise.race([
      initializeB24Frame(),
      new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('the portal did not answer the frame handshake')), HANDSHAKE_MS)),
    ]);
    frameState.installMode = frame.isInstallMode;
    frameState.status = 'ready';
    performance.mark('autosalon-frame-ready');
    followHeight(document.getElementById('app')!);
    if (title) setTitle(title);
  } catch (error) {
    frameState.status = 'failed';
    frameState.error = error instanceof Error ? error.message : String(error);
  }
}

export function setTitle(text: string): void {
  title = text;
  document.title = text;
  frame?.parent.setTitle(text).catch(() => undefined);
}

/**
 * fitWindow() measures the document, which is never shorter than the frame, so it only grows it: the raw resizeWindow
 * with the application root's height (width '100%', as fitWindow sends) follows the content both ways.
 */
function followHeight(root: HTMLElement): void {
  let last = 0;
  const report = () => {
    const height = Math.ceil(root.getBoundingClientRect().height) + 8;
    if (!frame || height === last || height <= 8) return;
    last = height;
    frame.parent.message.send(MessageCommands.resizeWindow, { width: '100%', height, isSafely: true }).catch(() => undefined);
  };
  new ResizeObserver(report).observe(root);
  report();
}

/** Opens the deal in the portal's slider; resolves when the slider closes. Outside a frame: a new tab. */
export async function openDeal(portal: string, dealId: string): Promise<void> {
  const path = `/crm/deal/details/${dealId}/`;
  if (!frame) {
    window.open(`https://${portal}${path}`, '_blank', 'noopener');
    return;
  }
  await frame.slider.openPath(frame.slider.getUrl(path));
}

/** The installer is done: the portal counts the application as installed and reloads it as the application page. */
export async function finishInstall(): Promise<boolean> {
  if (!frame || !frame.isInstallMode) return false;
  await frame.installFinish();
  return true;
}
