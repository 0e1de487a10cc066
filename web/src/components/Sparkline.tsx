/** A tiny trend line for live numbers, drawn from the samples gathered since the page opened. */
export function Sparkline({ values, label }: { values: number[]; label: string }) {
  if (values.length < 2) return <svg class="sparkline" viewBox="0 0 100 28" aria-hidden="true" />;
  // Scaled to the samples' own range, so small live changes are visible.
  const hi = Math.max(...values);
  const lo = Math.min(...values);
  const pad = (hi - lo) * 0.15 || Math.max(1, hi * 0.05);
  const max = hi + pad;
  const min = Math.max(0, lo - pad);
  const span = max - min || 1;
  const pts = values.map((v, i) => {
    const x = (i / (values.length - 1)) * 100;
    const y = 26 - ((v - min) / span) * 24;
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  return (
    <svg class="sparkline" viewBox="0 0 100 28" preserveAspectRatio="none" role="img" aria-label={label}>
      <polygon class="sparkline-area" points={`0,28 ${pts.join(' ')} 100,28`} />
      <polyline class="sparkline-line" points={pts.join(' ')} />
    </svg>
  );
}
