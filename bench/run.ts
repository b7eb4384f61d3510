/**
 * `npm run bench`: the product's speed, measured on compiled JavaScript as it runs in production,
 * printed as figures. Each benchmark is bounded in count and time and talks only to loopback.
 */
process.env.LOG_LEVEL = 'silent';
import { benchBotTurns } from './botTurns';
import { benchCaseImport } from './caseImport';
import { benchObligations } from './obligations';
import { benchReminders } from './reminders';
import { benchTafBooking } from './tafBooking';

async function main(): Promise<void> {
  console.log(`earlyhelp benchmarks on Node ${process.version}, ${require('node:os').cpus().length} cores`);
  for (const line of benchObligations()) console.log(line);
  for (const line of await benchBotTurns()) console.log(line);
  for (const line of await benchCaseImport()) console.log(line);
  for (const line of await benchReminders()) console.log(line);
  for (const line of await benchTafBooking()) console.log(line);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
