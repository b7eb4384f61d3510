import fs from 'node:fs';
import path from 'node:path';

/** The project's shared folder (`../shared` beside the project), holding reference contracts written by others. */
// From test/helpers, or from dist/test/helpers when compiled (the benchmarks).
export const SHARED_DIR = [path.resolve(__dirname, '../../../shared'), path.resolve(__dirname, '../../../../shared')].find((d) => fs.existsSync(path.join(d, 'reference'))) ?? path.resolve(__dirname, '../../../shared');

/** Reads a reference file; a fresh clone without ../shared fails here with a clear message (never a skip). */
export function readReference(relative: string): string {
  const file = path.join(SHARED_DIR, 'reference', relative);
  if (!fs.existsSync(file)) {
    throw new Error(`This test needs ${file}: clone the project with its shared/ folder beside it (../shared/reference/${relative}).`);
  }
  return fs.readFileSync(file, 'utf8');
}
