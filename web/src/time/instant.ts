// The API gives instants as Unix seconds; a few fields may come as RFC 3339 text. Both are
// accepted wherever an instant is shown.
export type Instant = number | string;

export function toUnixSeconds(value: Instant | null | undefined): number | null {
  if (value == null || value === '') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  const asNumber = Number(value);
  if (Number.isFinite(asNumber)) return asNumber;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms / 1000;
}
