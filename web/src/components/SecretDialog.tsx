import type { ComponentChildren } from 'preact';
import { t } from '../i18n';
import { Dialog } from './Dialog';
import { Icon } from './Icon';

interface Props {
  open: boolean;
  title: string;
  /** Why to copy it now: it is not shown again. */
  once: string;
  onClose: () => void;
  children?: ComponentChildren;
}

/** A secret just issued (token, link, URL), shown this once with a warning and a Done button. */
export function SecretDialog({ open, title, once, onClose, children }: Props) {
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={title}
      footer={
        <button type="button" class="button button-primary" onClick={onClose}>
          {t('common.done')}
        </button>
      }
    >
      <div class="notice notice-warning">
        <Icon name="alert" />
        <span>{once}</span>
      </div>
      {children}
    </Dialog>
  );
}
