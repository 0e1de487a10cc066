import type { ComponentChildren } from 'preact';
import { formatPercent } from '../format/number';

export interface BarItem {
  key: string;
  label: ComponentChildren;
  value: number;
  /** The formatted value. */
  display: string;
}

interface Props {
  items: BarItem[];
  /** Total the share column is computed against; defaults to the sum of the items. */
  total?: number;
  /** Header text for screen readers and the visible column titles. */
  labelHeader: string;
  valueHeader: string;
}

/** A ranked list with proportional bars: the compact way to show "top N" in a card. */
export function BarList({ items, total, labelHeader, valueHeader }: Props) {
  const max = items.reduce((a, i) => Math.max(a, i.value), 0);
  const sum = total ?? items.reduce((a, i) => a + i.value, 0);
  return (
    <table class="barlist">
      <thead class="visually-hidden">
        <tr>
          <th scope="col">{labelHeader}</th>
          <th scope="col">{valueHeader}</th>
        </tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <tr key={item.key}>
            <td class="barlist-label">
              <span
                class="barlist-bar"
                aria-hidden="true"
                style={{ width: `${max > 0 ? (item.value / max) * 100 : 0}%` }}
              />
              <span class="barlist-text">{item.label}</span>
            </td>
            <td class="barlist-value num">
              {item.display}
              {sum > 0 && <span class="barlist-share">{formatPercent(item.value / sum)}</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
