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
