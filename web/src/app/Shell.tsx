import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Me } from '../api/types';
import { Icon } from '../components/Icon';
import { t } from '../i18n';
import { useLocation } from '../router/router';
import { actAs, actingStore } from '../state/acting';
import { useStore } from '../state/store';
import { BrandMark } from './BrandMark';
import { Sidebar } from './Sidebar';

interface Props {
  me: Me;
  onLogout: () => void;
  children?: ComponentChildren;
}

/** The signed-in layout: sidebar (a drawer on phones), and the screen. */
export function Shell({ me, onLogout, children }: Props) {
  const [open, setOpen] = useState(false);
  const { path } = useLocation();
  const acting = useStore(actingStore);
  useEffect(() => {
    setOpen(false);
    window.scrollTo(0, 0);
  }, [path]);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [open]);

  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        {t('app.skip')}
      </a>
      <header class="topbar">
        <button
          type="button"
          class="icon-button"
          aria-expanded={open}
          aria-controls="sidebar"
          aria-label={t('app.menu')}
          onClick={() => setOpen(!open)}
        >
          <Icon name={open ? 'close' : 'menu'} />
        </button>
        <BrandMark />
      </header>
      <Sidebar me={me} open={open} onNavigate={() => setOpen(false)} onLogout={onLogout} />
      {open && <div class="scrim" onClick={() => setOpen(false)} aria-hidden="true" />}
      <main id="main" class="main">
        {acting && me.operator && (
          <div class="notice notice-info acting-banner" data-testid="acting">
            <Icon name="accounts" />
            <span>{t('acting.banner', { name: acting.name })}</span>
            <button type="button" class="button button-small" onClick={() => actAs(null)}>
              {t('acting.back')}
            </button>
          </div>
        )}
        {children}
      </main>
    </div>
  );
}
