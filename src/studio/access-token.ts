// Every studio request carries its random access token, so that another local user, or a web page in
// the browser, cannot drive it: a port on 127.0.0.1 is open to every process on the machine, and any
// page can send requests to it. The token comes as `Authorization: Bearer`, as `X-Studio-Token`, or as
// the cookie that opening the printed address (`/?token=...`) sets.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

import type { MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";

import { LoraGgufError } from "../errors.js";
import { errorResponse, type Log } from "./error-responses.js";

export const ACCESS_TOKEN_QUERY = "token";
export const ACCESS_TOKEN_HEADER = "X-Studio-Token";

/** 32 random bytes as hex. */
export function createAccessToken(): string {
  return randomBytes(32).toString("hex");
}

/** A token given by the caller: long enough not to be guessed, and plain enough for a URL, a header and a cookie. */
export function checkAccessToken(token: unknown): string {
  if (typeof token !== "string" || !/^[A-Za-z0-9_-]{32,256}$/.test(token)) {
    throw new LoraGgufError("E_INVALID_OPTION", "studio: token must be 32 to 256 letters, digits, '-' or '_'");
  }
  return token;
}

/**
 * The cookie's name carries the port: browsers keep cookies per host, not per port, so two studios on
 * one machine would otherwise replace each other's.
 */
export function accessCookieName(port: number): string {
  return `lora_gguf_studio_${port}`;
}

/** Compares digests, which have one length whatever was sent, so the time taken tells nothing about the token. */
function tokensMatch(expected: string, given: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

const unauthorized = () =>
  new LoraGgufError("E_UNAUTHORIZED", "studio: this request lacks the studio's access token; open the address lora-gguf studio printed (it ends in ?token=...)");

/**
 * Refuses (401) every request without the token. A GET with `?token=` answers with the cookie and a
 * page that goes on to the same address without the token.
 */
export function requireAccessToken(token: string, cookieName: string, log: Log): MiddlewareHandler {
  return async (c, next) => {
    const fromQuery = c.req.query(ACCESS_TOKEN_QUERY);
    if (fromQuery !== undefined && c.req.method === "GET") {
      if (!tokensMatch(token, fromQuery)) return errorResponse(c, unauthorized(), log);
      setCookie(c, cookieName, token, { httpOnly: true, sameSite: "Strict", path: "/" });
      return c.html(continuePage(addressWithoutToken(c.req.url)));
    }
    const authorization = c.req.header("Authorization");
    const given = (authorization?.startsWith("Bearer ") ? authorization.slice("Bearer ".length) : undefined) ?? c.req.header(ACCESS_TOKEN_HEADER) ?? getCookie(c, cookieName);
    if (given === undefined || !tokensMatch(token, given)) return errorResponse(c, unauthorized(), log);
    await next();
  };
}

/** The path and the other query parameters; one leading slash, so that it cannot name another host (//host/...). */
function addressWithoutToken(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.delete(ACCESS_TOKEN_QUERY);
  return `/${parsed.pathname.replace(/^\/+/, "")}${parsed.search}`;
}

/**
 * A page, not a 302: a browser leaves a SameSite=Strict cookie out of every request of a redirect
 * chain that began on another site (the address opened from a file or another page), so the
 * redirected request would be refused; a navigation this page starts is same-site.
 */
function continuePage(address: string): string {
  const attribute = address.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  // an empty icon: the browser would ask for /favicon.ico, which the studio does not have
  return `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${attribute}"><link rel="icon" href="data:,"><title>lora-gguf studio</title><a href="${attribute}">Continue to lora-gguf studio</a>\n`;
}
