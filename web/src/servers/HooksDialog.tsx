import { useState } from 'preact/hooks';
import { disableHooks, issueHookSecret } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { HookSecretIssued, Server } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { CopyField } from '../components/CopyField';
import { Dialog } from '../components/Dialog';
import { SecretDialog } from '../components/SecretDialog';
import { formatDateTime } from '../format/date';
import { t } from '../i18n';
import { useTimeZone } from '../state/timeZone';
import { nginxRtmpHooks, srsHooks } from './hookConfig';

interface Props {
  server: Server | null;
  canWrite: boolean;
  onClose: () => void;
  onChanged: () => void;
}

/**
 * A server's notification URLs (nginx-rtmp on_play…, SRS http_hooks): turns them on, issues
 * new ones (the old stop at once) or turns them off. The secret is shown once, with the
 * configuration to paste into the media server.
 */
export function HooksDialog({ server, canWrite, onClose, onChanged }: Props) {
  const tz = useTimeZone();
  const [issued, setIssued] = useState<HookSecretIssued | null>(null);
  const [confirmOff, setConfirmOff] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const close = () => {
    setIssued(null);
    setConfirmOff(false);
    setError(null);
    onClose();
  };

  const issue = async () => {
    if (!server) return;
    setBusy(true);
    setError(null);
    try {
      setIssued(await issueHookSecret(server.id));
      onChanged();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const open = server !== null;
  const name = server?.name ?? '';
  const enabled = server?.hooks?.enabled ?? false;

  if (issued) {
    return (
      <SecretDialog open={open} onClose={close} title={t('hooks.readyTitle', { name })} once={t('hooks.once')}>
        <CopyField label={t('hooks.nginxUrl')} value={issued.urls.nginx_rtmp} hint={t('hooks.nginxUrlHint')} />
        <CopyField label={t('hooks.nginxConfig')} value={nginxRtmpHooks(issued.urls.nginx_rtmp)} code />
        <CopyField label={t('hooks.srsUrl')} value={issued.urls.srs} />
        <CopyField label={t('hooks.srsConfig')} value={srsHooks(issued.urls.srs)} code />
      </SecretDialog>
    );
  }

  if (confirmOff) {
    return (
      <ConfirmDialog
        open={open}
        title={t('hooks.title', { name })}
        confirmLabel={t('hooks.turnOffConfirm')}
        onConfirm={async () => {
          if (server) await disableHooks(server.id);
          onChanged();
        }}
        onClose={close}
      >
        <p>{t('hooks.turnOffBody')}</p>
      </ConfirmDialog>
    );
  }

  const footer = canWrite ? (
    <>
      <button type="button" class="button" onClick={close}>
        {t('common.cancel')}
      </button>
      {enabled && (
        <button type="button" class="button" onClick={() => setConfirmOff(true)} disabled={busy}>
          {t('hooks.turnOff')}
        </button>
      )}
      <button type="button" class="button button-primary" onClick={issue} disabled={busy}>
        {busy ? t('hooks.issuing') : enabled ? t('hooks.rotate') : t('hooks.turnOn')}
      </button>
    </>
  ) : (
    <button type="button" class="button" onClick={close}>
      {t('common.close')}
    </button>
  );

  return (
    <Dialog open={open} onClose={close} title={t('hooks.title', { name })} footer={footer}>
      <p>{t('hooks.about')}</p>
      <p class="strong" data-testid="hooks-state">
        {enabled && server?.hooks.created_at
          ? t('hooks.onSince', { when: formatDateTime(server.hooks.created_at, tz) })
          : t('hooks.off')}
      </p>
      {canWrite && enabled && <p class="muted">{t('hooks.rotateBody')}</p>}
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}
