import type { Command } from 'commander';
import { list, OutboxEntry, retry } from '../delivery/outbox';
import { recordAudit } from '../storage/audit';
import { Database } from '../storage/database';
import { withDatabase as withDatabaseOf } from './withDatabase';
import type { CliIo } from './main';
import { table } from './table';
import { UsageError } from './usageError';

/**
 * `earlyhelp outbox`: what waits to be delivered or failed, and sending one again. It shows who a
 * message is for and which case it is about, never what it says (a card may name a family).
 */
export function registerOutboxCommands(program: Command, io: CliIo): void {
  const actor = `cli:${io.env.USER ?? 'administrator'}`;

  const withDatabase = <T>(fn: (db: Database) => Promise<T>) => withDatabaseOf(io, fn);

  const outbox = program
    .command('outbox')
    .description('messages waiting to be delivered (or, with --failed, that failed): who for, which case, status, tries, last error')
    .option('--failed', 'list the messages that failed (those "in doubt" may have been delivered: check before retrying)')
    .option('--json', 'print JSON')
    .action((o: { failed?: boolean; json?: boolean }) =>
      withDatabase(async (db) => {
        const entries = await list(db, { failed: o.failed });
        if (o.json) {
          io.stdout(`${JSON.stringify(entries, null, 2)}\n`);
          return;
        }
        if (entries.length === 0) {
          io.stdout(o.failed ? 'no failed messages\n' : 'nothing waiting to be delivered\n');
          return;
        }
        io.stdout(table(['id', 'kind', 'to', 'case', 'status', 'tries', 'created', 'last error'], entries.map((e) => row(e, io.now()))));
      }),
    );

  outbox
    .command('retry')
    .argument('<id>', 'the message id (first column of earlyhelp outbox --failed)')
    .description('send a failed or waiting message again, now')
    .action((given: string) => {
      if (!/^\d{1,15}$/.test(given.trim())) throw new UsageError(`<id>: "${given}" is not a message id (a whole number from earlyhelp outbox --failed)`);
      const id = Number(given.trim());
      return withDatabase(async (db) => {
        const result = await retry(db, id);
        if (!result.retried) {
          if (result.status === 'not found') throw new UsageError(`<id>: there is no message ${id} in the outbox`);
          throw new UsageError(`<id>: message ${id} is ${result.status === 'delivered' ? 'delivered: it is not sent again' : 'already due to be sent'}`);
        }
        await recordAudit(db, { actor, action: 'outbox.retry', detail: { outboxId: id, wasInDoubt: result.wasInDoubt } });
        io.stdout(`message ${id} will be sent again${result.wasInDoubt ? ' (it was in doubt: if it had in fact arrived, they will see it twice)' : ''}\n`);
      });
    });
}

function row(e: OutboxEntry, now: Date): string[] {
  const to = e.recipient
    ? 'staffId' in e.recipient
      ? e.recipientName
        ? `${e.recipientName} <${e.recipientEmail ?? ''}>`
        : `staff ${e.recipient.staffId}`
      : `chat ${e.recipient.conversationId}`
    : '';
  const status =
    e.status === 'failed' && e.inDoubt ? 'failed (in doubt)' : e.status === 'pending' && new Date(e.notBefore) > now ? `pending (from ${e.notBefore.slice(0, 19).replace('T', ' ')})` : e.status;
  return [String(e.id), e.kind, to, e.caseReference ?? '', status, String(e.attempts), e.createdAt.slice(0, 19).replace('T', ' '), e.lastError ?? ''];
}
