import { useId } from 'preact/hooks';
import type { Slice } from '../api/types';
import { t } from '../i18n';

interface Props {
  slices: Slice[];
  chosen: string[];
  onChange: (chosen: string[]) => void;
}

/** Tick boxes of the account's slices a viewer or billing user is limited to (none: everything). */
export function SliceChoices({ slices, chosen, onChange }: Props) {
  const id = useId();
  return (
    <fieldset class="field" aria-describedby={`${id}-hint`}>
      <legend>{t('users.slices')}</legend>
      <div class="server-choices">
        {slices.map((s) => (
          <div class="check-field" key={s.id}>
            <input
              id={`${id}-${s.id}`}
              type="checkbox"
              checked={chosen.includes(s.id)}
              onChange={(e) => {
                const on = (e.currentTarget as HTMLInputElement).checked;
                onChange(on ? [...chosen, s.id] : chosen.filter((x) => x !== s.id));
              }}
            />
            <label for={`${id}-${s.id}`}>{s.name}</label>
          </div>
        ))}
      </div>
      <div id={`${id}-hint`} class="field-hint">
        {t('users.slicesHint')}
      </div>
    </fieldset>
  );
}
