import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** The system's Chromium (Debian's package; infra/bootstrap.sh installs it where it can), or HEPFLOW_CHROMIUM. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.HEPFLOW_CHROMIUM) return env.HEPFLOW_CHROMIUM;
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
}

/**
 * Headless Chromium (playwright-core gives it a new empty profile) with nothing that
 * phones home: without the background-networking flags it keeps dialling Google's
 * hosts, which on a closed network shows up as failed connections at every start.
 */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      // Chromium refuses to run as root with its sandbox.
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
