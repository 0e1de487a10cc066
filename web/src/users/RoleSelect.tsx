import { useId } from 'preact/hooks';
import type { Role } from '../api/types';
import { t } from '../i18n';

export const ROLES: Role[] = ['owner', 'admin', 'viewer', 'billing'];

interface Props {
  value: Role;
  onChange: (role: Role) => void;
  label: string;
  /** Hide the label visually (in a table row, where the column says it). */
  hiddenLabel?: boolean;
  disabled?: boolean;
}

/** A labelled choice of account role, with what the role may do underneath. */
export function RoleSelect({ value, onChange, label, hiddenLabel, disabled }: Props) {
  const id = useId();
  const select = (
    <select
      id={id}
      class="select"
      value={value}
      disabled={disabled}
      aria-describedby={hiddenLabel ? undefined : `${id}-hint`}
      onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value as Role)}
    >
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {t(`role.${r}`)}
        </option>
      ))}
    </select>
  );
  if (hiddenLabel) {
    return (
      <>
        <label for={id} class="visually-hidden">
          {label}
        </label>
        {select}
      </>
    );
  }
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {select}
      <div id={`${id}-hint`} class="field-hint">
        {t(`role.hint.${value}`)}
      </div>
    </div>
  );
}
