// CLI commands for approval policies and operators' later changes (SPEC sections 12 and 15).
import { describePolicy, policyOf, replacePolicy } from '../services/approval-policy.service';
import { activateOperator, findOperator, updateOperator } from '../services/identity/admin.service';
import { loadPartner } from '../domain/access';
import { DomainError } from '../domain/errors';
import { id, operatorChanges, parseInput, policyInput } from '../shapes/inputs';
import type { Operator } from '../entities/operator.entity';
import { type CommandHandler, type Flags, UsageError, text } from './flags';

/** `USD:50000,EUR:40000` → {"USD":"50000","EUR":"40000"}; `none` → null (no limits). */
export function parseApprovalLimits(
  value: string | true,
  flag = 'approval-limit',
): Record<string, string> | null {
  if (value === true) throw new UsageError(`--${flag} needs CUR:AMOUNT,… or none`);
  if (value.trim().toLowerCase() === 'none') return null;
  const limits: Record<string, string> = {};
  for (const part of value.split(',')) {
    const [currency, amount, extra] = part.trim().split(':');
    if (!currency || amount === undefined || extra !== undefined)
      throw new UsageError(`--${flag}: "${part}" is not CUR:AMOUNT`);
    if (limits[currency.toUpperCase()] !== undefined)
      throw new UsageError(`--${flag}: ${currency} given twice`);
    limits[currency.toUpperCase()] = amount;
  }
  return limits;
}

/** `0:1,50000:2` → [{from:"0",approvals:1},{from:"50000",approvals:2}] */
function parseTiers(value: string | true): unknown[] {
  if (value === true) throw new UsageError('--tiers needs FROM:APPROVALS,…');
  return value.split(',').map((part) => {
    const [from, approvals, extra] = part.trim().split(':');
    if (!from || !approvals || extra !== undefined || !/^\d+$/.test(approvals))
      throw new UsageError(`--tiers: "${part}" is not FROM:APPROVALS`);
    return { from, approvals: Number(approvals) };
  });
}

/** A cap flag of policy:set: an amount, or `none`; undefined: not given (kept). */
function capFlag(flags: Flags, name: string): string | null | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  if (value === true) throw new UsageError(`--${name} needs AMOUNT or none`);
  return value.trim().toLowerCase() === 'none' ? null : value.trim();
}

/** A switch of policy:set: true or false; undefined: not given (kept). */
function switchFlag(flags: Flags, name: string): boolean | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw new UsageError(`--${name} needs true or false`);
  return value === 'true';
}

/** The daily approval limits flag of operator:create|update (SPEC section 18). */
export function dailyLimitsFlag(flags: Flags): Record<string, string> | null | undefined {
  const value = flags['daily-approval-limit'];
  return value === undefined ? undefined : parseApprovalLimits(value, 'daily-approval-limit');
}

const POLICY_FLAGS = [
  'tiers',
  'pending-ttl-seconds',
  'daily-credit-limit',
  'max-balance',
  'require-amount-confirmation',
  'require-evidence-viewed',
  'reject-reason-required',
  'refuse-duplicate-evidence',
];

/** What the CLI prints of an operator. */
export function operatorOutput(operator: Operator): Record<string, unknown> {
  return {
    id: operator.id,
    email: operator.email,
    name: operator.name,
    subject: operator.subject,
    roles: operator.roles,
    partnerIds: operator.partnerIds,
    otpRequired: operator.otpRequired,
    approvalLimits: operator.approvalLimits,
    dailyApprovalLimits: operator.dailyApprovalLimits,
    active: operator.active,
  };
}

/** --partners / --all-partners, when either is given; undefined when neither. */
export function partnerScope(flags: Flags): string[] | null | undefined {
  if (flags['all-partners'] !== undefined && flags.partners !== undefined)
    throw new UsageError('give --partners or --all-partners, not both');
  if (flags['all-partners'] !== undefined) {
    if (flags['all-partners'] !== true) throw new UsageError('--all-partners takes no value');
    return null;
  }
  return flags.partners === undefined ? undefined : text(flags, 'partners').split(',');
}

export const ADMIN_COMMANDS: Record<string, CommandHandler> = {
  // The host-level break-glass (SPEC section 18): applied at once, never pending, but always with a reason.
  async 'policy:set'(orm, flags) {
    if (POLICY_FLAGS.every((f) => flags[f] === undefined))
      throw new UsageError(`give at least one of ${POLICY_FLAGS.map((f) => `--${f}`).join(', ')}`);
    if (flags.reason === undefined || flags.reason === true || flags.reason.trim() === '')
      throw new UsageError('--reason is required: the policy history records why');
    const partnerId = parseInput(id, text(flags, 'partner'), 'partner');
    const em = orm.em.fork();
    const access = await loadPartner(em, partnerId);
    if (!access) throw new DomainError('NOT_FOUND', `No partner ${partnerId}`);
    const current = await policyOf(em, partnerId);
    const ttl = flags['pending-ttl-seconds'];
    const input = parseInput(policyInput, {
      tiers: flags.tiers === undefined ? current.tiers : parseTiers(flags.tiers),
      pendingTtlSeconds:
        ttl === undefined ? current.pendingTtlSeconds : /^\d+$/.test(String(ttl)) ? Number(ttl) : ttl,
      dailyCreditLimit: capFlag(flags, 'daily-credit-limit'),
      maxBalance: capFlag(flags, 'max-balance'),
      requireAmountConfirmation: switchFlag(flags, 'require-amount-confirmation'),
      requireEvidenceViewed: switchFlag(flags, 'require-evidence-viewed'),
      rejectReasonRequired: switchFlag(flags, 'reject-reason-required'),
      refuseDuplicateEvidence: switchFlag(flags, 'refuse-duplicate-evidence'),
    });
    await replacePolicy(em, partnerId, access.balance.currency, input, null, text(flags, 'reason').trim());
    const {
      history: _history,
      historyTotal: _total,
      ...policy
    } = await describePolicy(orm.em.fork(), partnerId);
    return { ...policy };
  },
  async 'operator:update'(orm, flags, config) {
    const changes = parseInput(operatorChanges, {
      roles: flags.roles === undefined ? undefined : text(flags, 'roles').split(','),
      partnerIds: partnerScope(flags),
      subject: flags.subject === undefined ? undefined : text(flags, 'subject'),
      approvalLimits:
        flags['approval-limit'] === undefined ? undefined : parseApprovalLimits(flags['approval-limit']),
      dailyApprovalLimits: dailyLimitsFlag(flags),
    });
    if (Object.values(changes).every((v) => v === undefined))
      throw new UsageError(
        'give at least one of --roles, --partners/--all-partners, --subject, --approval-limit, --daily-approval-limit',
      );
    const reuse = { reuseAfterSeconds: config.maxTokenLifetimeSeconds };
    return operatorOutput(await updateOperator(orm.em.fork(), text(flags, 'operator'), changes, reuse));
  },
  async 'operator:activate'(orm, flags) {
    const operator = await activateOperator(orm.em.fork(), text(flags, 'operator'));
    return { id: operator.id, active: operator.active };
  },
  async 'operator:show'(orm, flags) {
    return operatorOutput(await findOperator(orm.em.fork(), text(flags, 'operator')));
  },
};
