export interface HistogramBin {
  key: string;
  label: string;
  value: number;
  display: string;
}

/** Vertical bars for ordered buckets (view durations); each bar states its value in words too. */
export function Histogram({ bins, label }: { bins: HistogramBin[]; label: string }) {
  const max = bins.reduce((a, b) => Math.max(a, b.value), 0);
  return (
    <ol class="histogram" aria-label={label}>
      {bins.map((b) => (
        <li key={b.key} class="histogram-bin" title={`${b.label}: ${b.display}`}>
          <span class="histogram-value num" aria-hidden="true">{b.value > 0 ? b.display : ''}</span>
          <span class="histogram-track" aria-hidden="true">
            <span class="histogram-bar" style={{ height: `${max > 0 ? Math.max(2, (b.value / max) * 100) : 0}%` }} />
          </span>
          <span class="histogram-label">{b.label}</span>
          <span class="visually-hidden">{b.display}</span>
        </li>
      ))}
    </ol>
  );
}
