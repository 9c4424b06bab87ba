// Durations and amounts as a checker reads them.

/** "3d 4h", "2h 5m", "4m", "now" — the largest two units. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m`;
  return s > 0 ? `${s}s` : 'now';
}

export const age = (createdAt: string, now = Date.now()) => duration(now - Date.parse(createdAt));

export function timeLeft(expiresAt: string, status: string, now = Date.now()): string {
  if (status !== 'PENDING') return '—';
  const left = Date.parse(expiresAt) - now;
  return left <= 0 ? 'expired' : duration(left);
}

export const money = (amount: string, currency: string) => `${amount} ${currency}`;

export const when = (iso: string) => new Date(iso).toLocaleString();
