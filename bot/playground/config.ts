import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { DEMO_STAFF, DemoPerson } from './demoTeam';

/**
 * The Microsoft 365 Agents Playground config for one signed-in demo user: that user is
 * `currentUser`, the other five demo staff are `users` (the playground wants exactly five).
 */
export const DEMO_TENANT_ID = 'a1000000-0000-4000-8000-0000000000aa';

function playgroundUser(person: DemoPerson) {
  const m = DEMO_STAFF[person];
  const [givenName, ...rest] = m.name.split(' ');
  return { id: `user-${person}`, name: m.name, userPrincipleName: m.email, aadObjectId: m.id, givenName, surname: rest.join(' '), email: m.email };
}

export function playgroundConfig(as: DemoPerson): Record<string, unknown> {
  const others = (Object.keys(DEMO_STAFF) as DemoPerson[]).filter((p) => p !== as);
  return {
    version: '0.1.1',
    tenantId: DEMO_TENANT_ID,
    bot: { id: 'earlyhelp-bot', name: 'Early Help' },
    currentUser: playgroundUser(as),
    users: others.map(playgroundUser),
    personalChat: { id: `personal-chat-${as}` },
    groupChat: { id: 'group-chat-north', name: 'North Early Help' },
    // The playground adds the team's General channel itself (its id is the team's): list only others.
    team: { id: 'team-north', name: 'North Early Help', aadGroupId: 'a1000000-0000-4000-8000-0000000000bb', channels: [{ id: 'channel-north-allocations', name: 'Allocations' }] },
  };
}

/** Writes the config file and returns its path. */
export function writePlaygroundConfig(as: DemoPerson, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `playground-${as}.yml`);
  fs.writeFileSync(file, stringify(playgroundConfig(as)));
  return file;
}
