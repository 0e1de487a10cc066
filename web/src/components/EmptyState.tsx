import type { ComponentChildren } from 'preact';
import { Icon, type IconName } from './Icon';

interface Props {
  icon?: IconName;
  title: string;
  children?: ComponentChildren;
  /** The next step: usually one button or link. */
  action?: ComponentChildren;
  compact?: boolean;
}

/** What a screen shows before there is data, saying what to do next. */
export function EmptyState({ icon = 'streams', title, children, action, compact }: Props) {
  return (
    <div class={compact ? 'empty empty-compact' : 'empty'}>
      <div class="empty-icon">
        <Icon name={icon} size={compact ? 20 : 28} />
      </div>
      <h3 class="empty-title">{title}</h3>
      {children && <div class="empty-body">{children}</div>}
      {action && <div class="empty-action">{action}</div>}
    </div>
  );
}
