import { useEffect, useRef } from 'preact/hooks';
import { t } from '../i18n';

export interface PreviewBrand {
  product_name: string;
  accent_color: string | null;
  background_color: string | null;
  surface_color: string | null;
  text_color: string | null;
  logo_url: string | null;
  powered_by: boolean;
}

const HEX = /^#[0-9a-f]{6}$/i;

/** A small mock of the panel in the brand being edited. Colours go through the CSSOM (the CSP forbids style attributes). */
export function BrandPreview({ brand }: { brand: PreviewBrand }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const set = (prop: string, v: string | null) => {
      if (v && HEX.test(v)) el.style.setProperty(prop, v);
      else el.style.removeProperty(prop);
    };
    set('--preview-accent', brand.accent_color);
    set('--preview-bg', brand.background_color);
    set('--preview-surface', brand.surface_color);
    set('--preview-text', brand.text_color);
  }, [brand.accent_color, brand.background_color, brand.surface_color, brand.text_color]);
  return (
    <figure class="brand-preview" aria-label={t('branding.preview')}>
      <div ref={ref} class="brand-preview-frame">
        <div class="brand-preview-bar">
          {brand.logo_url ? (
            <img src={brand.logo_url} alt="" class="brand-preview-logo" />
          ) : (
            <span class="brand-preview-mark" aria-hidden="true" />
          )}
          <span class="strong">{brand.product_name || 'Tally'}</span>
        </div>
        <div class="brand-preview-card">
          <div class="muted small">{t('metric.viewers')}</div>
          <div class="brand-preview-number">1 234</div>
          <span class="brand-preview-button">{t('branding.previewButton')}</span>
        </div>
        {brand.powered_by && <div class="muted small">{t('app.poweredBy')}</div>}
      </div>
      <figcaption class="muted small">{t('branding.previewCaption')}</figcaption>
    </figure>
  );
}
