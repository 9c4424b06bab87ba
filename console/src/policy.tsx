// The partner's approval policy: tiers, how long a request may stay pending, and every change.
import { useEffect, useState } from 'react';
import { query } from './api';
import type { Shell } from './app';
import { POLICY } from './documents';
import { duration, when } from './format';

interface State {
  pendingTtlSeconds: number;
  tiers: Array<{ from: string; approvals: number }>;
}
interface Policy extends State {
  updatedAt: string;
  history: Array<{ id: string; at: string; actor: { name: string } | null; before: State; after: State }>;
}

const describe = (s: State) =>
  `${s.tiers.map((t) => `from ${t.from}: ${t.approvals}`).join('; ')}; pending for ${duration(s.pendingTtlSeconds * 1000)}`;

export function PolicyPage({ shell }: { shell: Shell }) {
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    query<{ approvalPolicy: Policy }>(POLICY, { clientId: shell.partner.id })
      .then((d) => setPolicy(d.approvalPolicy))
      .catch((err: Error) => setError(err.message));
  }, [shell.partner.id, shell.version]);
  return (
    <section aria-labelledby="policy-title">
      <h1 id="policy-title">Approval policy of {shell.partner.name}</h1>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {policy && (
        <>
          <table>
            <caption>Approvals needed by amount ({shell.partner.currency})</caption>
            <thead>
              <tr>
                <th scope="col">From amount</th>
                <th scope="col">Approvals</th>
              </tr>
            </thead>
            <tbody>
              {policy.tiers.map((t) => (
                <tr key={t.from}>
                  <td className="num">{t.from}</td>
                  <td>{t.approvals}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>A request may stay pending for {duration(policy.pendingTtlSeconds * 1000)}.</p>
          <h2>Changes</h2>
          {policy.history.length === 0 ? (
            <p>No change yet: this is the default policy.</p>
          ) : (
            <ol className="history">
              {policy.history.map((c) => (
                <li key={c.id}>
                  <time dateTime={c.at}>{when(c.at)}</time> by {c.actor?.name ?? 'the CLI'}:{' '}
                  {describe(c.before)} → {describe(c.after)}
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </section>
  );
}
