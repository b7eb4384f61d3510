import { StaffMember } from '../../src/staff';

/** A fictional team for tests: a manager, a duty manager, two workers, business support, and another team's manager. */
export const MORGAN: StaffMember = { id: '11111111-1111-4111-8111-111111111111', name: 'Morgan Reid', email: 'morgan.reid@council.example', role: 'manager', team: 'North', capacityPoints: 0, active: true };
export const DUTY: StaffMember = { id: '66666666-6666-4666-8666-666666666666', name: 'Dana Duty', email: 'dana.duty@council.example', role: 'manager', team: 'North', capacityPoints: 0, active: true };
export const SAM: StaffMember = { id: '22222222-2222-4222-8222-222222222222', name: 'Sam Patel', email: 'sam.patel@council.example', role: 'worker', team: 'North', lineManager: MORGAN.id, capacityPoints: 20, active: true };
export const ALEX: StaffMember = { id: '33333333-3333-4333-8333-333333333333', name: 'Alex Kim', email: 'alex.kim@council.example', role: 'worker', team: 'North', lineManager: MORGAN.id, capacityPoints: 20, active: true };
export const JO: StaffMember = { id: '44444444-4444-4444-8444-444444444444', name: 'Jo Evans', email: 'jo.evans@council.example', role: 'business-support', team: 'North', capacityPoints: 0, active: true };
export const SOUTH: StaffMember = { id: '55555555-5555-4555-8555-555555555555', name: 'Sol South', email: 'sol.south@council.example', role: 'manager', team: 'South', capacityPoints: 0, active: true };
export const TEAM = [MORGAN, DUTY, SAM, ALEX, JO, SOUTH];
