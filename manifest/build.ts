/**
 * Builds the Teams app package (`dist/manifest/earlyhelp.zip`: manifest.json and the two icons)
 * for an administrator to upload. The bot's Entra app id comes from `MicrosoftAppId`; the Teams app
 * id from `TEAMS_APP_ID` (a fixed GUID per authority, so that updates replace the same app).
 */
import fs from 'node:fs';
import path from 'node:path';
import AdmZip from 'adm-zip';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ManifestConfigError extends Error {}

export function buildManifest(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const values: Record<string, string | undefined> = {
    BOT_ID: env.MicrosoftAppId,
    APP_ID: env.TEAMS_APP_ID,
    DEVELOPER_NAME: env.EARLYHELP_DEVELOPER_NAME ?? 'Early Help',
    WEBSITE_URL: env.EARLYHELP_WEBSITE_URL ?? 'https://www.gov.uk',
  };
  for (const name of ['BOT_ID', 'APP_ID'] as const) {
    const variable = name === 'BOT_ID' ? 'MicrosoftAppId' : 'TEAMS_APP_ID';
    if (!values[name] || !GUID.test(values[name]!)) throw new ManifestConfigError(`${variable}: must be a GUID (got ${JSON.stringify(values[name] ?? '')})`);
  }
  const template = fs.readFileSync(path.join(__dirname, 'manifest.template.json'), 'utf8');
  return JSON.parse(template.replace(/\{\{(\w+)\}\}/g, (_m, key: string) => values[key] ?? ''));
}

export function writePackage(env: NodeJS.ProcessEnv, outDir: string): string {
  const manifest = buildManifest(env);
  fs.mkdirSync(outDir, { recursive: true });
  const zip = new AdmZip();
  zip.addFile('manifest.json', Buffer.from(JSON.stringify(manifest, null, 2)));
  for (const icon of ['color.png', 'outline.png']) zip.addFile(icon, fs.readFileSync(path.join(__dirname, icon)));
  const file = path.join(outDir, 'earlyhelp.zip');
  zip.writeZip(file);
  return file;
}

if (require.main === module) {
  try {
    console.log(`wrote ${writePackage(process.env, path.resolve('dist/manifest'))}`);
  } catch (e) {
    console.error(`manifest: ${(e as Error).message}`);
    process.exit(2);
  }
}
