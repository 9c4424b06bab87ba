// One request: its facts, the evidence inline, approvals, history, and the decisions this operator may take.
import { useEffect, useState } from 'react';
import { mutate, query } from './api';
import type { Shell } from './app';
import { APPROVE, CANCEL, EVIDENCE, REJECT, REQUEST, REVERSE, type RequestDetails } from './documents';
import { money, timeLeft, when } from './format';

export function RequestPage({ shell, id }: { shell: Shell; id: string }) {
  const { partner, me, version } = shell;
  const [request, setRequest] = useState<RequestDetails | null>(null);
  const [evidenceUrl, setEvidenceUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [otp, setOtp] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    query<{ processRequest: RequestDetails }>(REQUEST, { clientId: partner.id, id })
      .then((d) => live && setRequest(d.processRequest))
      .catch((err: Error) => live && setError(err.message));
    return () => {
      live = false;
    };
  }, [partner.id, id, version]);
  const hasEvidence = request?.evidence != null;
  useEffect(() => {
    if (!hasEvidence) return;
    query<{ evidenceDownloadUrl: { url: string } }>(EVIDENCE, { clientId: partner.id, id })
      .then((d) => setEvidenceUrl(d.evidenceDownloadUrl.url))
      .catch((err: Error) => setError(err.message));
  }, [partner.id, id, hasEvidence]);

  const act = async (document: string, done: string) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const variables: Record<string, unknown> = { clientId: partner.id, id };
      if (reason.trim()) variables.reason = reason.trim();
      if (otp) variables.otp = otp;
      const data = await mutate<Record<string, { status: string }>>(document, variables);
      setNotice(`${done}: the request is now ${Object.values(data)[0].status}`);
      setOtp('');
      const fresh = await query<{ processRequest: RequestDetails }>(REQUEST, { clientId: partner.id, id });
      setRequest(fresh.processRequest);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (!request)
    return error ? (
      <p role="alert" className="error">
        {error}
      </p>
    ) : (
      <p>Loading…</p>
    );
  const has = (...roles: string[]) => me.roles.some((r) => roles.includes(r));
  const pending = request.status === 'PENDING';
  const own = request.createdBy === me.id;
  const mayDecide = pending && !own && has('CHECKER', 'ADMIN');
  const mayCancel = pending && (has('ADMIN') || (own && has('MAKER')));
  const mayReverse = request.status === 'APPROVED' && request.processTypeId === 1 && has('MAKER', 'ADMIN');
  const ev = request.evidence;
  return (
    <article aria-labelledby="request-title">
      <button type="button" className="link" onClick={() => shell.open({ name: 'inbox' })}>
        Back to the inbox
      </button>
      <h1 id="request-title">
        Request {money(request.requestedAmount, request.currency)} · {request.status}
      </h1>
      <dl className="facts">
        <dt>Partner</dt>
        <dd>{partner.name}</dd>
        <dt>Created by</dt>
        <dd>
          {request.creator.name}, {when(request.createdAt)}
        </dd>
        <dt>Observations</dt>
        <dd>{request.observations ?? '—'}</dd>
        <dt>Approvals</dt>
        <dd>
          {request.approvals.length} of {request.requiredApprovals}
          {request.approvals.length > 0 &&
            ` (${request.approvals.map((a) => a.operator?.name ?? a.operatorId).join(', ')})`}
        </dd>
        <dt>Time left</dt>
        <dd>{timeLeft(request.expiresAt, request.status)}</dd>
        {request.reviewReason && (
          <>
            <dt>Reason</dt>
            <dd>{request.reviewReason}</dd>
          </>
        )}
      </dl>
      {ev && (
        <section aria-labelledby="evidence-title" className="evidence">
          <h2 id="evidence-title">Evidence</h2>
          {/* The preview's box has its size before the file's address arrives: nothing below it (the
              decision buttons) moves under a pointer on its way to them. */}
          <div className="preview">
            {!evidenceUrl && <p className="hint">Loading the receipt…</p>}
            {evidenceUrl && ev.contentType.startsWith('image/') && (
              <img src={evidenceUrl} alt={`Evidence: ${ev.fileName}`} />
            )}
            {evidenceUrl && ev.contentType === 'application/pdf' && (
              <object data={evidenceUrl} type="application/pdf" aria-label={`Evidence: ${ev.fileName}`} />
            )}
          </div>
          <p>
            {evidenceUrl ? (
              <a href={evidenceUrl} target="_blank" rel="noopener noreferrer">
                Open {ev.fileName}
              </a>
            ) : (
              ev.fileName
            )}{' '}
            ({Math.ceil(ev.size / 1024)} KiB)
          </p>
        </section>
      )}
      {(mayDecide || mayCancel || mayReverse) && (
        <section aria-labelledby="decide-title" className="decide">
          <h2 id="decide-title">Decision</h2>
          <label>
            Reason
            <input value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
          {me.otpRequired && (mayDecide || mayReverse) && (
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
          <div className="actions">
            {mayDecide && (
              <button type="button" disabled={busy} onClick={() => act(APPROVE, 'Approved')}>
                Approve
              </button>
            )}
            {mayDecide && (
              <button type="button" disabled={busy} onClick={() => act(REJECT, 'Rejected')}>
                Reject
              </button>
            )}
            {mayCancel && (
              <button type="button" disabled={busy} onClick={() => act(CANCEL, 'Cancelled')}>
                Cancel request
              </button>
            )}
            {mayReverse && (
              <button type="button" disabled={busy} onClick={() => act(REVERSE, 'Reversal filed')}>
                Reverse
              </button>
            )}
          </div>
        </section>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {notice && <p role="status">{notice}</p>}
      <section aria-labelledby="history-title">
        <h2 id="history-title">History</h2>
        <ol className="history">
          {request.history.map((h) => (
            <li key={h.id}>
              <time dateTime={h.at}>{when(h.at)}</time> {h.type.replace(/_/g, ' ').toLowerCase()}
              {h.actor ? ` by ${h.actor.name}` : ''}
              {h.reason ? `: ${h.reason}` : ''}
            </li>
          ))}
        </ol>
      </section>
    </article>
  );
}
