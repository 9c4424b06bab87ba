// The demo world of a first development start: one partner and an operator per role.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Operator } from '../../entities/operator.entity';
import { Partner } from '../../entities/partner.entity';
import { createOperator, createPartner } from './admin.service';
import { newOperator, newPartner, parseInput } from '../../shapes/inputs';

export const DEMO_PARTNER_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

export const DEMO_OPERATORS = [
  { key: 'maker', email: 'maker@demo.local', name: 'Demo Maker', roles: ['MAKER'] },
  { key: 'checker', email: 'checker@demo.local', name: 'Demo Checker', roles: ['CHECKER'] },
  { key: 'viewer', email: 'viewer@demo.local', name: 'Demo Viewer', roles: ['VIEWER'] },
  { key: 'admin', email: 'admin@demo.local', name: 'Demo Admin', roles: ['ADMIN'] },
] as const;

export interface DemoWorld {
  created: boolean;
  partner: Partner;
  operators: Record<(typeof DEMO_OPERATORS)[number]['key'], Operator>;
}

/** Creates the demo partner and operators when missing; a second start finds and reuses them. */
export async function ensureDemoWorld(em: EntityManager): Promise<DemoWorld> {
  let created = false;
  let partner = await em.findOne(Partner, { id: DEMO_PARTNER_ID });
  if (!partner) {
    const input = parseInput(newPartner, { id: DEMO_PARTNER_ID, name: 'Demo Partner', currency: 'USD' });
    partner = (await createPartner(em, input)).partner;
    created = true;
  }
  const operators = {} as DemoWorld['operators'];
  for (const demo of DEMO_OPERATORS) {
    let operator = await em.findOne(Operator, { email: demo.email });
    if (!operator) {
      const partnerIds = demo.key === 'admin' ? null : [DEMO_PARTNER_ID];
      const input = parseInput(newOperator, {
        email: demo.email,
        name: demo.name,
        roles: [...demo.roles],
        partnerIds,
      });
      operator = await createOperator(em, input);
      created = true;
    }
    operators[demo.key] = operator;
  }
  return { created, partner, operators };
}
