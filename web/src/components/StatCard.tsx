import type { ComponentChildren } from 'preact';

interface Props {
  label: string;
  /** Formatted value; undefined while loading. */
  value: string | undefined;
  /** The exact value, shown on hover when `value` is rounded. */
  exact?: string;
  hint?: ComponentChildren;
  tone?: 'accent' | 'plain';
}

/** One headline number. */
export function StatCard({ label, value, exact, hint, tone = 'plain' }: Props) {
  return (
    <div class={`stat stat-${tone}`} aria-busy={value === undefined}>
      <div class="stat-label">{label}</div>
      {value === undefined ? (
        <div class="stat-value skeleton" aria-hidden="true">
          &nbsp;
        </div>
      ) : (
        <div class="stat-value" title={exact}>
          {value}
        </div>
      )}
      {hint && <div class="stat-hint">{hint}</div>}
    </div>
  );
}
