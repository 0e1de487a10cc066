import { useEffect, useId, useState } from 'preact/hooks';
import { createAlert, updateAlert } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { AlertKind, AlertRule, AlertRuleBody, ChannelType, Server } from '../api/types';
import { Dialog } from '../components/Dialog';
import { t } from '../i18n';
import { CHANNELS, isThreshold, KINDS, thresholdScale, usesAfter, watchesStreams } from './kinds';

interface Props {
  open: boolean;
  /** The rule to edit; a new one when null. */
  rule: AlertRule | null;
  servers: Server[];
  onClose: () => void;
  onSaved: () => void;
}

interface Draft {
  name: string;
  kind: AlertKind;
  server: string;
  app: string;
  stream: string;
  after: string;
  threshold: string;
  direction: 'above' | 'below';
  forS: string;
  cooldown: string;
  repeat: string;
  channel: ChannelType;
  url: string;
  secret: string;
  to: string;
}

function draftOf(rule: AlertRule | null): Draft {
  const scale = rule ? thresholdScale(rule.kind) : 1;
  return {
    name: rule?.name ?? '',
    kind: rule?.kind ?? 'server_offline',
    server: rule?.scope.server ?? '',
    app: rule?.scope.app ?? '',
    stream: rule?.scope.stream ?? '',
    after: String(rule?.after_s ?? 60),
    threshold: rule?.threshold != null ? String(rule.threshold / scale) : '',
    direction: rule?.direction ?? 'above',
    forS: String(rule?.for_s ?? 0),
    cooldown: String(rule?.cooldown_s ?? 300),
    repeat: String(rule?.repeat_s ?? 0),
    channel: rule?.channel.type ?? 'webhook',
    url: rule?.channel.url ?? '',
    secret: '',
    to: rule?.channel.to ?? '',
  };
}

type Field = keyof Draft | 'form';

interface TextOptions {
  hint?: string;
  type?: 'text' | 'number' | 'email' | 'url' | 'password';
  placeholder?: string;
  mono?: boolean;
}

/** API error fields → the form field that shows them. */
const FIELD_OF: Record<string, Field> = {
  name: 'name',
  kind: 'kind',
  'scope.server': 'server',
  'scope.app': 'app',
  'scope.stream': 'stream',
  after_s: 'after',
  threshold: 'threshold',
  direction: 'direction',
  for_s: 'forS',
  cooldown_s: 'cooldown',
  repeat_s: 'repeat',
  'channel.type': 'channel',
  'channel.url': 'url',
  'channel.secret': 'secret',
  'channel.to': 'to',
};

/** Creates or edits an alert rule: what it watches, when it fires, where it says so. */
export function RuleDialog({ open, rule, servers, onClose, onSaved }: Props) {
  const id = useId();
  const [d, setD] = useState<Draft>(draftOf(rule));
  const [error, setError] = useState<{ field: Field; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!open) return;
    setD(draftOf(rule));
    setError(null);
  }, [open, rule]);

  const set = <K extends keyof Draft>(key: K, value: Draft[K]) => setD((old) => ({ ...old, [key]: value }));
  const whole = (text: string) => (/^\d+$/.test(text.trim()) ? Number(text) : NaN);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const fail = (field: Field, text: string) => setError({ field, text });
    if (!d.name.trim()) return fail('name', t('alerts.nameRequired'));
    // The scope is sent whole (an empty server is "every server"), so it replaces the old one.
    const body: AlertRuleBody = {
      name: d.name.trim(),
      kind: d.kind,
      scope: {
        server: d.server,
        app: watchesStreams(d.kind) ? d.app.trim() : '',
        stream: watchesStreams(d.kind) ? d.stream.trim() : '',
      },
      cooldown_s: whole(d.cooldown),
      repeat_s: whole(d.repeat),
      channel: { type: d.channel },
    };
    if (usesAfter(d.kind)) body.after_s = whole(d.after);
    if (isThreshold(d.kind)) {
      const n = Number(d.threshold);
      if (d.threshold.trim() === '' || !Number.isFinite(n) || n < 0) {
        return fail('threshold', t('alerts.thresholdRequired'));
      }
      body.threshold = n * thresholdScale(d.kind);
      body.direction = d.direction;
      body.for_s = whole(d.forS);
    }
    for (const [field, value] of [
      ['after', body.after_s],
      ['forS', body.for_s],
      ['cooldown', body.cooldown_s],
      ['repeat', body.repeat_s],
    ] as const) {
      if (value !== undefined && Number.isNaN(value)) return fail(field, t('alerts.secondsInvalid'));
    }
    if (d.channel === 'email') {
      if (!d.to.includes('@')) return fail('to', t('alerts.toRequired'));
      body.channel = { type: 'email', to: d.to.trim() };
    } else {
      if (!/^https?:\/\/\S+$/.test(d.url.trim())) return fail('url', t('alerts.urlRequired'));
      body.channel = { type: d.channel, url: d.url.trim() };
      if (d.channel === 'webhook' && d.secret) body.channel.secret = d.secret;
    }
    setBusy(true);
    try {
      if (rule) await updateAlert(rule.id, body);
      else await createAlert(body);
      onSaved();
      onClose();
    } catch (err) {
      const apiField = (err as { field?: string | null }).field ?? '';
      fail(FIELD_OF[apiField] ?? 'form', errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const hintFor = (field: Field, text?: string) => {
    const bad = error?.field === field;
    if (!bad && !text) return null;
    return (
      <div id={`${id}-${field}-hint`} class={bad ? 'field-error' : 'field-hint'} role={bad ? 'alert' : undefined}>
        {bad ? error?.text : text}
      </div>
    );
  };
  const described = (field: Field, hasHint: boolean) =>
    hasHint || error?.field === field ? `${id}-${field}-hint` : undefined;

  const text = (field: keyof Draft, label: string, opts: TextOptions = {}) => (
    <div class="field">
      <label for={`${id}-${field}`}>{label}</label>
      <input
        id={`${id}-${field}`}
        class={opts.mono ? 'input mono' : 'input'}
        // One text-like input for several types; the cast keeps the typings' per-type unions quiet.
        type={(opts.type ?? 'text') as 'text'}
        inputMode={opts.type === 'number' ? 'decimal' : undefined}
        min={opts.type === 'number' ? 0 : undefined}
        autoComplete="off"
        spellcheck={false}
        placeholder={opts.placeholder}
        value={d[field] as string}
        aria-invalid={error?.field === field ? true : undefined}
        aria-describedby={described(field, !!opts.hint)}
        onInput={(e) => set(field, (e.currentTarget as HTMLInputElement).value as never)}
      />
      {hintFor(field, opts.hint)}
    </div>
  );

  const unit = d.kind === 'cpu' || d.kind === 'ram' ? '%' : d.kind === 'bandwidth' ? 'Mbit/s' : t('alerts.unit.viewers');

  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={rule ? t('alerts.editTitle', { name: rule.name }) : t('alerts.createTitle')}
      footer={
        <>
          <button type="button" class="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" form={`${id}-form`} class="button button-primary" disabled={busy}>
            {rule ? t('common.save') : t('alerts.create')}
          </button>
        </>
      }
    >
      <form id={`${id}-form`} onSubmit={submit} noValidate>
        {text('name', t('alerts.name'), { hint: t('alerts.nameHint') })}
        <div class="field">
          <label for={`${id}-kind`}>{t('alerts.kind')}</label>
          <select
            id={`${id}-kind`}
            class="select"
            value={d.kind}
            aria-describedby={`${id}-kind-hint`}
            onChange={(e) => set('kind', (e.currentTarget as HTMLSelectElement).value as AlertKind)}
          >
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`alerts.kind.${k}`)}
              </option>
            ))}
          </select>
          {hintFor('kind', t(`alerts.kindHint.${d.kind}`))}
        </div>
        <div class="field">
          <label for={`${id}-server`}>{t('alerts.server')}</label>
          <select
            id={`${id}-server`}
            class="select"
            value={d.server}
            aria-describedby={described('server', false)}
            onChange={(e) => set('server', (e.currentTarget as HTMLSelectElement).value)}
          >
            <option value="">{t('alerts.scope.allServers')}</option>
            {servers.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
          {hintFor('server')}
        </div>
        {watchesStreams(d.kind) && (
          <div class="field-row">
            {text('app', t('alerts.app'), { hint: t('alerts.exactHint'), mono: true })}
            {text('stream', t('alerts.stream'), { hint: t('alerts.exactHint'), mono: true })}
          </div>
        )}
        {usesAfter(d.kind) && text('after', t('alerts.after'), { type: 'number', hint: t('alerts.afterHint') })}
        {isThreshold(d.kind) && (
          <div class="field-row">
            <div class="field">
              <label for={`${id}-direction`}>{t('alerts.direction')}</label>
              <select
                id={`${id}-direction`}
                class="select"
                value={d.direction}
                onChange={(e) => set('direction', (e.currentTarget as HTMLSelectElement).value as 'above' | 'below')}
              >
                <option value="above">{t('alerts.above')}</option>
                <option value="below">{t('alerts.below')}</option>
              </select>
            </div>
            {text('threshold', t('alerts.threshold', { unit }), { type: 'number' })}
            {text('forS', t('alerts.for'), { type: 'number', hint: t('alerts.forHint') })}
          </div>
        )}
        <div class="field-row">
          {text('cooldown', t('alerts.cooldown'), { type: 'number', hint: t('alerts.cooldownHint') })}
          {text('repeat', t('alerts.repeat'), { type: 'number', hint: t('alerts.repeatHint') })}
        </div>
        <div class="field">
          <label for={`${id}-channel`}>{t('alerts.channel')}</label>
          <select
            id={`${id}-channel`}
            class="select"
            value={d.channel}
            aria-describedby={described('channel', true)}
            onChange={(e) => set('channel', (e.currentTarget as HTMLSelectElement).value as ChannelType)}
          >
            {CHANNELS.map((c) => (
              <option key={c} value={c}>
                {t(`alerts.channel.${c}`)}
              </option>
            ))}
          </select>
          {hintFor('channel', t(`alerts.channelHint.${d.channel}`))}
        </div>
        {d.channel === 'email'
          ? text('to', t('alerts.to'), { type: 'email', placeholder: 'ops@example.com' })
          : text('url', t('alerts.url'), { type: 'url', placeholder: 'https://', mono: true })}
        {d.channel === 'webhook' &&
          text('secret', t('alerts.secret'), {
            type: 'password',
            hint: rule?.channel.secret_set ? t('alerts.secretKept') : t('alerts.secretHint'),
          })}
        {error?.field === 'form' && (
          <p class="field-error" role="alert">
            {error.text}
          </p>
        )}
      </form>
    </Dialog>
  );
}
