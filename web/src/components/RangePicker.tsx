import { useEffect, useId, useState } from 'preact/hooks';
import { t, type MessageKey } from '../i18n';
import { setRange, useRange } from '../state/range';
import { PRESETS, todayIso, type Preset } from '../time/range';
import { Segmented } from './Segmented';

const LABELS: Record<Preset, MessageKey> = {
  today: 'range.today',
  yesterday: 'range.yesterday',
  '7d': 'range.7d',
  '30d': 'range.30d',
  month: 'range.month',
  custom: 'range.custom',
};

/**
 * Preset buttons on wide screens, a select on phones (the stylesheet shows one of the two), and
 * two date fields for a custom range.
 */
export function RangePicker() {
  const { choice, tz } = useRange();
  const id = useId();
  const today = todayIso(tz, Date.now() / 1000);
  const [from, setFrom] = useState(choice.from ?? today);
  const [to, setTo] = useState(choice.to ?? today);
  const [custom, setCustom] = useState(choice.preset === 'custom');

  useEffect(() => setCustom(choice.preset === 'custom'), [choice.preset]);

  const pick = (preset: Preset) => {
    if (preset === 'custom') setCustom(true);
    else {
      setCustom(false);
      setRange({ preset });
    }
  };
  const apply = (e: Event) => {
    e.preventDefault();
    const [a, b] = from <= to ? [from, to] : [to, from];
    setRange({ preset: 'custom', from: a, to: b });
  };
  const options = PRESETS.map((p) => ({ value: p, label: t(LABELS[p]) }));
  const current: Preset = custom ? 'custom' : choice.preset;

  return (
    <div class="range-picker">
      <div class="range-seg">
        <Segmented label={t('range.label')} options={options} value={current} onChange={pick} />
      </div>
      <div class="range-select">
        <label class="visually-hidden" for={`${id}-preset`}>
          {t('range.label')}
        </label>
        <select
          id={`${id}-preset`}
          class="select"
          value={current}
          onChange={(e) => pick((e.currentTarget as HTMLSelectElement).value as Preset)}
        >
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      </div>
      {custom && (
        <form class="range-custom" onSubmit={apply}>
          <label for={`${id}-from`}>{t('range.from')}</label>
          <input
            id={`${id}-from`}
            class="input"
            type="date"
            required
            max={today}
            value={from}
            onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)}
          />
          <label for={`${id}-to`}>{t('range.to')}</label>
          <input
            id={`${id}-to`}
            class="input"
            type="date"
            required
            max={today}
            value={to}
            onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)}
          />
          <button type="submit" class="button button-small button-primary">
            {t('range.apply')}
          </button>
        </form>
      )}
    </div>
  );
}
