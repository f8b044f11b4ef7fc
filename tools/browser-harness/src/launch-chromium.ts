/**
 * Debian's Chromium, headless, through playwright-core (which downloads no browser). The flags keep it off
 * the network this machine does not have; playwright gives every launch a fresh temporary profile.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export type { Browser };

const BASE_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--headless'];

/** Launches `CHROMIUM_PATH` (default /usr/bin/chromium, installed by scripts/setup.sh) with `extraArgs`. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}: run scripts/setup.sh (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({ executablePath, headless: true, args: [...BASE_ARGS, ...extraArgs] });
}
