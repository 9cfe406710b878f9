import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManagedProcess } from '../../infra/managed-process.js';
import { findTool } from '../../infra/tools.js';
import { toolsDir } from '../../src/paths.js';
import { freePort } from './net.js';

export interface TestHttpServer {
  /** The served directory's URL, ending in '/'. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * A real HTTP file server process over `root` on a free loopback port: rclone's
 * `serve http` honours Range requests; python's http.server (3.11) ignores them and
 * answers every GET with the whole file. Both follow symbolic links.
 */
export async function startHttpServer(kind: 'rclone' | 'python', root: string): Promise<TestHttpServer> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), `hepflow-http-${kind}-`));
  const port = await freePort();
  const [command, args] =
    kind === 'rclone'
      ? // --copy-links: a sample directory of links to data kept elsewhere serves the files.
        [
          findTool('rclone'),
          [
            'serve',
            'http',
            root,
            '--copy-links',
            '--addr',
            `127.0.0.1:${port}`,
            '--config',
            path.join(stateDir, 'rclone.conf'),
            '--log-level',
            'NOTICE',
          ],
        ]
      : [
          path.join(toolsDir, 'venv', 'bin', 'python'),
          ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', root],
        ];
  const url = `http://127.0.0.1:${port}/`;
  const server = new ManagedProcess(kind, stateDir, command, args, async () => {
    try {
      await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(1_000) });
      return true;
    } catch {
      return false;
    }
  });
  await server.start();
  return {
    url,
    stop: async () => {
      await server.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
