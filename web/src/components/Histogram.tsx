export interface HistogramBin {
  key: string;
  label: string;
  value: number;
  display: string;
}

/**
 * Vertical bars for ordered buckets (view durations, days); each bar states its value in words
 * too. With many bins only every few get a visible label, so labels never overlap.
 */
export function Histogram({ bins, label, height }: { bins: HistogramBin[]; label: string; height?: number }) {
  const max = bins.reduce((a, b) => Math.max(a, b.value), 0);
  const every = Math.max(1, Math.ceil(bins.length / 16));
  const dense = bins.length > 16;
  return (
    <ol class={dense ? 'histogram histogram-dense' : 'histogram'} aria-label={label} style={height ? { height: `${height}px` } : undefined}>
      {bins.map((b, i) => (
        <li key={b.key} class="histogram-bin" title={`${b.label}: ${b.display}`}>
          <span class="histogram-value num" aria-hidden="true">{b.value > 0 ? b.display : ''}</span>
          <span class="histogram-track" aria-hidden="true">
            <span class="histogram-bar" style={{ height: `${b.value > 0 && max > 0 ? Math.max(2, (b.value / max) * 100) : 0}%` }} />
          </span>
          <span class="histogram-label" aria-hidden="true">
            {i % every === 0 ? b.label : '\u00a0'}
          </span>
          <span class="visually-hidden">{`${b.label}: ${b.display}`}</span>
        </li>
      ))}
    </ol>
  );
}
