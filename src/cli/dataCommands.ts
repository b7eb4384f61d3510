import type { Command } from 'commander';
import type { CliIo } from './main';

/** Commands that read or change the database (migrate, cases, audit, staff). */
export function registerDataCommands(_program: Command, _io: CliIo): void {}
