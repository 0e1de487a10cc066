import { t } from '../i18n';
import { ApiError } from './client';

/** A failed request in words for a form or dialog. */
export function errorText(err: unknown): string {
  const apiErr = err instanceof ApiError ? err : null;
  if (apiErr?.status === 0) return t('error.network');
  if (apiErr?.status === 403) return t('error.forbidden');
  return apiErr?.message || t('error.generic', { code: apiErr?.code ?? 'client' });
}
