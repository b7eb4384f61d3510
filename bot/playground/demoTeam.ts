import { StaffMember } from '../../src/staff';

/**
 * A fictional Early Help team for local mode and the end-to-end tests. The ids are the Entra ID
 * object ids the playground users carry, so that the staff directory recognises them.
 */
export const DEMO_TEAM_NAME = 'North Early Help';

export const DEMO_STAFF = {
  manager: { id: 'a1000000-0000-4000-8000-000000000001', name: 'Morgan Reid', email: 'morgan.reid@demo-council.example', role: 'manager', team: DEMO_TEAM_NAME, capacityPoints: 0, active: true },
  worker: { id: 'a1000000-0000-4000-8000-000000000002', name: 'Sam Patel', email: 'sam.patel@demo-council.example', role: 'worker', team: DEMO_TEAM_NAME, lineManager: 'a1000000-0000-4000-8000-000000000001', capacityPoints: 20, active: true },
  worker2: { id: 'a1000000-0000-4000-8000-000000000003', name: 'Alex Kim', email: 'alex.kim@demo-council.example', role: 'worker', team: DEMO_TEAM_NAME, lineManager: 'a1000000-0000-4000-8000-000000000001', capacityPoints: 20, active: true },
  businessSupport: { id: 'a1000000-0000-4000-8000-000000000004', name: 'Jo Evans', email: 'jo.evans@demo-council.example', role: 'business-support', team: DEMO_TEAM_NAME, capacityPoints: 0, active: true },
  dutyManager: { id: 'a1000000-0000-4000-8000-000000000005', name: 'Dana Hughes', email: 'dana.hughes@demo-council.example', role: 'manager', team: DEMO_TEAM_NAME, capacityPoints: 0, active: true },
  administrator: { id: 'a1000000-0000-4000-8000-000000000006', name: 'Ada Lovell', email: 'ada.lovell@demo-council.example', role: 'administrator', team: 'Systems', capacityPoints: 0, active: true },
} satisfies Record<string, StaffMember>;

export type DemoPerson = keyof typeof DEMO_STAFF;

/** What each demo person does, as `npm start` introduces them beside their playground's address. */
export const DEMO_TITLES: Record<DemoPerson, string> = {
  manager: 'Manager',
  worker: 'Worker',
  worker2: 'Worker',
  businessSupport: 'Business Support',
  dutyManager: 'Duty manager',
  administrator: 'Administrator',
};

/**
 * The demo people named in `npm start -- --as ...`: a comma-separated list of their keys
 * (`manager`, `dutyManager`, ...; any case, hyphens allowed: `duty-manager`) or first names
 * (`dana`). Throws, naming the choices, on anyone else.
 */
export function parseDemoPeople(list: string): DemoPerson[] {
  const keys = Object.keys(DEMO_STAFF) as DemoPerson[];
  const simple = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  const people = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((given) => {
      const person = keys.find((k) => simple(k) === simple(given) || simple(DEMO_STAFF[k].name.split(' ')[0]) === simple(given));
      if (!person) throw new Error(`--as: ${given} is not one of the demo people: choose from ${keys.join(', ')} (or a comma-separated list)`);
      return person;
    });
  if (people.length === 0) throw new Error(`--as: name a demo person: ${keys.join(', ')} (or a comma-separated list)`);
  return [...new Set(people)];
}
