// The navigation, in one list. Administration screens (accounts, users, tokens, branding,
// retention, activity, alerts) get their entry here when their screen is written: an entry with
// a `probe` is shown only once that API answers 200 for the signed-in user, so a server without
// the feature, or a role without access, never shows a dead link.
import type { ComponentType } from 'preact';
import type { Me, Role } from '../api/types';
import type { IconName } from '../components/Icon';
import type { MessageKey } from '../i18n';

export interface NavEntry {
  href: string;
  label: MessageKey;
  icon: IconName;
  /** GET path under /api/v1 that must answer 200 for the entry to show. */
  probe?: string | ((me: Me) => string);
  /** Roles that see the entry; all when absent. */
  roles?: Role[];
  operatorOnly?: boolean;
  /** The screen; entries without one are not shown yet. */
  screen?: () => Promise<ComponentType>;
}

export const MAIN_NAV: NavEntry[] = [
  // The billing role's start page is the billing report (App.tsx), so it has no overview entry.
  { href: '/', label: 'nav.overview', icon: 'overview', roles: ['owner', 'admin', 'viewer'] },
  { href: '/servers', label: 'nav.servers', icon: 'servers', roles: ['owner', 'admin', 'viewer'] },
  { href: '/streams', label: 'nav.streams', icon: 'streams', roles: ['owner', 'admin', 'viewer'] },
  { href: '/reports', label: 'nav.reports', icon: 'reports' },
];

export const ADMIN_NAV: NavEntry[] = [
  {
    href: '/accounts',
    label: 'nav.accounts',
    icon: 'accounts',
    probe: '/accounts',
    operatorOnly: true,
    screen: () => import('../pages/AccountsPage').then((m) => m.AccountsPage),
  },
  {
    href: '/users',
    label: 'nav.users',
    icon: 'users',
    probe: (me) => `/accounts/${encodeURIComponent(me.account.id)}/users`,
    roles: ['owner', 'admin'],
    screen: () => import('../pages/UsersPage').then((m) => m.UsersPage),
  },
  {
    href: '/tokens',
    label: 'nav.tokens',
    icon: 'tokens',
    probe: '/tokens',
    screen: () => import('../pages/TokensPage').then((m) => m.TokensPage),
  },
  {
    href: '/settings/branding',
    label: 'nav.branding',
    icon: 'branding',
    probe: '/branding/settings',
    roles: ['owner', 'admin'],
    screen: () => import('../pages/BrandingPage').then((m) => m.BrandingPage),
  },
  {
    href: '/settings/retention',
    label: 'nav.retention',
    icon: 'retention',
    probe: '/settings/retention',
    roles: ['owner', 'admin'],
    screen: () => import('../pages/RetentionPage').then((m) => m.RetentionPage),
  },
  {
    href: '/slices',
    label: 'nav.slices',
    icon: 'slices',
    probe: '/slices',
    roles: ['owner', 'admin', 'viewer'],
    screen: () => import('../pages/SlicesPage').then((m) => m.SlicesPage),
  },
  {
    href: '/alerts',
    label: 'nav.alerts',
    icon: 'alerts',
    probe: '/alerts',
    roles: ['owner', 'admin', 'viewer'],
    screen: () => import('../pages/AlertsPage').then((m) => m.AlertsPage),
  },
  {
    href: '/activity',
    label: 'nav.activity',
    icon: 'activity',
    probe: '/activity',
    roles: ['owner', 'admin'],
    screen: () => import('../pages/ActivityPage').then((m) => m.ActivityPage),
  },
  {
    href: '/me',
    label: 'nav.me',
    icon: 'user',
    probe: '/me/sessions',
    screen: () => import('../pages/MePage').then((m) => m.MePage),
  },
];
