import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, BrowserContext, Page } from 'playwright-core';

/**
 * A real headless Chromium (the system's, driven by playwright-core) for the browser tests of the
 * agent panel and the wallboard: a throwaway profile, no network of its own beyond the page's.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Mocha `before` of a browser suite: skips it, saying why, where no Chromium is installed. */
export function skipWithoutChromium(this: Mocha.Context): void {
  if (!fs.existsSync(CHROMIUM)) {
    console.log(`      skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
    this.skip();
  }
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page's scripts, in order. */
  pageErrors: string[];
  /** Closes the browser and removes its profile; a second call does nothing. */
  close(): Promise<void>;
}

export async function launchChromium(viewport: { width: number; height: number }): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  let closed = false;
  return {
    context,
    page,
    pageErrors,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await context.close();
      } finally {
        fs.rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
