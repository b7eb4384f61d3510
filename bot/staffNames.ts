import { BotServices } from './services';

/** The names of these staff, each looked up once (the directory keeps them a few seconds): id to name, for those in the directory. */
export async function staffNames(services: BotServices, ids: Iterable<string>): Promise<Map<string, string>> {
  const members = await Promise.all([...new Set(ids)].map((id) => services.directory.get(id)));
  return new Map(members.flatMap((m) => (m ? [[m.id, m.name] as const] : [])));
}

/** A name from `staffNames`, or "a colleague" for someone no longer in the directory. */
export const nameIn = (names: ReadonlyMap<string, string>, id: string) => names.get(id) ?? 'a colleague';
