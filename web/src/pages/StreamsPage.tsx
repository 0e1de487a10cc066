import { useEffect, useId, useState } from 'preact/hooks';
import { fetchStreams } from '../api/endpoints';
import { Card } from '../components/Card';
import { EmptyState } from '../components/EmptyState';
import { ErrorNotice } from '../components/ErrorNotice';
import { Icon } from '../components/Icon';
import { PageHeader } from '../components/PageHeader';
import { RangeTools } from '../components/RangeTools';
import { Skeleton } from '../components/Skeleton';
import { StatusBadge } from '../components/StatusBadge';
import { formatBitrate } from '../format/bytes';
import { formatDateTime, formatRelative } from '../format/date';
import { formatInt } from '../format/number';
import { useApi } from '../hooks/useApi';
import { useDebounced } from '../hooks/useDebounced';
import { useInterval } from '../hooks/useInterval';
import { useNow } from '../hooks/useNow';
import { t, tp } from '../i18n';
import { Link } from '../router/Link';
import { useQuery } from '../router/router';
import { useRange } from '../state/range';
import { streamPath } from '../streams/streamPath';

/** Whether the pattern compiles; the server's regex dialect is close enough for this check. */
function regexError(pattern: string): string | null {
  try {
    new RegExp(pattern);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message.replace(/^Invalid regular expression: /, '') : String(e);
  }
}

export function StreamsPage() {
  const id = useId();
  const { bounds, tz } = useRange();
  const query = useQuery();
  const [q, setQ] = useState(query.get('q') ?? '');
  const settled = useDebounced(q, 300);
  const invalid = regexError(settled);
  const now = useNow();

  // Mirror the search into the address so the filtered list can be bookmarked or shared.
  useEffect(() => {
    const url = new URL(location.href);
    if (settled) url.searchParams.set('q', settled);
    else url.searchParams.delete('q');
    history.replaceState(history.state, '', url);
  }, [settled]);

  const res = useApi(
    (signal) => (invalid ? Promise.resolve(null) : fetchStreams(bounds, settled, signal)),
    [bounds, settled, invalid],
  );
  useInterval(res.reload, 15_000);
  const rows = [...(res.data ?? [])].sort(
    (a, b) =>
      Number(b.live) - Number(a.live) || (b.viewers ?? 0) - (a.viewers ?? 0) || a.stream.localeCompare(b.stream),
  );

  return (
    <>
      <PageHeader
        title={t('streams.title')}
        subtitle={res.data ? tp('streams.count', rows.length, { live: formatInt(rows.filter((r) => r.live).length) }) : undefined}
      >
        <RangeTools />
      </PageHeader>
      <Card>
        <form class="search" role="search" onSubmit={(e) => e.preventDefault()}>
          <label for={`${id}-q`}>{t('streams.search')}</label>
          <div class="search-input">
            <Icon name="search" />
            <input
              id={`${id}-q`}
              class="input mono"
              type="search"
              value={q}
              placeholder="^live/|news"
              spellcheck={false}
              autoComplete="off"
              aria-invalid={invalid ? true : undefined}
              aria-describedby={`${id}-hint`}
              onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)}
            />
          </div>
          <div id={`${id}-hint`} class={invalid ? 'field-error' : 'field-hint'}>
            {invalid ? t('streams.badRegex', { message: invalid }) : t('streams.searchHint')}
          </div>
        </form>
        {res.error && !res.data ? (
          <ErrorNotice error={res.error} onRetry={res.reload} />
        ) : res.data === undefined ? (
          <Skeleton height={200} />
        ) : rows.length === 0 ? (
          settled ? (
            <EmptyState compact icon="search" title={t('streams.noMatch', { q: settled })} />
          ) : (
            <EmptyState icon="streams" title={t('streams.empty.title')}>
              {t('streams.empty.body')}
            </EmptyState>
          )
        ) : (
          <div class="table-wrap">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">{t('streams.col.stream')}</th>
                  <th scope="col">{t('streams.col.server')}</th>
                  <th scope="col">{t('streams.col.state')}</th>
                  <th scope="col" class="num">
                    {t('streams.col.viewers')}
                  </th>
                  <th scope="col" class="num">
                    {t('streams.col.ingress')}
                  </th>
                  <th scope="col">{t('streams.col.lastSeen')}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={`${r.server_id}/${r.app}/${r.stream}`}>
                    <th scope="row">
                      <Link href={streamPath(r.app, r.stream)} class="stream-link">
                        <span class="muted">{r.app}/</span>
                        <span class="strong">{r.stream}</span>
                      </Link>
                    </th>
                    <td>
                      <Link href={streamPath(r.app, r.stream, r.server_id)} class="muted-link">
                        {r.server}
                      </Link>
                    </td>
                    <td>
                      <StatusBadge status={r.live ? 'live' : 'idle'} />
                    </td>
                    <td class="num">{formatInt(r.viewers)}</td>
                    <td class="num">{r.ingress_kbps != null ? formatBitrate(r.ingress_kbps * 1000) : '–'}</td>
                    <td>
                      {r.last_seen ? (
                        <span title={formatDateTime(r.last_seen, tz)}>{formatRelative(r.last_seen, now)}</span>
                      ) : (
                        '–'
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </>
  );
}
