import type { LocalDate } from '../localDate';
import { byDigestOrder } from './items';
import type { People } from './people';
import type { PlannedItem, PlannedNotification } from './types';

/** One recipient's daily digest as the sweep gathers it from case after case. */
interface Page {
  items: PlannedItem[];
  onBehalfOf: Set<string>;
}

/** The day's digests, one per recipient. Each case adds an obligation to a recipient once (src/reminders/caseDigest.ts). */
export class DigestBook {
  private readonly pages = new Map<string, Page>();

  add(recipient: string, item: PlannedItem | null, onBehalfOf?: string): void {
    const page = this.pageOf(recipient);
    if (item) page.items.push(item);
    if (onBehalfOf) page.onBehalfOf.add(onBehalfOf);
  }

  /**
   * The digests: none for a recipient with nothing in it. Whoever has a digest but no conversation
   * with the bot is named in their line-or-duty manager's digest (their items wait).
   */
  notifications(day: LocalDate, people: People, reachable: ReadonlySet<string>): PlannedNotification[] {
    const unreachable = new Map<string, Set<string>>();
    for (const [recipient, page] of this.pages) {
      if (page.items.length === 0 || reachable.has(recipient)) continue;
      const manager = people.lineOrDutyOf(recipient);
      if (!manager || manager.id === recipient) continue;
      const names = unreachable.get(manager.id) ?? new Set<string>();
      unreachable.set(manager.id, names.add(recipient));
    }
    const recipients = new Set([...this.pages.keys(), ...unreachable.keys()]);
    const out: PlannedNotification[] = [];
    for (const recipient of [...recipients].sort()) {
      const page = this.pages.get(recipient);
      const items = page ? page.items.sort(byDigestOrder) : [];
      const notes = unreachable.get(recipient);
      if (items.length === 0 && !notes) continue;
      const n: PlannedNotification = { recipient, type: 'digest', day, dedupeKey: `digest:${recipient}:${day}`, items };
      if (page?.onBehalfOf.size) n.onBehalfOf = [...page.onBehalfOf].sort();
      if (notes) n.unreachable = [...notes].sort();
      out.push(n);
    }
    return out;
  }

  private pageOf(recipient: string): Page {
    let page = this.pages.get(recipient);
    if (!page) this.pages.set(recipient, (page = { items: [], onBehalfOf: new Set() }));
    return page;
  }
}
