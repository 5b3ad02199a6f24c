/**
 * Debian's Chromium, headless, for the status page tests (playwright-core drives it). The flags
 * keep it off the network: without them it tries Google's hosts, which this machine refuses.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** The errors the page's script logs or throws from now on (a test expects none). */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

/** An element's visible text, trimmed. */
export async function text(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).innerText()) ?? '').trim();
}
