import { calendarFor, WorkingDayCalendar } from '../src/calendar';
import { CaseWorkContext } from '../src/caseWork';
import { LocalDate, londonDateOf } from '../src/localDate';
import { loadPolicy, Policy } from '../src/policy';
import { CaseLog, createCaseLog } from '../src/storage/caseLog';
import { ConversationStore, createConversationStore } from '../src/storage/conversations';
import { Database } from '../src/storage/database';
import { createStaffDirectory, StaffDirectory } from '../src/storage/staffDirectory';

/** What the bot's handlers need from the core: one object, built once per process. */
export interface BotServices extends CaseWorkContext {
  db: Database;
  caseLog: CaseLog;
  directory: StaffDirectory;
  conversations: ConversationStore;
  policy: Policy;
  calendar: WorkingDayCalendar;
  now(): Date;
  today(): LocalDate;
  /** Who an unknown user should ask to be added to the directory. */
  administratorContact: string;
}

export function createBotServices(db: Database, options: { policy?: Policy; now?: () => Date; administratorContact?: string } = {}): BotServices {
  const policy = options.policy ?? loadPolicy(process.env.EARLYHELP_POLICY || undefined);
  const now = options.now ?? (() => new Date());
  return {
    db,
    caseLog: createCaseLog(db),
    directory: createStaffDirectory(db),
    conversations: createConversationStore(db),
    policy,
    calendar: calendarFor(policy),
    now,
    today: () => londonDateOf(now()),
    administratorContact: options.administratorContact ?? process.env.EARLYHELP_ADMIN_CONTACT ?? 'your Early Help systems administrator',
  };
}
