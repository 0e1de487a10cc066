import { useId } from 'preact/hooks';
import { t } from '../i18n';

interface Props {
  label: string;
  /** `#rrggbb`, or '' to inherit. */
  value: string;
  /** The colour in effect when this one is empty, shown in the picker. */
  inherited: string | null;
  onChange: (value: string) => void;
}

const HEX = /^#[0-9a-f]{6}$/i;

/** A colour as a picker and as text (`#rrggbb`); empty means inherited. */
export function ColourField({ label, value, inherited, onChange }: Props) {
  const id = useId();
  const invalid = value !== '' && !HEX.test(value);
  return (
    <div class="field">
      <label for={`${id}-text`}>{label}</label>
      <div class="colour-field">
        <input
          type="color"
          class="colour-swatch"
          aria-label={t('branding.pick', { what: label })}
          value={HEX.test(value) ? value : HEX.test(inherited ?? '') ? (inherited as string) : '#000000'}
          onInput={(e) => onChange((e.currentTarget as HTMLInputElement).value)}
        />
        <input
          id={`${id}-text`}
          class="input mono"
          type="text"
          spellcheck={false}
          maxLength={7}
          placeholder={inherited ?? ''}
          value={value}
          aria-invalid={invalid ? true : undefined}
          aria-describedby={`${id}-hint`}
          onInput={(e) => onChange((e.currentTarget as HTMLInputElement).value.trim())}
        />
      </div>
      <div id={`${id}-hint`} class={invalid ? 'field-error' : 'field-hint'}>
        {invalid ? t('branding.colourInvalid') : t('branding.colourHint')}
      </div>
    </div>
  );
}
