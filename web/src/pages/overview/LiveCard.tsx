import { useEffect, useState } from 'preact/hooks';
import { fetchLive } from '../../api/endpoints';
import type { Live, Scope } from '../../api/types';
import { Sparkline } from '../../components/Sparkline';
import { formatBitrate } from '../../format/bytes';
import { formatTime } from '../../format/date';
import { formatInt } from '../../format/number';
import { useInterval } from '../../hooks/useInterval';
import { t } from '../../i18n';
import { useTimeZone } from '../../state/timeZone';

const REFRESH_MS = 5000;
const KEEP = 60;

/** Viewers and bandwidth right now, refreshed every five seconds. */
export function LiveCard({ scope = {} }: { scope?: Scope }) {
  // Within one stream the number of live streams says nothing.
  const showStreams = !scope.stream;
  const tz = useTimeZone();
  const [live, setLive] = useState<Live | null>(null);
  const [history, setHistory] = useState<Live[]>([]);
  const [failed, setFailed] = useState(false);
  const key = JSON.stringify(scope);

  const refresh = () => {
    fetchLive(scope)
      .then((l) => {
        setLive(l);
        setFailed(false);
        setHistory((h) => [...h.slice(-(KEEP - 1)), l]);
      })
      .catch(() => setFailed(true));
  };
  useEffect(() => {
    setHistory([]);
    refresh();
    // Restarts only when the scope changes; `refresh` is rebuilt on every render.
  }, [key]);
  useInterval(refresh, REFRESH_MS);

  return (
    <section class="card live-card" aria-labelledby="live-title">
      <header class="card-head">
        <h2 id="live-title">
          <span class={failed ? 'live-dot live-dot-stale' : 'live-dot'} aria-hidden="true" />
          {t('live.title')}
        </h2>
        <span class="muted small" aria-live="off">
          {live ? t('live.updated', { time: formatTime(live.time, tz) }) : '\u00a0'}
        </span>
      </header>
      <div class="card-body live-grid">
        <div class="live-metric">
          <div class="live-label">{t('live.viewers')}</div>
          <div class="live-value num" data-testid="live-viewers">
            {live ? formatInt(live.viewers) : '–'}
          </div>
          <Sparkline values={history.map((h) => h.viewers)} label={t('live.viewersTrend')} />
        </div>
        <div class="live-metric">
          <div class="live-label">{t('live.bandwidth')}</div>
          <div class="live-value num" data-testid="live-bandwidth">
            {live ? formatBitrate(live.bandwidth_bps) : '–'}
          </div>
          <Sparkline values={history.map((h) => h.bandwidth_bps)} label={t('live.bandwidthTrend')} />
        </div>
        {showStreams && (
          <div class="live-metric">
            <div class="live-label">{t('live.streams')}</div>
            <div class="live-value num">{live ? formatInt(live.streams_live) : '–'}</div>
          </div>
        )}
      </div>
      {failed && <p class="card-foot muted small">{t('live.stale')}</p>}
    </section>
  );
}
