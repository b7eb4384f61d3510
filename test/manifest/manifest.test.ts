import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import AdmZip from 'adm-zip';
import { execFileSync } from 'node:child_process';
import { buildManifest, writePackage } from '../../manifest/build';
import { COMMANDS } from '../../bot/commands';

const env = { MicrosoftAppId: '0b6fe6d1-fece-44f7-9a48-56465e2d5ab8', TEAMS_APP_ID: '5f1d2c3b-4a59-4e8f-9c7d-6b5a4e3d2c1b' };

/**
 * @microsoft/app-manifest bundles the Teams manifest schemas and validates offline. It loads ES
 * modules that jest's module system cannot, so it runs in a plain Node process.
 */
function validateOffline(manifest: unknown): string[] {
  const script = `const { AppManifestUtils } = require('@microsoft/app-manifest');
    let input = ''; process.stdin.on('data', (c) => (input += c)).on('end', async () => {
      process.stdout.write(JSON.stringify(await AppManifestUtils.validateAgainstSchema(JSON.parse(input))));
    });`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { input: JSON.stringify(manifest), encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }));
}

function pngSize(buffer: Buffer) {
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20) };
}

describe('the Teams app package', () => {
  test('the manifest validates offline against its Teams schema', async () => {
    const manifest = buildManifest(env);
    expect(validateOffline(manifest)).toEqual([]);
    // and the validator does catch a broken one
    expect(validateOffline({ ...manifest, accentColor: 'blue' }).length).toBeGreaterThan(0);
  });

  test('the bot command menu lists the commands the bot understands', () => {
    const manifest = buildManifest(env) as { bots: Array<{ botId: string; commandLists: Array<{ scopes: string[]; commands: Array<{ title: string }> }> }> };
    expect(manifest.bots[0].botId).toBe(env.MicrosoftAppId);
    const personal = manifest.bots[0].commandLists.find((l) => l.scopes.includes('personal'))!;
    expect(personal.commands.map((c) => c.title)).toEqual(COMMANDS.map((c) => c.name));
  });

  test('a missing or malformed app id is refused naming the variable', () => {
    expect(() => buildManifest({ TEAMS_APP_ID: env.TEAMS_APP_ID })).toThrow(/^MicrosoftAppId: must be a GUID/);
    expect(() => buildManifest({ ...env, TEAMS_APP_ID: 'my-app' })).toThrow(/^TEAMS_APP_ID: must be a GUID/);
  });

  test('the package holds the manifest and icons of the sizes Teams requires', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-'));
    const zip = new AdmZip(writePackage(env, dir));
    expect(zip.getEntries().map((e) => e.entryName).sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    expect(pngSize(zip.getEntry('color.png')!.getData())).toEqual({ width: 192, height: 192 });
    expect(pngSize(zip.getEntry('outline.png')!.getData())).toEqual({ width: 32, height: 32 });
    expect(JSON.parse(zip.getEntry('manifest.json')!.getData().toString()).id).toBe(env.TEAMS_APP_ID);
  });
});
