import { calendarFor, WorkingDayCalendar } from '../src/calendar';
import { CaseWorkContext } from '../src/caseWork';
import { LocalDate, londonDateOf } from '../src/localDate';
import { loadPolicy, Policy } from '../src/policy';
import { CaseLog, createCaseLog } from '../src/storage/caseLog';
import { ConversationStore, createConversationStore } from '../src/storage/conversations';
import { Database } from '../src/storage/database';
import { createMeetingStore, MeetingStore } from '../src/storage/meetingStore';
import { createReminderStore, ReminderStore } from '../src/storage/reminderStore';
import { createStaffDirectory, StaffDirectory } from '../src/storage/staffDirectory';
import { MeetingLinks, meetingLinks } from './meetingLinks';

/** What the bot's handlers need from the core: one object, built once per process. */
export interface BotServices extends CaseWorkContext {
  db: Database;
  caseLog: CaseLog;
  directory: StaffDirectory;
  conversations: ConversationStore;
  reminders: ReminderStore;
  meetings: MeetingStore;
  policy: Policy;
  calendar: WorkingDayCalendar;
  now(): Date;
  today(): LocalDate;
  /** Who an unknown user should ask to be added to the directory. */
  administratorContact: string;
  /** Links from cards to the bot's own web routes (a meeting's calendar file), signed. */
  links: MeetingLinks;
}

/**
 * The directory read on every turn (who is this, who holds this case), kept for a few seconds:
 * a change in the directory (someone leaving) takes effect within `ttlMs`.
 */
function cachedDirectory(directory: StaffDirectory, ttlMs: number): StaffDirectory {
  const members = new Map<string, { at: number; member: Awaited<ReturnType<StaffDirectory['get']>> }>();
  return {
    ...directory,
    async get(id: string) {
      const hit = members.get(id);
      if (hit && Date.now() - hit.at < ttlMs) return hit.member;
      const member = await directory.get(id);
      members.set(id, { at: Date.now(), member });
      return member;
    },
    async save(list, actor) {
      await directory.save(list, actor);
      members.clear();
    },
  };
}

export function createBotServices(
  db: Database,
  options: { policy?: Policy; now?: () => Date; administratorContact?: string; directoryCacheMs?: number; publicUrl?: () => string; linkSecret?: string } = {},
): BotServices {
  const policy = options.policy ?? loadPolicy(process.env.EARLYHELP_POLICY || undefined);
  const now = options.now ?? (() => new Date());
  return {
    db,
    caseLog: createCaseLog(db),
    directory: cachedDirectory(createStaffDirectory(db), options.directoryCacheMs ?? 5000),
    conversations: createConversationStore(db),
    reminders: createReminderStore(db),
    meetings: createMeetingStore(db),
    policy,
    calendar: calendarFor(policy),
    now,
    today: () => londonDateOf(now()),
    administratorContact: options.administratorContact ?? process.env.EARLYHELP_ADMIN_CONTACT ?? 'your Early Help systems administrator',
    links: meetingLinks({
      baseUrl: options.publicUrl ?? (() => process.env.EARLYHELP_PUBLIC_URL || `http://localhost:${process.env.PORT || 3978}`),
      secret: options.linkSecret ?? process.env.EARLYHELP_LINK_SECRET,
    }),
  };
}
