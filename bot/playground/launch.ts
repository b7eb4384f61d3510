import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { writePlaygroundConfig } from './config';
import { DemoPerson } from './demoTeam';

export interface RunningPlayground {
  url: string;
  port: number;
  close(): Promise<void>;
}

const CLI = path.resolve(__dirname, '../../node_modules/@microsoft/m365agentsplayground/cli.js');

/**
 * Starts Microsoft 365 Agents Playground (Microsoft's local Teams client) signed in as one demo
 * user, against the bot at `botUrl`. It may pick another port if the one asked for is taken: the
 * port it prints is the one returned.
 */
export function launchPlayground(options: { botUrl: string; port: number; as: DemoPerson; dir: string; timeoutMs?: number }): Promise<RunningPlayground> {
  const configFile = writePlaygroundConfig(options.as, options.dir);
  const child: ChildProcess = spawn(process.execPath, [CLI, '-e', `${options.botUrl}/api/messages`, '-c', 'msteams', '-p', String(options.port), '--dt'], {
    env: { ...process.env, TEAMSAPPTESTER_BROWSER: 'none', M365_AGENTS_PLAYGROUND_CONFIG_PATH: configFile },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  let listening = false;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        resolve();
      }
      setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 3000).unref();
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the playground did not start within ${options.timeoutMs ?? 30000} ms:\n${output.slice(-2000)}`));
    }, options.timeoutMs ?? 30000);
    const onData = (chunk: Buffer) => {
      if (listening) return; // drained, not kept: it runs for as long as the session
      output += chunk.toString();
      const m = output.match(/Listening on (\d+)/);
      if (m) {
        listening = true;
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({ url: `http://127.0.0.1:${port}`, port, close: stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the playground exited with code ${code}:\n${output.slice(-2000)}`));
    });
  });
}
