import { useBranding } from '../branding/branding';

/** The default mark, drawn inline so it takes the brand's accent colour. */
function DefaultMark({ size }: { size: number }) {
  return (
    <svg class="brand-logo brand-mark" width={size} height={size} viewBox="0 0 64 64" aria-hidden="true">
      <rect width="64" height="64" rx="14" />
      <path d="M19 17v30M28 17v30M37 17v30M46 17v30" stroke-width="5" />
      <path d="M13 41l39-18" stroke-width="4.5" />
    </svg>
  );
}

/** Logo and product name from the branding. */
export function BrandMark({ large }: { large?: boolean }) {
  const b = useBranding();
  const size = large ? 44 : 30;
  return (
    <span class={large ? 'brand brand-large' : 'brand'}>
      {b.logo_url ? (
        <img class="brand-logo" src={b.logo_url} alt="" width={size} height={size} />
      ) : (
        <DefaultMark size={size} />
      )}
      <span class="brand-name">{b.product_name}</span>
    </span>
  );
}
