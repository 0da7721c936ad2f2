// The studio's pages: static files from the package's studio/ folder, no build step. Every response
// forbids framing (another page could overlay it and steal clicks) and keeps the address out of
// Referer headers.
import path from "node:path";

import { serveStatic } from "@hono/node-server/serve-static";
import type { Hono, MiddlewareHandler } from "hono";

import { packageRoot } from "../native.js";

/** <package>/studio: index.html and whatever it loads. */
export const STUDIO_PAGES_DIR = path.join(packageRoot, "studio");

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
  app.get("*", serveStatic({ root: pagesDir }));
}
