import { useEffect, useState } from 'preact/hooks';
import { ApiError, sessionExpired } from '../api/client';
import { fetchMe, logout } from '../api/endpoints';
import type { Me } from '../api/types';
import { InvitePage } from '../pages/InvitePage';
import { LoginPage } from '../pages/LoginPage';
import { NotFoundPage } from '../pages/NotFoundPage';
import { OverviewPage } from '../pages/OverviewPage';
import { PrivacyPage } from '../pages/PrivacyPage';
import { ReportsPage } from '../pages/reports/ReportsPage';
import { ServersPage } from '../pages/ServersPage';
import { StreamPage } from '../pages/StreamPage';
import { StreamsPage } from '../pages/StreamsPage';
import { matchPath, navigate, useLocation } from '../router/router';
import { actingStore, setActing } from '../state/acting';
import { meStore } from '../state/me';
import { useStore } from '../state/store';
import { LazyScreen } from './LazyScreen';
import { ADMIN_NAV } from './navigation';
import { mightBeSignedIn, rememberSignedIn } from './session';
import { Shell } from './Shell';
import { Splash } from './Splash';

/** Where to go after signing in: only a path on this origin. */
function nextPath(search: string): string {
  const next = new URLSearchParams(search).get('next') ?? '/';
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
}

function Screen({ path, billingOnly }: { path: string; billingOnly: boolean }) {
  if (path === '/') return billingOnly ? <ReportsPage report="billing" /> : <OverviewPage />;
  if (path === '/servers') return <ServersPage />;
  if (path === '/streams') return <StreamsPage />;
  const stream = matchPath('/streams/:app/*stream', path);
  if (stream) return <StreamPage app={stream.app ?? ''} stream={stream.stream ?? ''} />;
  if (path === '/reports' || path === '/reports/') return <ReportsPage report="daily" />;
  const report = matchPath('/reports/:report', path);
  if (report) return <ReportsPage report={report.report ?? ''} />;
  if (path === '/privacy') return <PrivacyPage />;
  const admin = ADMIN_NAV.find((e) => e.screen && (path === e.href || path.startsWith(`${e.href}/`)));
  if (admin?.screen) return <LazyScreen load={admin.screen} />;
  return <NotFoundPage path={path} />;
}

export function App() {
  const [me, setMeState] = useState<Me | null | undefined>(mightBeSignedIn() ? undefined : null);
  // The store is updated before the screens render, so role-dependent controls never flash.
  const setMe = (user: Me | null) => {
    meStore.set(user);
    setMeState(user);
  };
  const [reason, setReason] = useState<'expired' | 'signed-out' | null>(null);
  const [bootError, setBootError] = useState<ApiError | null>(null);
  const [bootAttempt, setBootAttempt] = useState(0);
  const expired = useStore(sessionExpired);
  // Screens may correct the signed-in user's profile (name, e-mail) through the store.
  const liveMe = useStore(meStore);
  const { path, search } = useLocation();

  useEffect(() => {
    if (me !== undefined) return;
    const ctrl = new AbortController();
    setBootError(null);
    fetchMe(ctrl.signal)
      .then((user) => {
        // Only operators work in other accounts; anyone else starts in their own.
        if (actingStore.get() && !user.operator) {
          setActing(null);
          setBootAttempt((n) => n + 1);
          return;
        }
        setMe(user);
      })
      .catch((e: unknown) => {
        if (ctrl.signal.aborted) return;
        // The account being worked in is gone (deleted in another tab): back to one's own.
        if (e instanceof ApiError && e.status === 404 && actingStore.get()) {
          setActing(null);
          setBootAttempt((n) => n + 1);
          return;
        }
        // Only a 401 ends the session; an unreachable or restarting server is worth a retry.
        if (e instanceof ApiError && e.status !== 401) {
          setBootError(e);
          return;
        }
        rememberSignedIn(false);
        setMe(null);
      });
    return () => ctrl.abort();
  }, [me, bootAttempt]);

  useEffect(() => {
    if (expired === 0) return;
    rememberSignedIn(false);
    setActing(null);
    setReason('expired');
    setMe(null);
  }, [expired]);

  // Keep the address bar honest: /login while signed out (remembering where the user was going),
  // and away from /login once signed in.
  const invite = matchPath('/invite/:token', path);

  useEffect(() => {
    if (me === null && path !== '/login' && path !== '/privacy' && !invite) {
      navigate(`/login?next=${encodeURIComponent(path + search)}`, { replace: true });
    } else if (me && path === '/login') {
      navigate(nextPath(search), { replace: true });
    }
  }, [me, path, search]);

  const onLogin = (user: Me) => {
    setActing(null);
    rememberSignedIn(true);
    setReason(null);
    setMe(user);
  };
  const onLogout = async () => {
    try {
      await logout();
    } catch {
      /* the session is dropped on this side either way */
    }
    rememberSignedIn(false);
    setActing(null);
    setReason('signed-out');
    setMe(null);
    navigate('/login', { replace: true });
  };

  if (invite) {
    return (
      <InvitePage
        token={invite.token ?? ''}
        onAccepted={(user) => {
          rememberSignedIn(true);
          setReason(null);
          // Without the user in the answer, ask the server who we are now.
          if (user) setMe(user);
          else setMeState(undefined);
        }}
      />
    );
  }
  if (me === undefined) return <Splash error={bootError} onRetry={() => setBootAttempt((n) => n + 1)} />;
  if (me === null) {
    return path === '/privacy' ? <PrivacyPage standalone /> : <LoginPage onLogin={onLogin} reason={reason} />;
  }
  return (
    <Shell me={liveMe ?? me} onLogout={onLogout}>
      <Screen path={path} billingOnly={me.role === 'billing' && !me.operator} />
    </Shell>
  );
}
