import { useEffect, useId, useMemo, useState } from 'preact/hooks';
import { createSlice, updateSlice } from '../api/endpoints';
import { errorText } from '../api/errorText';
import type { Server, Slice } from '../api/types';
import { Dialog } from '../components/Dialog';
import { t } from '../i18n';
import { timeZoneStore } from '../state/timeZone';
import { allTimeZones } from '../time/zone';

interface Props {
  open: boolean;
  /** The slice to edit; a new one when null. */
  slice: Slice | null;
  servers: Server[];
  onClose: () => void;
  onSaved: () => void;
}

/** Why a pattern is not a regular expression, or null. The server has the last word (Rust syntax). */
function regexProblem(pattern: string): string | null {
  if (!pattern) return null;
  try {
    new RegExp(pattern);
    return null;
  } catch (e) {
    return t('streams.badRegex', { message: e instanceof Error ? e.message : String(e) });
  }
}

type Errors = Partial<Record<'name' | 'servers' | 'app_regex' | 'stream_regex' | 'timezone' | 'form', string>>;

/** Creates or edits a slice: a name, some servers (or all), app and stream patterns, a time zone. */
export function SliceDialog({ open, slice, servers, onClose, onSaved }: Props) {
  const id = useId();
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [app, setApp] = useState('');
  const [stream, setStream] = useState('');
  const [timezone, setTimezone] = useState('UTC');
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const zones = useMemo(() => (open ? allTimeZones() : []), [open]);

  useEffect(() => {
    if (!open) return;
    setName(slice?.name ?? '');
    setChosen(slice?.servers ?? []);
    setApp(slice?.app_regex ?? '');
    setStream(slice?.stream_regex ?? '');
    setTimezone(slice?.timezone ?? timeZoneStore.get());
    setErrors({});
  }, [open, slice]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const next: Errors = {};
    if (!name.trim()) next.name = t('slices.nameRequired');
    const appProblem = regexProblem(app);
    if (appProblem) next.app_regex = appProblem;
    const streamProblem = regexProblem(stream);
    if (streamProblem) next.stream_regex = streamProblem;
    setErrors(next);
    if (Object.keys(next).length) return;
    setBusy(true);
    try {
      const body = {
        name: name.trim(),
        servers: chosen,
        app_regex: app || null,
        stream_regex: stream || null,
        timezone,
      };
      if (slice) await updateSlice(slice.id, body);
      else await createSlice(body);
      onSaved();
      onClose();
    } catch (err) {
      const field = ((err as { field?: string | null }).field ?? '').replace(/\[\d+\]$/, '');
      const known = ['name', 'servers', 'app_regex', 'stream_regex', 'timezone'].includes(field);
      setErrors({ [known ? field : 'form']: errorText(err) });
    } finally {
      setBusy(false);
    }
  };

  const toggle = (server: string, on: boolean) =>
    setChosen((old) => (on ? [...old, server] : old.filter((s) => s !== server)));

  const hint = (key: keyof Errors, text: string) => (
    <div id={`${id}-${key}-hint`} class={errors[key] ? 'field-error' : 'field-hint'}>
      {errors[key] ?? text}
    </div>
  );

  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={slice ? t('slices.editTitle', { name: slice.name }) : t('slices.createTitle')}
      footer={
        <>
          <button type="button" class="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" form={`${id}-form`} class="button button-primary" disabled={busy}>
            {slice ? t('common.save') : t('slices.create')}
          </button>
        </>
      }
    >
      <form id={`${id}-form`} onSubmit={submit} noValidate>
        <div class="field">
          <label for={`${id}-name`}>{t('slices.name')}</label>
          <input
            id={`${id}-name`}
            class="input"
            type="text"
            maxLength={200}
            autoComplete="off"
            value={name}
            autoFocus
            aria-invalid={errors.name ? true : undefined}
            aria-describedby={`${id}-name-hint`}
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)}
          />
          {hint('name', t('slices.nameHint'))}
        </div>
        <fieldset class="field" aria-describedby={`${id}-servers-hint`}>
          <legend>{t('slices.servers')}</legend>
          {servers.length > 0 && (
            <div class="server-choices">
              {servers.map((s) => (
                <div class="check-field" key={s.id}>
                  <input
                    id={`${id}-server-${s.id}`}
                    type="checkbox"
                    checked={chosen.includes(s.id)}
                    onChange={(e) => toggle(s.id, (e.currentTarget as HTMLInputElement).checked)}
                  />
                  <label for={`${id}-server-${s.id}`}>{s.name}</label>
                </div>
              ))}
            </div>
          )}
          {hint('servers', t('slices.serversHint'))}
        </fieldset>
        <div class="field-row">
          <div class="field">
            <label for={`${id}-app`}>{t('slices.app')}</label>
            <input
              id={`${id}-app`}
              class="input mono"
              type="text"
              spellcheck={false}
              autoComplete="off"
              placeholder="^live$"
              value={app}
              aria-invalid={errors.app_regex ? true : undefined}
              aria-describedby={`${id}-app_regex-hint`}
              onInput={(e) => setApp((e.currentTarget as HTMLInputElement).value)}
            />
            {hint('app_regex', t('slices.regexHint'))}
          </div>
          <div class="field">
            <label for={`${id}-stream`}>{t('slices.stream')}</label>
            <input
              id={`${id}-stream`}
              class="input mono"
              type="text"
              spellcheck={false}
              autoComplete="off"
              placeholder="news|sport"
              value={stream}
              aria-invalid={errors.stream_regex ? true : undefined}
              aria-describedby={`${id}-stream_regex-hint`}
              onInput={(e) => setStream((e.currentTarget as HTMLInputElement).value)}
            />
            {hint('stream_regex', t('slices.regexHint'))}
          </div>
        </div>
        <div class="field">
          <label for={`${id}-tz`}>{t('slices.timezone')}</label>
          <select
            id={`${id}-tz`}
            class="select"
            value={timezone}
            aria-describedby={`${id}-timezone-hint`}
            onChange={(e) => setTimezone((e.currentTarget as HTMLSelectElement).value)}
          >
            {(zones.includes(timezone) ? zones : [timezone, ...zones]).map((z) => (
              <option key={z} value={z}>
                {z.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
          {hint('timezone', t('slices.timezoneHint'))}
        </div>
        {errors.form && (
          <p class="field-error" role="alert">
            {errors.form}
          </p>
        )}
      </form>
    </Dialog>
  );
}
