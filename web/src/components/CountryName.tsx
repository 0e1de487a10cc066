import { locale } from '../i18n';

let names: Intl.DisplayNames | null = null;
try {
  names = new Intl.DisplayNames([locale], { type: 'region', fallback: 'none' });
} catch {
  names = null;
}

/** The country's name in the user's language when the browser knows the code, else the server's label. */
export function countryName(code: string, label: string): string {
  if (/^[A-Z]{2}$/.test(code)) {
    try {
      const n = names?.of(code);
      if (n) return n;
    } catch {
      /* unknown code: fall back to the label */
    }
  }
  return label || code;
}

/** A country by name, with its ISO code on hover. */
export function CountryName({ code, label }: { code: string; label: string }) {
  return (
    <span title={code} class="country">
      {countryName(code, label)}
    </span>
  );
}
