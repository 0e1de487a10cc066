import { useEffect } from 'preact/hooks';
import { useBranding } from '../branding/branding';

/** "Servers · Brand" in the tab, the brand alone when there is no page title. */
export function useDocumentTitle(title: string | null): void {
  const { product_name } = useBranding();
  useEffect(() => {
    document.title = title ? `${title} · ${product_name}` : product_name;
  }, [title, product_name]);
}
