import { Command, CommanderError } from 'commander';
import { calendarFor } from '../calendar';
import { londonDateOf } from '../localDate';
import { DEFAULT_POLICY_FILE, describePeriod, loadPolicy, PolicyError } from '../policy';
import { deadlinesJson, deadlinesOf, deadlinesTable, parseDateOption } from './deadlines';
import { registerDataCommands } from './dataCommands';
import { registerGraphCommands } from './graphCommands';
import { registerMeetingCommands } from './meetingCommands';
import { registerOutboxCommands } from './outboxCommands';
import { registerReminderCommands } from './reminderCommands';
import { table } from './table';
import { UsageError } from './usageError';

/** Where the CLI writes, and what it reads from its surroundings: injectable so that tests run it in-process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  now(): Date;
}

export const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  now: () => new Date(),
};

/** Exit codes: 0 done, 1 failed (e.g. the database is unreachable), 2 bad input (nothing written). */
export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

const collect = (value: string, previous: string[]) => [...previous, value];

export function buildProgram(io: CliIo): Command {
  const loadPolicyOption = (file: string | undefined) => loadPolicy(file ?? io.env.EARLYHELP_POLICY ?? DEFAULT_POLICY_FILE);
  const program = new Command('earlyhelp')
    .description('Early Help timescales, case log and staff directory: the administrators\u2019 command line')
    .exitOverride()
    .showHelpAfterError('(run earlyhelp --help for the commands)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command('deadlines')
    .description('the obligations of a case allocated on a given day, with the TAF meetings given')
    .requiredOption('--allocated <date>', 'allocation date, YYYY-MM-DD (day 0)')
    .option('--taf <date>', 'a TAF meeting held or booked, YYYY-MM-DD (repeatable)', collect, [])
    .option('--no-caf', 'the Manager\u2019s Decision says no CAF is required')
    .option('--today <date>', 'judge status as of this date (default: today in London)')
    .option('--policy <file>', 'practice policy file (default: policies/default.json)')
    .option('--json', 'print a JSON array instead of a table')
    .action((options: { allocated: string; taf: string[]; caf: boolean; today?: string; policy?: string; json?: boolean }) => {
      const policy = loadPolicyOption(options.policy);
      const today = options.today ? parseDateOption(options.today, '--today') : londonDateOf(io.now());
      const list = deadlinesOf({ allocated: options.allocated, taf: options.taf, cafRequired: options.caf, today, policy });
      io.stdout(options.json ? `${deadlinesJson(list)}\n` : deadlinesTable(list));
    });

  const policyCommand = program.command('policy').description('practice policy files');
  policyCommand
    .command('check')
    .argument('[file]', 'policy file (default: $EARLYHELP_POLICY or policies/default.json)')
    .description('validate a policy file and print its timescales')
    .action((given: string | undefined) => {
      const file = given ?? io.env.EARLYHELP_POLICY ?? DEFAULT_POLICY_FILE;
      const policy = loadPolicy(file);
      const rows = Object.entries(policy.timescales).map(([name, s]) => {
        const setting = s as Record<string, unknown>;
        const value =
          'within' in setting
            ? describePeriod(setting.within as never)
            : 'every' in setting
              ? `every ${describePeriod(setting.every as never)}`
              : 'target' in setting
                ? `${describePeriod(setting.target as never)}, ${describePeriod(setting.latest as never)} at most`
                : setting.maximum
                  ? `${describePeriod(setting.maximum as never)} at most`
                  : 'not set';
        return [name, value + ('from' in setting ? ` from ${String(setting.from)}` : ''), String(setting.source ?? '')];
      });
      io.stdout(`${file}: ${policy.name}\n\n${table(['setting', 'value', 'source'], rows)}`);
    });

  program
    .command('working-days')
    .description('list the days that are not working days between two dates, and count the working days')
    .requiredOption('--from <date>', 'YYYY-MM-DD')
    .requiredOption('--to <date>', 'YYYY-MM-DD')
    .option('--policy <file>', 'practice policy file, for the authority\u2019s closure days')
    .action((options: { from: string; to: string; policy?: string }) => {
      const from = parseDateOption(options.from, '--from');
      const to = parseDateOption(options.to, '--to');
      if (to < from) throw new UsageError(`--to ${to} is before --from ${from}`);
      const calendar = calendarFor(loadPolicyOption(options.policy));
      const holidays = calendar.holidaysBetween(from, to);
      io.stdout(table(['date', 'not a working day because'], holidays.map((h) => [h.date, h.name])));
      io.stdout(`${calendar.workingDaysBetween(from, to)} working days after ${from} up to and including ${to}\n`);
    });

  registerDataCommands(program, io);
  registerOutboxCommands(program, io);
  registerReminderCommands(program, io);
  registerGraphCommands(program, io);
  registerMeetingCommands(program, io);
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting, so that it can be tested in-process. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has already written its message (unknown option, missing argument ...).
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (e instanceof UsageError || e instanceof PolicyError || (e instanceof Error && e.name === 'InvalidEventError')) {
      io.stderr(`earlyhelp: ${e.message}\n`);
      return EXIT.badInput;
    }
    io.stderr(`earlyhelp: ${(e as Error).message}\n`);
    return EXIT.failed;
  }
}

/** The `earlyhelp` command (bin/earlyhelp.js). */
export function main(): void {
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) main();
