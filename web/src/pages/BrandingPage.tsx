import { useEffect, useId, useState } from 'preact/hooks';
import { deleteLogo, fetchBrandingSettings, saveBranding, uploadLogo } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { BrandingFields, BrandingSettings } from '../api/types';
import { applyBranding } from '../branding/branding';
import { BrandPreview } from '../brandingEditor/BrandPreview';
import { ColourField } from '../brandingEditor/ColourField';
import { Card } from '../components/Card';
import { ErrorNotice } from '../components/ErrorNotice';
import { Icon } from '../components/Icon';
import { PageHeader } from '../components/PageHeader';
import { Skeleton } from '../components/Skeleton';
import { useApi } from '../hooks/useApi';
import { t, type MessageKey } from '../i18n';

type TextKey = 'product_name' | 'support_contact' | 'privacy_contact';
type ColourKey = 'accent_color' | 'background_color' | 'surface_color' | 'text_color';
type Draft = Record<TextKey | ColourKey, string> & { powered_by: boolean };

const TEXTS: TextKey[] = ['product_name', 'support_contact', 'privacy_contact'];
const COLOURS: ColourKey[] = ['accent_color', 'background_color', 'surface_color', 'text_color'];
const HEX = /^#[0-9a-f]{6}$/i;

function draftFrom(s: BrandingSettings): Draft {
  const v = (k: TextKey | ColourKey) => (typeof s.stored[k] === 'string' ? (s.stored[k] as string) : '');
  return {
    product_name: v('product_name'),
    support_contact: v('support_contact'),
    privacy_contact: v('privacy_contact'),
    accent_color: v('accent_color'),
    background_color: v('background_color'),
    surface_color: v('surface_color'),
    text_color: v('text_color'),
    powered_by: s.effective.powered_by !== false,
  };
}

/** The account's white label: name, colours, contacts, logo; with a live preview. */
export function BrandingPage() {
  const id = useId();
  const loaded = useApi((signal) => fetchBrandingSettings(signal), []);
  const [settings, setSettings] = useState<BrandingSettings | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (loaded.data) {
      setSettings(loaded.data);
      setDraft(draftFrom(loaded.data));
    }
  }, [loaded.data]);

  const took = (s: BrandingSettings) => {
    setSettings(s);
    setDraft(draftFrom(s));
    applyBranding(s.effective);
    setSaved(true);
  };

  const update = (k: keyof Draft, v: string | boolean) => {
    setSaved(false);
    setDraft((d) => (d ? { ...d, [k]: v } : d));
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!draft) return;
    if (COLOURS.some((k) => draft[k] !== '' && !HEX.test(draft[k]))) return setError(t('branding.colourInvalid'));
    const body: Partial<BrandingFields> = { powered_by: draft.powered_by };
    for (const k of [...TEXTS, ...COLOURS]) body[k] = draft[k].trim() === '' ? null : draft[k].trim();
    setBusy(true);
    setError(null);
    try {
      took(await saveBranding(body));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const upload = async (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      took(await uploadLogo(file));
    } catch (err) {
      setError(errorText(err));
    } finally {
      input.value = '';
      setBusy(false);
    }
  };

  const removeLogo = async () => {
    setBusy(true);
    setError(null);
    try {
      took(await deleteLogo());
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const eff = settings?.effective;
  const pick = (k: ColourKey) => (draft && HEX.test(draft[k]) ? draft[k] : (eff?.[k] ?? null));

  return (
    <>
      <PageHeader title={t('branding.title')} subtitle={t('branding.subtitle')} />
      {loaded.error && !loaded.data ? (
        <ErrorNotice error={loaded.error} onRetry={loaded.reload} />
      ) : !draft || !eff ? (
        <Skeleton height={360} />
      ) : (
        <div class="branding-layout">
          <Card>
            <form id={`${id}-form`} onSubmit={submit} noValidate>
              {TEXTS.map((k) => (
                <div class="field" key={k}>
                  <label for={`${id}-${k}`}>{t(`branding.field.${k}` as MessageKey)}</label>
                  <input
                    id={`${id}-${k}`}
                    class="input"
                    type="text"
                    maxLength={200}
                    placeholder={(eff[k] as string | null) ?? ''}
                    value={draft[k]}
                    onInput={(e) => update(k, (e.currentTarget as HTMLInputElement).value)}
                  />
                </div>
              ))}
              <div class="branding-colours">
                {COLOURS.map((k) => (
                  <ColourField
                    key={k}
                    label={t(`branding.field.${k}` as MessageKey)}
                    value={draft[k]}
                    inherited={eff[k]}
                    onChange={(v) => update(k, v)}
                  />
                ))}
              </div>
              <div class="field check-field">
                <input
                  id={`${id}-powered`}
                  type="checkbox"
                  role="switch"
                  checked={draft.powered_by}
                  onChange={(e) => update('powered_by', (e.currentTarget as HTMLInputElement).checked)}
                />
                <label for={`${id}-powered`}>{t('branding.field.powered_by')}</label>
              </div>
              <div class="field">
                <label for={`${id}-logo`}>{t('branding.logo')}</label>
                <input
                  id={`${id}-logo`}
                  class="input"
                  type="file"
                  accept="image/png,image/jpeg,image/webp,image/svg+xml"
                  aria-describedby={`${id}-logo-hint`}
                  disabled={busy}
                  onChange={upload}
                />
                <div id={`${id}-logo-hint`} class="field-hint">
                  {t('branding.logoHint')}
                </div>
                {settings?.stored.has_logo && (
                  <button type="button" class="button button-small" onClick={removeLogo} disabled={busy}>
                    <Icon name="trash" />
                    <span>{t('branding.removeLogo')}</span>
                  </button>
                )}
              </div>
              <div class="form-error" role="alert">
                {error && (
                  <>
                    <Icon name="alert" size={16} />
                    <span>{error}</span>
                  </>
                )}
              </div>
              <div class="form-actions">
                <button type="submit" class="button button-primary" disabled={busy}>
                  {busy ? t('branding.saving') : t('branding.save')}
                </button>
                <span class="muted small" role="status">
                  {saved ? t('branding.saved') : ''}
                </span>
              </div>
            </form>
          </Card>
          <BrandPreview
            brand={{
              product_name: draft.product_name || eff.product_name || 'Tally',
              accent_color: pick('accent_color'),
              background_color: pick('background_color'),
              surface_color: pick('surface_color'),
              text_color: pick('text_color'),
              logo_url: eff.logo_url,
              powered_by: draft.powered_by,
            }}
          />
        </div>
      )}
    </>
  );
}
