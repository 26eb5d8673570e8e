// Starts the static server and Debian's Chromium (WebGPU through SwiftShader) for the tests and
// the browser benchmarks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from '../../www/serve.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
const COMMON_FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];

export async function startBrowser({ webgpu = true } = {}) {
  const server = await serve(ROOT, 0);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const profile = mkdtempSync(join(tmpdir(), 'genlab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: false, // --headless=new is passed explicitly above
    args: [...COMMON_FLAGS, ...(webgpu ? WEBGPU_FLAGS : [])],
    viewport: { width: 1100, height: 1000 },
  });
  return {
    origin,
    context,
    async close() {
      await context.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/// Opens the page at `hash`, waits until it has started, and records console errors.
export async function openPage(browser, hash = '') {
  const page = await browser.context.newPage();
  const consoleErrors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
  await page.goto(`${browser.origin}/${hash}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  return { page, consoleErrors };
}
