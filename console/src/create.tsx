// Filing a request: amount, observations and the evidence file, with the upload's progress.
import { useState, type FormEvent } from 'react';
import { upload } from './api';
import type { Shell } from './app';
import { CREATE } from './documents';

export function CreateRequest({ shell }: { shell: Shell }) {
  const [amount, setAmount] = useState('');
  const [observations, setObservations] = useState('');
  const [otp, setOtp] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [percent, setPercent] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return setError('Choose the evidence file');
    setError(null);
    setPercent(0);
    try {
      const input: Record<string, string> = { requestedAmount: amount.trim() };
      if (observations.trim()) input.observations = observations.trim();
      if (otp) input.otp = otp;
      const data = await upload<{ createProcessRequest: { id: string } }>(
        CREATE,
        { clientId: shell.partner.id, input },
        file,
        setPercent,
      );
      shell.open({ name: 'request', id: data.createProcessRequest.id });
    } catch (err) {
      setError((err as Error).message);
      setPercent(null);
    }
  };
  return (
    <section aria-labelledby="create-title">
      <h1 id="create-title">New request for {shell.partner.name}</h1>
      <form className="create" onSubmit={submit}>
        <label>
          Amount ({shell.partner.currency})
          <input inputMode="decimal" required value={amount} onChange={(e) => setAmount(e.target.value)} />
        </label>
        <label>
          Observations
          <textarea
            rows={3}
            maxLength={2000}
            value={observations}
            onChange={(e) => setObservations(e.target.value)}
          />
        </label>
        <label>
          Evidence file
          <input
            type="file"
            required
            accept="application/pdf,image/png,image/jpeg"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
        </label>
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
        <button type="submit" disabled={percent !== null}>
          Create request
        </button>
        {percent !== null && (
          <label>
            Upload progress
            <progress max={100} value={percent}>
              {percent}%
            </progress>
          </label>
        )}
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </section>
  );
}
