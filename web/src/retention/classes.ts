// Names of the retention data classes in words, and which of them the preview measures.
import { t, type MessageKey } from '../i18n';

/** Classes the preview measures; the others live in the panel's own database and are not counted. */
export const MEASURED = new Set(['minute', 'five_minute', 'hour', 'day', 'unique_viewers']);

/** A class's name in words; an unknown class (a newer server) shows its API name. */
export function className(c: string): string {
  const key = `retention.class.${c}` as MessageKey;
  const text = t(key);
  return text === key || !text ? c : text;
}
