// The studio's pages: static files from the package's studio/ folder, no build step, and the few
// files of npm packages they load (uPlot), each named in a fixed list so that nothing else under
// node_modules is reachable. Every response forbids framing (another page could overlay it and steal
// clicks) and keeps the address out of Referer headers.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

import { serveStatic } from "@hono/node-server/serve-static";
import type { Hono, MiddlewareHandler } from "hono";

import { packageRoot } from "../native.js";

/** <package>/studio: index.html and whatever it loads. */
export const STUDIO_PAGES_DIR = path.join(packageRoot, "studio");

/**
 * The packages' files the pages load, by the address they are served at. A package is found as Node
 * finds it (node_modules beside lora-gguf when npm hoisted it there, or inside).
 */
export const VENDOR_FILES: Readonly<Record<string, { packageName: string; file: string; contentType: string }>> = {
  "/vendor/uPlot.iife.min.js": { packageName: "uplot", file: "dist/uPlot.iife.min.js", contentType: "text/javascript; charset=utf-8" },
  "/vendor/uPlot.min.css": { packageName: "uplot", file: "dist/uPlot.min.css", contentType: "text/css; charset=utf-8" },
};

/**
 * Scripts, styles and data only from the studio itself; inline styles are allowed (charts set them),
 * inline scripts are not.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.header("X-Frame-Options", "DENY");
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "no-referrer");
  c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  // responses depend on the workspace's files, which change under them
  c.header("Cache-Control", "no-store");
};

export function registerStaticPages(app: Hono, pagesDir: string = STUDIO_PAGES_DIR): void {
  const require = createRequire(import.meta.url);
  for (const [address, { packageName, file, contentType }] of Object.entries(VENDOR_FILES)) {
    app.get(address, async (c) => {
      const absolute = path.join(path.dirname(require.resolve(`${packageName}/package.json`)), file);
      return c.body(await readFile(absolute), 200, { "Content-Type": contentType });
    });
  }
  app.get("*", serveStatic({ root: pagesDir }));
}
