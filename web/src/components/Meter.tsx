import { formatPercent } from '../format/number';

interface Props {
  /** 0–1; null when unknown. */
  fraction: number | null;
  label: string;
  /** Text beside the bar; defaults to the percentage. */
  text?: string;
}

/** A small horizontal gauge for CPU and memory; turns amber and red as it fills. */
export function Meter({ fraction, label, text }: Props) {
  if (fraction == null || !Number.isFinite(fraction)) return <span class="muted">–</span>;
  const f = Math.min(1, Math.max(0, fraction));
  const level = f >= 0.9 ? 'high' : f >= 0.7 ? 'mid' : 'low';
  return (
    <span class="meter-wrap">
      <span
        class={`meter meter-${level}`}
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(f * 100)}
        aria-valuetext={text ?? formatPercent(f)}
      >
        <span class="meter-fill" style={{ width: `${(f * 100).toFixed(1)}%` }} />
      </span>
      <span class="meter-text num">{text ?? formatPercent(f)}</span>
    </span>
  );
}
