import type { ComponentChildren } from 'preact';
import { navigate, useLocation } from './router';

interface Props {
  href: string;
  class?: string;
  title?: string;
  'aria-label'?: string;
  onClick?: (e: MouseEvent) => void;
  /** Marks the link current when the path starts with `href` (for navigation sections). */
  section?: boolean;
  children?: ComponentChildren;
}

/** An ordinary anchor (middle-click, copy link work) that navigates in-app on a plain click. */
export function Link({ href, section, children, onClick, ...rest }: Props) {
  const { path } = useLocation();
  const target = href.split('?')[0] ?? href;
  const active = section ? path === target || path.startsWith(`${target}/`) : path === target;
  return (
    <a
      {...rest}
      href={href}
      aria-current={active ? 'page' : undefined}
      onClick={(e) => {
        onClick?.(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
