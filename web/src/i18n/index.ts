/**
 * Message lookup. Every user-visible string lives in a catalogue (`en.ts` is complete and is the
 * fallback); a language is added by writing another catalogue with the same keys and listing it
 * in `catalogues`. Numbers and dates are not formatted here but in `format/`, with `Intl`.
 */
import { en, type MessageKey } from './en';

export type { MessageKey };
export type Catalogue = Partial<Record<MessageKey, string>>;

/** Keys that exist in several plural forms (`key.one`, `key.other`, …) without the suffix. */
export type PluralKey = {
  [K in MessageKey]: K extends `${infer Base}.other` ? Base : never;
}[MessageKey];

const catalogues: Record<string, Catalogue> = { en };

/** The user's preferred locale, used for every Intl formatter. */
export const locale: string = (typeof navigator !== 'undefined' && navigator.language) || 'en';

function pickCatalogue(): { lang: string; messages: Catalogue } {
  const wanted = typeof navigator !== 'undefined' ? navigator.languages ?? [locale] : [locale];
  for (const tag of wanted) {
    const base = tag.toLowerCase().split('-')[0] ?? '';
    const found = catalogues[base];
    if (found) return { lang: base, messages: found };
  }
  return { lang: 'en', messages: en };
}

const active = pickCatalogue();

/** The language whose catalogue is in use, for `<html lang>`. */
export const language = active.lang;

const plurals = new Intl.PluralRules(locale);

function interpolate(text: string, params?: Record<string, string | number>): string {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** Looks a message up, falling back to English, and fills `{name}` placeholders. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  return interpolate(active.messages[key] ?? en[key], params);
}

/** Like `t`, choosing the plural form for `count` by the locale's rules. */
export function tp(key: PluralKey, count: number, params?: Record<string, string | number>): string {
  const form = `${key}.${plurals.select(count)}` as MessageKey;
  const text = active.messages[form] ?? en[form as keyof typeof en] ?? en[`${key}.other` as MessageKey];
  return interpolate(text, { count, ...params });
}
