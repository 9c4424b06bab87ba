// Operator subjects (what the user token's subject claim must equal), written one way only: the same
// person cannot be two operators by a variant spelling, and a token cannot name an operator by one.

export const MAX_SUBJECT_LENGTH = 255;

/**
 * Control characters (C0, DEL, C1), zero-width and invisible formatting characters (ZWSP, ZWNJ, ZWJ,
 * word joiner, invisible operators, BOM, Mongolian vowel separator, soft hyphen, bidi controls) and the
 * line and paragraph separators: none belongs in an identifier, and each can hide one subject in another.
 */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const REFUSED = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** An e-mail-like subject (some identity providers name people by address): compared without case. */
const EMAIL_LIKE = /^[^\s@]+@[^\s@]+$/;

export type SubjectCheck = { ok: true; subject: string } | { ok: false; problem: string };

/**
 * The one spelling of a subject: NFC, trimmed, e-mail-like ones in lower case. Refused: empty or longer
 * than 255 characters, unpaired surrogates, control and zero-width characters.
 */
export function normaliseSubject(raw: string): SubjectCheck {
  if (LONE_SURROGATE.test(raw)) return { ok: false, problem: 'holds an unpaired surrogate' };
  // Checked before trimming: JavaScript's trim() would quietly drop a byte order mark at either end.
  if (REFUSED.test(raw)) return { ok: false, problem: 'holds a control or invisible character' };
  const nfc = raw.normalize('NFC').trim();
  if (nfc.length === 0 || nfc.length > MAX_SUBJECT_LENGTH)
    return { ok: false, problem: `must be 1-${MAX_SUBJECT_LENGTH} characters` };
  return { ok: true, subject: EMAIL_LIKE.test(nfc) ? nfc.toLowerCase() : nfc };
}

/**
 * SQL for the key two subjects collide on (compatibility-normalised, lower case: full-width letters,
 * ligatures and case variants of one subject share it), computed by the database on both sides.
 */
export const subjectSkeletonSql = (expr: string): string => `lower(normalize(${expr}, NFKC))`;
