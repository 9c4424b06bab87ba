// The sign-in screen: paste an operator token, or sign in with the configured identity provider.
import { useState, type FormEvent } from 'react';
import { settings, signIn, startOidc } from './session';

export function SignIn({ error }: { error: string | null }) {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string | null>(error);
  const [busy, setBusy] = useState(false);
  const oidc = settings();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await signIn(token.trim());
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <h1>Checker console</h1>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      {oidc.oidcIssuer && (
        <p>
          <button
            type="button"
            onClick={() => startOidc(oidc).catch((err: Error) => setProblem(err.message))}
          >
            Sign in with your identity provider
          </button>
        </p>
      )}
      <form onSubmit={submit}>
        <label htmlFor="token">Operator token</label>
        <textarea id="token" rows={4} value={token} onChange={(e) => setToken(e.target.value)} required />
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in with this token
        </button>
      </form>
      <p className="hint">
        Outside production the service prints a console link per demo operator when it starts.
      </p>
    </main>
  );
}
