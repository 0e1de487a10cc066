import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { useDocumentTitle } from '../hooks/useDocumentTitle';
import { hasNavigated } from '../router/router';

interface Props {
  title: string;
  /** A line under the title (server name, stream state). */
  subtitle?: ComponentChildren;
  /** Controls at the right: range picker, time zone, primary action. */
  children?: ComponentChildren;
  /** Shown above the title, e.g. a link back to the list. */
  back?: ComponentChildren;
}

/**
 * The screen's heading. After client-side navigation it takes focus, so keyboard and
 * screen-reader users land at the top of the new content as they would on a page load; on the
 * first screen focus stays at the start of the document, where the skip link is.
 */
export function PageHeader({ title, subtitle, children, back }: Props) {
  const heading = useRef<HTMLHeadingElement>(null);
  useDocumentTitle(title);
  useEffect(() => {
    if (!hasNavigated()) return;
    if (document.activeElement === document.body || document.activeElement?.closest('nav')) {
      heading.current?.focus({ preventScroll: true });
    }
  }, [title]);
  return (
    <header class="page-head">
      <div class="page-title">
        {back}
        <h1 ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {subtitle && <div class="page-subtitle">{subtitle}</div>}
      </div>
      {children && <div class="page-tools">{children}</div>}
    </header>
  );
}
