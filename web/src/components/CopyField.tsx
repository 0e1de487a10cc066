import { useId, useRef, useState } from 'preact/hooks';
import { t } from '../i18n';
import { Icon } from './Icon';

interface Props {
  label: string;
  value: string;
  multiline?: boolean;
  /** A configuration block: lines kept whole (scrolls sideways) and a few more of them shown. */
  code?: boolean;
  hint?: string;
}

/** A read-only value with a copy button; falls back to selecting the text where the clipboard is not available (plain HTTP). */
export function CopyField({ label, value, multiline, code, hint }: Props) {
  const id = useId();
  const field = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const [state, setState] = useState<'idle' | 'copied' | 'manual'>('idle');

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setState('copied');
    } catch {
      field.current?.focus();
      field.current?.select();
      setState(document.execCommand?.('copy') ? 'copied' : 'manual');
    }
    window.setTimeout(() => setState('idle'), 2500);
  };

  const common = {
    id,
    ref: field,
    readOnly: true,
    value,
    class: 'input mono',
    spellcheck: false,
    'aria-describedby': hint ? `${id}-hint` : undefined,
    onFocus: (e: FocusEvent) => (e.currentTarget as HTMLInputElement).select(),
  };
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <div class="copy-field">
        {multiline || code ? (
          <textarea rows={code ? 5 : 3} wrap={code ? 'off' : undefined} {...common} />
        ) : (
          <input type="text" {...common} />
        )}
        <button type="button" class="button" onClick={copy} aria-label={t('copy.label', { what: label })}>
          <Icon name={state === 'copied' ? 'check' : 'copy'} />
          <span>{state === 'copied' ? t('copy.copied') : t('copy.copy')}</span>
        </button>
      </div>
      <div class="field-hint" id={`${id}-hint`} aria-live="polite">
        {state === 'manual' ? t('copy.failed') : hint}
      </div>
    </div>
  );
}
