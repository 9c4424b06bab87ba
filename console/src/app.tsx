// The console's shell: sign-in, the operator's header, the partner, and which screen is shown.
import { useCallback, useEffect, useRef, useState } from 'react';
import { query, watchProgress } from './api';
import { ME, type Me, type Partner } from './documents';
import { Inbox } from './inbox';
import { RequestPage } from './request-page';
import { CreateRequest } from './create';
import { PolicyPage } from './policy';
import { SignIn } from './sign-in';
import {
  finishOidc,
  onTokens,
  settings,
  signIn,
  signOut,
  storedUserToken,
  takeFragmentToken,
  tokens,
} from './session';

type Screen = { name: 'inbox' } | { name: 'request'; id: string } | { name: 'create' } | { name: 'policy' };

export interface Shell {
  me: Me;
  partner: Partner;
  /** Bumped on every live event of the partner: screens read again. */
  version: number;
  open(screen: Screen): void;
}

function useSignedIn(): { signedIn: boolean; starting: boolean; error: string | null } {
  const [signedIn, setSignedIn] = useState(tokens() !== null);
  const [starting, setStarting] = useState(true);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const unlisten = onTokens((t) => setSignedIn(t !== null));
    (async () => {
      const token = takeFragmentToken() ?? (await finishOidc(settings())) ?? storedUserToken();
      if (token) await signIn(token);
    })()
      .catch((err: Error) => setError(err.message))
      .finally(() => setStarting(false));
    return () => {
      unlisten();
    };
  }, []);
  return { signedIn, starting, error };
}

export function App() {
  const { signedIn, starting, error } = useSignedIn();
  if (starting) return <p className="loading">Signing in…</p>;
  if (!signedIn) return <SignIn error={error} />;
  return <Console />;
}

function Console() {
  const [me, setMe] = useState<Me | null>(null);
  const [partners, setPartners] = useState<Partner[]>([]);
  const [partnerId, setPartnerId] = useState<string>('');
  const [screen, setScreen] = useState<Screen>({ name: 'inbox' });
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const pending = useRef<ReturnType<typeof setTimeout>>(undefined);

  useEffect(() => {
    query<{ me: Me; partners: Partner[] }>(ME)
      .then((data) => {
        setMe(data.me);
        setPartners(data.partners);
        setPartnerId((id) => id || data.partners[0]?.id || '');
      })
      .catch((err: Error) => setError(err.message));
  }, []);

  // Live: every event of the partner makes the open screen read again (a burst is read once).
  const bump = useCallback(() => {
    clearTimeout(pending.current);
    pending.current = setTimeout(() => setVersion((v) => v + 1), 100);
  }, []);
  useEffect(() => (partnerId ? watchProgress(partnerId, bump) : undefined), [partnerId, bump]);

  const partner = partners.find((p) => p.id === partnerId);
  const canCreate = me?.roles.some((r) => r === 'MAKER' || r === 'ADMIN');
  return (
    <>
      <header className="bar">
        <span className="brand">Checker console</span>
        <nav aria-label="Screens">
          <button
            type="button"
            aria-current={screen.name === 'inbox'}
            onClick={() => setScreen({ name: 'inbox' })}
          >
            Inbox
          </button>
          {canCreate && (
            <button
              type="button"
              aria-current={screen.name === 'create'}
              onClick={() => setScreen({ name: 'create' })}
            >
              New request
            </button>
          )}
          <button
            type="button"
            aria-current={screen.name === 'policy'}
            onClick={() => setScreen({ name: 'policy' })}
          >
            Policy
          </button>
        </nav>
        <label className="partner">
          Partner{' '}
          <select value={partnerId} onChange={(e) => setPartnerId(e.target.value)}>
            {partners.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} ({p.currency})
              </option>
            ))}
          </select>
        </label>
        <span className="who">{me ? `${me.name} · ${me.roles.join(', ')}` : ''}</span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {me && partner && screen.name === 'inbox' && (
          <Inbox shell={{ me, partner, version, open: setScreen }} />
        )}
        {me && partner && screen.name === 'request' && (
          <RequestPage shell={{ me, partner, version, open: setScreen }} id={screen.id} />
        )}
        {me && partner && screen.name === 'create' && (
          <CreateRequest shell={{ me, partner, version, open: setScreen }} />
        )}
        {me && partner && screen.name === 'policy' && (
          <PolicyPage shell={{ me, partner, version, open: setScreen }} />
        )}
        {me && partners.length === 0 && <p>No partner is in your scope.</p>}
      </main>
    </>
  );
}
