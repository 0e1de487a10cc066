import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { BreakdownRow } from '../api/types';
import { formatBytes } from '../format/bytes';
import { formatDuration } from '../format/duration';
import { formatAverage, formatInt, formatPercent } from '../format/number';
import { t, type MessageKey } from '../i18n';

type Column = 'views' | 'viewers' | 'bytes_out' | 'view_time_s';

const COLUMNS: { key: Column; label: MessageKey; format: (n: number) => string }[] = [
  { key: 'views', label: 'metric.views', format: formatInt },
  { key: 'viewers', label: 'metric.avgViewers', format: formatAverage },
  { key: 'bytes_out', label: 'metric.traffic', format: formatBytes },
  { key: 'view_time_s', label: 'metric.viewTime', format: formatDuration },
];

interface Props {
  rows: BreakdownRow[];
  nameHeader: string;
  renderName?: (row: BreakdownRow) => ComponentChildren;
  /** Extra leading column (e.g. the AS number). */
  keyHeader?: string;
}

/** A full breakdown as a table, sortable by any number, with each row's share of views. */
export function BreakdownTable({ rows, nameHeader, renderName, keyHeader }: Props) {
  const [sort, setSort] = useState<Column>('views');
  const sorted = [...rows].sort((a, b) => b[sort] - a[sort]);
  const totalViews = rows.reduce((a, r) => a + r.views, 0);
  return (
    <div class="table-wrap">
      <table class="table">
        <thead>
          <tr>
            <th scope="col" class="num rank">
              #
            </th>
            {keyHeader && <th scope="col">{keyHeader}</th>}
            <th scope="col">{nameHeader}</th>
            {COLUMNS.map((c) => (
              <th key={c.key} scope="col" class="num" aria-sort={sort === c.key ? 'descending' : undefined}>
                <button type="button" class="sort-button" onClick={() => setSort(c.key)}>
                  {t(c.label)}
                  {sort === c.key && <span aria-hidden="true"> ↓</span>}
                </button>
              </th>
            ))}
            <th scope="col" class="num">
              {t('metric.share')}
            </th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((r, i) => (
            <tr key={r.key}>
              <td class="num rank muted">{i + 1}</td>
              {keyHeader && <td class="mono">{r.key}</td>}
              <th scope="row">{renderName ? renderName(r) : r.label || r.key}</th>
              {COLUMNS.map((c) => (
                <td key={c.key} class="num">
                  {c.format(r[c.key])}
                </td>
              ))}
              <td class="num muted">{totalViews > 0 ? formatPercent(r.views / totalViews) : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
