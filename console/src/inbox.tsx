// The inbox: "Pending my decision" (oldest first, only what this operator may approve now) and "All
// requests" with filters; a table with one row per request; bulk approve or reject with a result per item.
import { useEffect, useState, type FormEvent } from 'react';
import { mutate, query } from './api';
import type { Shell } from './app';
import { APPROVE_MANY, INBOX, REJECT_MANY, type DecisionResult, type Page } from './documents';
import { age, money, timeLeft } from './format';

const STATUSES = ['PENDING', 'APPROVED', 'REJECTED', 'CANCELLED', 'EXPIRED', 'REVERSED'];

interface Filters {
  status: string;
  minAmount: string;
  maxAmount: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { status: '', minAmount: '', maxAmount: '', from: '', to: '' };

function variablesOf(mine: boolean, filters: Filters, page: number, clientId: string) {
  if (mine) return { clientId, page, status: ['PENDING'], decidableByMe: true, oldestFirst: true };
  const v: Record<string, unknown> = { clientId, page };
  if (filters.status) v.status = [filters.status];
  if (filters.minAmount) v.minAmount = filters.minAmount;
  if (filters.maxAmount) v.maxAmount = filters.maxAmount;
  if (filters.from) v.from = filters.from;
  if (filters.to) v.to = filters.to;
  return v;
}

export function Inbox({ shell }: { shell: Shell }) {
  const { partner, me, version } = shell;
  const isChecker = me.roles.some((r) => r === 'CHECKER' || r === 'ADMIN');
  const [mine, setMine] = useState(isChecker);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [page, setPage] = useState(1);
  const [data, setData] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());

  useEffect(() => {
    let live = true;
    query<{ processRequests: Page }>(INBOX, variablesOf(mine, filters, page, partner.id))
      .then((d) => {
        if (!live) return;
        setData(d.processRequests);
        setError(null);
        const shown = new Set(d.processRequests.items.map((r) => r.id));
        setSelected((s) => new Set([...s].filter((id) => shown.has(id))));
      })
      .catch((err: Error) => live && setError(err.message));
    return () => {
      live = false;
    };
  }, [mine, filters, page, partner.id, version]);

  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const applyFilters = (e: FormEvent) => {
    e.preventDefault();
    setPage(1);
    setFilters(draft);
  };
  const now = Date.now();
  const items = data?.items ?? [];
  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title">{mine ? 'Pending my decision' : 'All requests'}</h1>
      <div className="tabs" role="group" aria-label="Views">
        <button type="button" aria-pressed={mine} onClick={() => (setMine(true), setPage(1))}>
          Pending my decision
        </button>
        <button type="button" aria-pressed={!mine} onClick={() => (setMine(false), setPage(1))}>
          All requests
        </button>
      </div>
      {!mine && (
        <form className="filters" onSubmit={applyFilters} aria-label="Filters">
          <label>
            Status
            <select value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value })}>
              <option value="">Any</option>
              {STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            Amount from
            <input
              inputMode="decimal"
              value={draft.minAmount}
              onChange={(e) => setDraft({ ...draft, minAmount: e.target.value })}
            />
          </label>
          <label>
            Amount to
            <input
              inputMode="decimal"
              value={draft.maxAmount}
              onChange={(e) => setDraft({ ...draft, maxAmount: e.target.value })}
            />
          </label>
          <label>
            Created from
            <input
              type="date"
              value={draft.from}
              onChange={(e) => setDraft({ ...draft, from: e.target.value })}
            />
          </label>
          <label>
            Created to
            <input
              type="date"
              value={draft.to}
              onChange={(e) => setDraft({ ...draft, to: e.target.value })}
            />
          </label>
          <button type="submit">Apply filters</button>
        </form>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {isChecker && <Bulk shell={shell} ids={[...selected]} onDone={() => setSelected(new Set())} />}
      <table>
        <caption>
          {data
            ? `${data.total} request${data.total === 1 ? '' : 's'}, page ${data.page} of ${Math.max(1, data.totalPages)}`
            : 'Loading…'}
        </caption>
        <thead>
          <tr>
            <th scope="col">Select</th>
            <th scope="col">Amount</th>
            <th scope="col">Created by</th>
            <th scope="col">Age</th>
            <th scope="col">Time left</th>
            <th scope="col">Approvals</th>
            <th scope="col">Status</th>
            <th scope="col">Request</th>
          </tr>
        </thead>
        <tbody>
          {items.map((r) => (
            <tr key={r.id} data-request-id={r.id}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Select ${money(r.requestedAmount, r.currency)} by ${r.creator.name}`}
                  checked={selected.has(r.id)}
                  disabled={r.status !== 'PENDING'}
                  onChange={() => toggle(r.id)}
                />
              </td>
              <td className="num">{money(r.requestedAmount, r.currency)}</td>
              <td>{r.creator.name}</td>
              <td>{age(r.createdAt, now)}</td>
              <td>{timeLeft(r.expiresAt, r.status, now)}</td>
              <td>
                {r.approvals.length} of {r.requiredApprovals}
              </td>
              <td>{r.status}</td>
              <td>
                <button
                  type="button"
                  className="link"
                  onClick={() => shell.open({ name: 'request', id: r.id })}
                >
                  Open {r.id.slice(0, 8)}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && data.totalPages > 1 && (
        <div className="pager">
          <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            Previous page
          </button>
          <button type="button" disabled={page >= data.totalPages} onClick={() => setPage(page + 1)}>
            Next page
          </button>
        </div>
      )}
    </section>
  );
}

function Bulk({ shell, ids, onDone }: { shell: Shell; ids: string[]; onDone: () => void }) {
  const [otp, setOtp] = useState('');
  const [reason, setReason] = useState('');
  const [results, setResults] = useState<DecisionResult[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (document: string) => {
    setBusy(true);
    setError(null);
    try {
      const variables: Record<string, unknown> = { clientId: shell.partner.id, ids };
      if (otp) variables.otp = otp;
      if (reason.trim()) variables.reason = reason.trim();
      const data = await mutate<Record<string, DecisionResult[]>>(document, variables);
      setResults(Object.values(data)[0]);
      setOtp('');
      onDone();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="bulk" role="group" aria-label="Selected requests">
      <span>{ids.length} selected</span>
      {shell.me.otpRequired && (
        <label>
          OTP code
          <input
            inputMode="numeric"
            autoComplete="one-time-code"
            value={otp}
            onChange={(e) => setOtp(e.target.value)}
          />
        </label>
      )}
      <label>
        Reason
        <input value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <button type="button" disabled={busy || ids.length === 0} onClick={() => run(APPROVE_MANY)}>
        Approve selected
      </button>
      <button type="button" disabled={busy || ids.length === 0} onClick={() => run(REJECT_MANY)}>
        Reject selected
      </button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {results && (
        <ul className="results" aria-label="Results" aria-live="polite">
          {results.map((r) => (
            <li key={r.id} data-result-id={r.id} className={r.ok ? 'ok' : 'refused'}>
              {r.id.slice(0, 8)}: {r.ok ? 'done' : `refused (${r.code}) ${r.message ?? ''}`}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
