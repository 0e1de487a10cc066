import { useBranding } from '../branding/branding';

/** Logo and product name from the branding. */
export function BrandMark({ large }: { large?: boolean }) {
  const b = useBranding();
  return (
    <span class={large ? 'brand brand-large' : 'brand'}>
      {b.logo_url && <img class="brand-logo" src={b.logo_url} alt="" width={large ? 44 : 30} height={large ? 44 : 30} />}
      <span class="brand-name">{b.product_name}</span>
    </span>
  );
}
