import { t } from '../i18n';
import { setTheme, useTheme } from '../theme/theme';
import { Icon } from './Icon';

export function ThemeToggle() {
  const theme = useTheme();
  const next = theme === 'dark' ? 'light' : 'dark';
  const label = next === 'dark' ? t('theme.toDark') : t('theme.toLight');
  return (
    <button type="button" class="icon-button" onClick={() => setTheme(next)} aria-label={label} title={label}>
      <Icon name={theme === 'dark' ? 'sun' : 'moon'} />
    </button>
  );
}
