// The service's /api/ with the page's session. A session that expired (or was never given) switches the whole page to
// "open the application again from Bitrix24"; other failures come back with their code for the page to put into words.
import { reactive } from 'vue';
import type { ApiError } from '../service/app-types.ts';

export const session = reactive({ token: '', expired: false });

export class ApiFailure extends Error {
  constructor(readonly code: ApiError['error'] | 'network', message: string, readonly status: number) {
    super(message);
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`./api${path}`, {
      method,
      headers: { authorization: `Bearer ${session.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiFailure('network', (error as Error).message, 0);
  }
  if (response.ok) return (await response.json()) as T;
  const failure = (await response.json().catch(() => ({ error: 'unavailable', message: `HTTP ${response.status}` }))) as ApiError;
  if (failure.error === 'session_expired' || failure.error === 'no_session') session.expired = true;
  throw new ApiFailure(failure.error, failure.message, response.status);
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  /** A file the service makes (CSV), saved by the browser under `filename`. */
  async download(path: string, filename: string): Promise<void> {
    const response = await fetch(`./api${path}`, { headers: { authorization: `Bearer ${session.token}` } });
    if (!response.ok) {
      const failure = (await response.json().catch(() => ({ error: 'unavailable', message: `HTTP ${response.status}` }))) as ApiError;
      if (failure.error === 'session_expired' || failure.error === 'no_session') session.expired = true;
      throw new ApiFailure(failure.error, failure.message, response.status);
    }
    const url = URL.createObjectURL(await response.blob());
    const link = Object.assign(document.createElement('a'), { href: url, download: filename });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  },
};
