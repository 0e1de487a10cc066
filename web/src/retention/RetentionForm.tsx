import { useEffect, useId, useState } from 'preact/hooks';
import { previewRetention, saveRetention, type RetentionScope } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { RetentionPreview, RetentionSettings } from '../api/types';
import { Card } from '../components/Card';
import { Icon } from '../components/Icon';
import { formatInt } from '../format/number';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { t } from '../i18n';
import { className } from './classes';
import { PreviewSummary } from './PreviewSummary';

interface Props {
  scope: RetentionScope;
  settings: RetentionSettings;
  onSaved: (s: RetentionSettings) => void;
  canWrite: boolean;
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
  // Saving a shorter period first shows what it would delete, and waits for a confirmation.
  const [confirming, setConfirming] = useState<Record<string, number> | null>(null);
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

  const save = async (body: Record<string, number>) => {
    onSaved(await saveRetention(scope, body));
    setPreview(null);
    setSaved(true);
  };

  const run = async (what: 'preview' | 'save') => {
    setError(null);
    setErrorKey(null);
    setSaved(false);
    const body = numbers();
    if (!body) return;
    setBusy(true);
    try {
      const shortened = settings.classes.some((c) => body[c.key]! < Number(settings[c.key] ?? c.default_days));
      if (what === 'preview' || shortened) {
        setPreview(await previewRetention(scope, body));
        if (what === 'save') setConfirming(body);
      } else {
        await save(body);
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
        {preview && !confirming && (
          <div class="notice notice-info notice-block" role="status">
            <PreviewSummary preview={preview} classes={settings.classes} />
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
      <ConfirmDialog
        open={confirming !== null}
        title={t('retention.confirmTitle')}
        confirmLabel={t('retention.confirm')}
        onClose={() => setConfirming(null)}
        onConfirm={async () => {
          if (confirming) await save(confirming);
        }}
      >
        {preview && <PreviewSummary preview={preview} classes={settings.classes} />}
        <p>{t('retention.confirmBody')}</p>
      </ConfirmDialog>
    </Card>
  );
}
