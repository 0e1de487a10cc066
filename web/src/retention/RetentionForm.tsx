import { useEffect, useId, useState } from 'preact/hooks';
import { previewRetention, saveRetention, type RetentionScope } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { RetentionPreview, RetentionSettings } from '../api/types';
import { Card } from '../components/Card';
import { Icon } from '../components/Icon';
import { formatBytes } from '../format/bytes';
import { formatInt } from '../format/number';
import { t, type MessageKey } from '../i18n';

interface Props {
  scope: RetentionScope;
  settings: RetentionSettings;
  onSaved: (s: RetentionSettings) => void;
  canWrite: boolean;
}

/** Classes the preview measures; the others live in the panel's own database and are not counted. */
const MEASURED = new Set(['minute', 'five_minute', 'hour', 'day', 'unique_viewers']);

/** A class's name in words; an unknown class (a newer server) shows its API name. */
function className(c: string): string {
  const key = `retention.class.${c}` as MessageKey;
  const text = t(key);
  return text === key || !text ? c : text;
}

/** One number of days per data class, with what the class holds; preview the effect, then save. */
export function RetentionForm({ scope, settings, onSaved, canWrite }: Props) {
  const id = useId();
  const initial = () =>
    Object.fromEntries(settings.classes.map((c) => [c.key, String(settings[c.key] ?? c.default_days)]));
  const [values, setValues] = useState<Record<string, string>>(initial);
  const [preview, setPreview] = useState<RetentionPreview | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The class key the error is about, so its field is marked and focused.
  const [errorKey, setErrorKey] = useState<string | null>(null);
  const focus = (key: string) => document.getElementById(`${id}-${key}`)?.focus();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  useEffect(() => setValues(initial()), [settings]);

  const numbers = (): Record<string, number> | null => {
    const out: Record<string, number> = {};
    for (const c of settings.classes) {
      const n = Number(values[c.key]);
      const max = settings.maximum[c.key];
      if (!Number.isInteger(n) || n < 1 || (max != null && n > max)) {
        setError(t('retention.invalid', { name: className(c.class), max: max ?? '' }));
        setErrorKey(c.key);
        focus(c.key);
        return null;
      }
      out[c.key] = n;
    }
    return out;
  };

  const run = async (what: 'preview' | 'save') => {
    setError(null);
    setErrorKey(null);
    setSaved(false);
    const body = numbers();
    if (!body) return;
    setBusy(true);
    try {
      if (what === 'preview') setPreview(await previewRetention(scope, body));
      else {
        onSaved(await saveRetention(scope, body));
        setPreview(null);
        setSaved(true);
      }
    } catch (err) {
      setError(errorText(err));
      const field = (err as { field?: string | null }).field ?? null;
      if (field && settings.classes.some((c) => c.key === field)) {
        setErrorKey(field);
        focus(field);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title={scope === 'instance' ? t('retention.headingInstance') : t('retention.heading')}>
      <p class="muted">{scope === 'instance' ? t('retention.introInstance') : t('retention.intro')}</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run('save');
        }}
        noValidate
      >
        <div class="retention-classes">
          {settings.classes.map((c) => (
            <div class="field" key={c.key}>
              <label for={`${id}-${c.key}`}>{t('retention.days', { name: className(c.class) })}</label>
              <input
                id={`${id}-${c.key}`}
                class="input"
                type="number"
                inputMode="numeric"
                min={1}
                max={settings.maximum[c.key]}
                value={values[c.key]}
                disabled={!canWrite}
                aria-invalid={errorKey === c.key ? true : undefined}
                aria-describedby={`${id}-${c.key}-hint`}
                onInput={(e) => {
                  const v = (e.currentTarget as HTMLInputElement).value;
                  setValues((old) => ({ ...old, [c.key]: v }));
                  setPreview(null);
                }}
              />
              <div id={`${id}-${c.key}-hint`} class="field-hint">
                {c.holds}{' '}
                {t('retention.limits', {
                  def: formatInt(c.default_days),
                  max: formatInt(settings.maximum[c.key] ?? 0),
                })}
              </div>
            </div>
          ))}
        </div>
        {preview && (
          <div class="notice notice-info notice-block" role="status">
            <p class="strong">{t('retention.previewTitle')}</p>
            {preview.classes.every((c) => c.records === 0 && c.partitions_dropped === 0) ? (
              <p>{t('retention.previewNothing')}</p>
            ) : (
              <ul>
                {preview.classes
                  .filter((c) => c.records > 0 || c.partitions_dropped > 0)
                  .map((c) => (
                    <li key={c.class}>
                      {t('retention.previewLine', {
                        name: className(c.class),
                        records: formatInt(c.records),
                        bytes: formatBytes(c.bytes),
                      })}
                    </li>
                  ))}
              </ul>
            )}
            <p class="small">
              {t('retention.previewNote', {
                classes: settings.classes
                  .filter((c) => !MEASURED.has(c.class))
                  .map((c) => className(c.class))
                  .join(', '),
              })}
            </p>
          </div>
        )}
        <div class="form-error" role="alert">
          {error && (
            <>
              <Icon name="alert" size={16} />
              <span>{error}</span>
            </>
          )}
        </div>
        {canWrite && (
          <div class="form-actions">
            <button type="button" class="button" disabled={busy} onClick={() => void run('preview')}>
              {t('retention.preview')}
            </button>
            <button type="submit" class="button button-primary" disabled={busy}>
              {t('retention.save')}
            </button>
            <span class="muted small" role="status">
              {saved ? t('branding.saved') : ''}
            </span>
          </div>
        )}
      </form>
    </Card>
  );
}
