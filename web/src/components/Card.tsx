import type { ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';

interface Props {
  title?: ComponentChildren;
  /** Buttons or links at the right of the title (CSV export, "view all"). */
  actions?: ComponentChildren;
  footer?: ComponentChildren;
  class?: string;
  children?: ComponentChildren;
}

/** A titled panel; the title labels the region for screen readers. */
export function Card({ title, actions, footer, class: className, children }: Props) {
  const id = useId();
  return (
    <section class={className ? `card ${className}` : 'card'} aria-labelledby={title ? id : undefined}>
      {(title || actions) && (
        <header class="card-head">
          {title && <h2 id={id}>{title}</h2>}
          {actions && <div class="card-actions">{actions}</div>}
        </header>
      )}
      <div class="card-body">{children}</div>
      {footer && <footer class="card-foot">{footer}</footer>}
    </section>
  );
}
