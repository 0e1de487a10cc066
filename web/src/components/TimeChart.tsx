import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatClock, formatDateTime, formatDayMonth } from '../format/date';
import { t } from '../i18n';
import { useTheme } from '../theme/theme';
import type { Aligned } from '../time/series';

export interface ChartLine {
  label: string;
  /** A CSS custom property for the colour, e.g. `--accent`. */
  colorVar?: string;
  dashed?: boolean;
  /** Draw filled area under the line. */
  area?: boolean;
}

interface Props {
  data: Aligned;
  lines: ChartLine[];
  format: (value: number) => string;
  tz: string;
  /** Describes the chart for screen readers; the numbers are in the legend and the CSV export. */
  label: string;
  height?: number;
  bars?: boolean;
}

const PALETTE = ['--accent', '--chart-2', '--chart-3', '--chart-4'];

/**
 * The colour a custom property resolves to now. Theme colours are written with light-dark(),
 * which only an element's computed style resolves, and canvas needs a plain colour.
 */
function resolveColour(name: string): string {
  const el = document.createElement('span');
  el.style.color = `var(${name})`;
  el.style.display = 'none';
  document.body.append(el);
  const colour = getComputedStyle(el).color;
  el.remove();
  return colour;
}

let probe: CanvasRenderingContext2D | null = null;
/** Any CSS colour as rgba() with the given alpha, via the canvas colour parser. */
function withAlpha(colour: string, alpha: number): string {
  probe ??= document.createElement('canvas').getContext('2d');
  if (!probe) return colour;
  probe.fillStyle = '#000';
  probe.fillStyle = colour;
  const hex = /^#([0-9a-f]{6})$/i.exec(String(probe.fillStyle))?.[1];
  if (!hex) return colour;
  const n = parseInt(hex, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/** A time-series chart (uPlot on canvas) in the panel's theme and the chosen time zone. */
export function TimeChart({ data, lines, format, tz, label, height = 220, bars }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const theme = useTheme();

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const css = getComputedStyle(document.documentElement);
    const v = resolveColour;
    const font = `12px ${css.getPropertyValue('--font-sans').trim() || 'system-ui, sans-serif'}`;
    const axis: uPlot.Axis = {
      stroke: v('--text-muted'),
      grid: { stroke: v('--chart-grid'), width: 1 },
      ticks: { show: false },
      font,
    };
    // Ticks in the user's locale and the chosen zone: times, with the date under the first tick
    // of each day; dates alone once ticks are a day or more apart.
    const timeTicks = (_u: uPlot, splits: number[], _axis: number, _space: number, incr: number) => {
      let lastDay = '';
      return splits.map((s) => {
        if (s == null) return '';
        const day = formatDayMonth(s, tz);
        if (incr >= 86400) return day;
        const label = day !== lastDay ? `${formatClock(s, tz)}\n${day}` : formatClock(s, tz);
        lastDay = day;
        return label;
      });
    };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), tz),
      cursor: { drag: { x: false, y: false }, points: { size: 8 } },
      legend: { show: true, live: true },
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.12 : 1] },
      },
      axes: [
        // Room for the longest clock labels ("10:00 AM") so ticks never run together.
        { ...axis, values: timeTicks, space: 80 },
        { ...axis, size: 64, values: (_u, splits) => splits.map((s) => format(s)) },
      ],
      series: [
        { label: t('chart.time'), value: (_u, ts) => (ts == null ? '–' : formatDateTime(ts, tz)) },
        ...lines.map((line, i): uPlot.Series => {
          const colour = v(line.colorVar ?? PALETTE[i % PALETTE.length] ?? '--accent');
          return {
            label: line.label,
            stroke: colour,
            width: line.dashed ? 1.5 : 2,
            dash: line.dashed ? [6, 5] : undefined,
            points: { show: false },
            value: (_u, val) => (val == null ? '–' : format(val)),
            fill: bars
              ? withAlpha(colour, 0.75)
              : line.area
                ? (u: uPlot) => {
                    const { top, height: h } = u.bbox;
                    // uPlot asks for the fill before its first layout, when the box is not known.
                    if (!Number.isFinite(top) || !Number.isFinite(h) || h <= 0) return withAlpha(colour, 0.12);
                    const g = u.ctx.createLinearGradient(0, top, 0, top + h);
                    g.addColorStop(0, withAlpha(colour, 0.28));
                    g.addColorStop(1, withAlpha(colour, 0.02));
                    return g;
                  }
                : undefined,
            paths: bars && !line.dashed ? uPlot.paths.bars?.({ size: [0.7, 48], gap: 2 }) : undefined,
          };
        }),
      ],
    };
    // Without a pointer over the chart the legend shows the latest values instead of dashes.
    const last = data.times.length - 1;
    const showLatest = (u: uPlot) => {
      if (u.cursor.idx == null && last >= 0) u.setLegend({ idx: last });
    };
    opts.hooks = { ready: [showLatest], setCursor: [showLatest] };
    const chart = new uPlot(opts, [data.times, ...data.values] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (w !== chart.width) chart.setSize({ width: w, height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [data, lines, format, tz, height, bars, theme]);

  return <div class="chart" ref={host} role="figure" aria-label={label} />;
}
