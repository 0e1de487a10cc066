import type { Me } from '../api/types';
import { Icon } from '../components/Icon';
import { ThemeToggle } from '../components/ThemeToggle';
import { t } from '../i18n';
import { Link } from '../router/Link';
import { BrandMark } from './BrandMark';
import { PoweredBy } from './PoweredBy';
import { useNavigation } from './useNavigation';

interface Props {
  me: Me;
  open: boolean;
  onNavigate: () => void;
  onLogout: () => void;
}

/** Brand, navigation and the signed-in user; a drawer on narrow screens. */
export function Sidebar({ me, open, onNavigate, onLogout }: Props) {
  const { main, admin } = useNavigation(me);
  return (
    <aside class={open ? 'sidebar sidebar-open' : 'sidebar'} id="sidebar">
      <div class="sidebar-brand">
        <Link href="/" class="brand-link" onClick={onNavigate}>
          <BrandMark />
        </Link>
      </div>
      <nav class="nav" aria-label={t('app.mainNav')}>
        <ul>
          {main.map((e) => (
            <li key={e.href}>
              <Link href={e.href} section={e.href !== '/'} class="nav-link" onClick={onNavigate}>
                <Icon name={e.icon} />
                <span>{t(e.label)}</span>
              </Link>
            </li>
          ))}
        </ul>
        {admin.length > 0 && (
          <>
            <h2 class="nav-heading">{t('nav.admin')}</h2>
            <ul>
              {admin.map((e) => (
                <li key={e.href}>
                  <Link href={e.href} section class="nav-link" onClick={onNavigate}>
                    <Icon name={e.icon} />
                    <span>{t(e.label)}</span>
                  </Link>
                </li>
              ))}
            </ul>
          </>
        )}
      </nav>
      <div class="sidebar-foot">
        <div class="user">
          <div class="user-avatar" aria-hidden="true">
            {(me.name || me.email).slice(0, 1).toUpperCase()}
          </div>
          <div class="user-text">
            <div class="user-name" title={me.email}>
              {me.name || me.email}
            </div>
            <div class="user-account">{me.account?.name}</div>
          </div>
        </div>
        <div class="sidebar-actions">
          <ThemeToggle />
          <Link href="/privacy" class="icon-button" aria-label={t('app.privacy')} title={t('app.privacy')} onClick={onNavigate}>
            <Icon name="privacy" />
          </Link>
          <button type="button" class="icon-button" onClick={onLogout} aria-label={t('app.logout')} title={t('app.logout')}>
            <Icon name="logout" />
          </button>
        </div>
        <PoweredBy />
      </div>
    </aside>
  );
}
