import { databaseOptionsFromEnv, openDatabase } from '../src/storage/database';
import { migrate } from '../src/storage/migrations';
import type { Dispatcher } from '../src/delivery/dispatcher';
import { graphConfigFromEnv } from '../src/graph/config';
import { startMailDelivery } from '../src/graph/mail';
import { createGraph } from '../src/graph/client';
import { graphCalendar } from '../src/graph/calendar';
import { CalendarSyncDeps, ChangeNotification, handleNotifications, startCalendarKeeping } from '../src/graph/calendarSync';
import { createCalendarDispatcher } from '../src/taf/calendarDelivery';
import { localCalendar } from '../src/taf/localCalendar';
import { createAdapter } from './adapter';
import { BotConfig, botConfigFromEnv } from './config';
import { seedDemo } from './demo';
import { startDeliveryLoop } from './deliveryLoop';
import { startScheduler } from '../src/reminders/scheduler';
import { renderMessage } from './rendering';
import { EarlyHelpBot } from './earlyHelpBot';
import { meetingFile } from './meetingViews';
import { log } from './log';
import { Notifier } from './notifier';
import { RunningServer, startServer } from './server';
import { BotServices, createBotServices } from './services';

export interface RunningBot {
  server: RunningServer;
  services: BotServices;
  config: BotConfig;
  /** The outbox's Teams sender: `poke()` it after queueing a message. */
  delivery: Dispatcher;
  close(): Promise<void>;
}

/**
 * The bot as a service: its database (migrated), its adapter, its HTTP server. In local mode (no
 * credentials) the demo team and cases are written into an empty database.
 */
export async function startBot(env: NodeJS.ProcessEnv = process.env, overrides: Partial<BotConfig> = {}): Promise<RunningBot> {
  const config = { ...botConfigFromEnv(env), ...overrides };
  const graph = graphConfigFromEnv(env);
  const db = await openDatabase(databaseOptionsFromEnv(env));
  await migrate(db);
  // Links on cards (a meeting's calendar file) point at EARLYHELP_PUBLIC_URL, or this server once it listens.
  let serverUrl = '';
  const services = createBotServices(db, { publicUrl: () => env.EARLYHELP_PUBLIC_URL || serverUrl || `http://localhost:${config.port}`, linkSecret: env.EARLYHELP_LINK_SECRET });
  // The allocation e-mail links to the case in the worker's chat with the bot (a Teams deep link, with the command filled in).
  if (config.appId) services.caseLink = (reference) => `https://teams.microsoft.com/l/chat/0/0?users=28:${encodeURIComponent(config.appId)}&message=${encodeURIComponent(`case ${reference}`)}`;
  if (!config.localMode && !env.EARLYHELP_LINK_SECRET) log.warn('EARLYHELP_LINK_SECRET is not set: calendar links on cards stop working when this process restarts, and on other instances');
  if (config.localMode && env.EARLYHELP_DEMO !== 'off' && (await seedDemo(services))) log.info('local mode: demo team and cases written');
  const adapter = createAdapter(config);
  const delivery = startDeliveryLoop({ db, adapter, appId: config.appId, conversations: services.conversations, render: (message) => renderMessage(services, message) });
  const bot = new EarlyHelpBot(services, new Notifier(adapter, config.appId, services.conversations), delivery);
  // E-mail (the allocation e-mail) from the service mailbox through Graph, by a sender of its own; without a mailbox it waits in the outbox.
  const graphClient = graph ? createGraph(graph) : null;
  const mail = graph?.mailbox ? startMailDelivery({ db, config: graph, graph: graphClient ?? undefined, log }) : null;
  // TAF meetings: booked in Outlook through Graph, or without Microsoft 365 in the product's own calendar.
  const meetingCalendar = graphClient ? graphCalendar(graphClient) : localCalendar();
  const calendarSender = createCalendarDispatcher({ db, port: meetingCalendar, policy: services.policy, calendar: services.calendar, now: services.now, log });
  calendarSender.start();
  // Reminders and escalations: planned into the outbox a minute at a time, delivered by the loop above.
  const scheduler =
    env.EARLYHELP_SCHEDULER === 'off'
      ? null
      : startScheduler({
          sweep: { db, caseLog: services.caseLog, store: services.reminders, policy: services.policy, calendar: services.calendar, staff: () => services.directory.all() },
          onPlanned: () => delivery.poke(),
          booking: { db, caseLog: services.caseLog, meetings: services.meetings, policy: services.policy, calendar: services.calendar, calendarKind: meetingCalendar.kind },
          onBooked: () => {
            calendarSender.poke();
            delivery.poke();
          },
          log,
        });
  // Meetings moved or cancelled in Outlook: change notifications to EARLYHELP_PUBLIC_URL (https), and the delta reconciliation every few minutes.
  const publicUrl = env.EARLYHELP_PUBLIC_URL?.replace(/\/+$/, '');
  const sync: CalendarSyncDeps | null = graphClient
    ? { db, graph: graphClient, meetings: services.meetings, directory: services.directory, notificationUrl: publicUrl?.startsWith('https://') ? `${publicUrl}/api/graph/notifications` : undefined, now: services.now }
    : null;
  if (sync && !sync.notificationUrl) log.warn('EARLYHELP_PUBLIC_URL is not an https address: Outlook changes to TAF meetings are found by the reconciliation every 5 minutes, without change notifications');
  const server = await startServer({
    config,
    adapter,
    bot,
    database: db,
    host: env.HOST ?? '127.0.0.1',
    meetingFiles: (id, query) => meetingFile(services, id, query),
    ...(sync ? { calendarNotifications: async (body: unknown) => void (await handleNotifications(sync, body as { value?: ChangeNotification[] })) } : {}),
  });
  serverUrl = server.url;
  const keeping = sync && env.EARLYHELP_SCHEDULER !== 'off' ? startCalendarKeeping({ ...sync, log }) : null;
  log.info({ url: server.url, localMode: config.localMode }, 'bot listening');
  return {
    server,
    services,
    config,
    delivery,
    async close() {
      // Sends in flight get their outcome recorded before the database closes.
      await scheduler?.stop();
      await delivery.stop();
      await mail?.stop();
      await calendarSender.stop();
      await keeping?.stop();
      await server.close();
      await db.close();
    },
  };
}

if (require.main === module) {
  startBot()
    .then((bot) => {
      // A restart (SIGTERM) lets the sends in flight record their outcome, so that none is left in doubt.
      const stop = () => void bot.close().finally(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    })
    .catch((e) => {
      console.error(`earlyhelp bot: ${(e as Error).message}`);
      process.exit(1);
    });
}
