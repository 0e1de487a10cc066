/** A tiny trend line for live numbers, drawn from the samples gathered since the page opened. */
export function Sparkline({ values, label }: { values: number[]; label: string }) {
  if (values.length < 2) return <svg class="sparkline" viewBox="0 0 100 28" aria-hidden="true" />;
  const max = Math.max(...values, 1);
  const min = Math.min(...values, 0);
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
