// The studio answers only requests that carry its access token, listens on 127.0.0.1 alone, and
// reads and writes only inside its workspace: `..`, absolute paths elsewhere and symbolic links out
// are refused with the API's own codes. Every request here goes to 127.0.0.1.
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startStudio, type Studio } from "../src/studio/server.js";
import { writeTinyLlamaGguf } from "../src/testing/tiny-llama.js";
import { writeMemorizationJsonl } from "./helpers/memorization-task.js";
import { studioClient, type StudioClient } from "./helpers/studio-client.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("studio-security");
const workspace = path.join(temp.dir, "workspace");
const elsewhere = path.join(temp.dir, "elsewhere");
const logged: string[] = [];
let studio: Studio;
let client: StudioClient;
let anonymous: StudioClient;

beforeAll(async () => {
  mkdirSync(path.join(workspace, "models"), { recursive: true });
  mkdirSync(elsewhere);
  await writeTinyLlamaGguf(path.join(workspace, "models", "tiny.gguf"), { seed: 2, nLayer: 1, nEmbd: 64, nFf: 128, vocabSize: 512 });
  writeMemorizationJsonl(path.join(workspace, "data.jsonl"));
  writeMemorizationJsonl(path.join(elsewhere, "secret.jsonl"));
  // links inside the workspace that lead out of it: a directory, a file, and one to nothing outside
  symlinkSync(elsewhere, path.join(workspace, "escape"));
  symlinkSync(path.join(elsewhere, "secret.jsonl"), path.join(workspace, "linked.jsonl"));
  symlinkSync(path.join(elsewhere, "not-yet.gguf"), path.join(workspace, "dangling.gguf"));
  // and one that stays inside
  symlinkSync(path.join(workspace, "data.jsonl"), path.join(workspace, "inside.jsonl"));
  studio = await startStudio({ workspace, port: 0, log: (message) => logged.push(message) });
  client = studioClient(studio.address, studio.token);
  anonymous = studioClient(studio.address, undefined);
});
afterAll(async () => {
  await studio?.close();
  temp.cleanup();
});

async function expectRefused(response: Response, status: number, code: string, message?: RegExp): Promise<void> {
  const body = await response.json();
  expect(response.status, JSON.stringify(body)).toBe(status);
  expect(body.error.code).toBe(code);
  if (message) expect(body.error.message).toMatch(message);
}

describe("studio access", () => {
  it("listens on 127.0.0.1 only, on the port it reports, with a 32-byte hex token in its address", () => {
    expect(studio.address.address).toBe("127.0.0.1");
    expect(studio.address.port).toBeGreaterThan(0);
    expect(studio.token).toMatch(/^[0-9a-f]{64}$/);
    expect(studio.url).toBe(`http://127.0.0.1:${studio.address.port}/?token=${studio.token}`);
  });

  it("refuses every request without the token with 401 E_UNAUTHORIZED: API, pages and unknown paths", async () => {
    for (const path of ["/api/studio", "/api/models", "/", "/index.html", "/no/such/page"]) {
      await expectRefused(await anonymous.get(path), 401, "E_UNAUTHORIZED", /lacks the studio's access token/);
    }
    await expectRefused(await anonymous.post("/api/quantize", { input: "models/tiny.gguf", output: "q.gguf", type: "q8_0" }), 401, "E_UNAUTHORIZED");
    expect(studio.jobs.list()).toEqual([]);
  });

  it("refuses a wrong token in the Authorization header, X-Studio-Token, the cookie and ?token=", async () => {
    const wrong = "0".repeat(64);
    const cookie = `lora_gguf_studio_${studio.address.port}`;
    for (const headers of <Record<string, string>[]>[{ Authorization: `Bearer ${wrong}` }, { "X-Studio-Token": wrong }, { Cookie: `${cookie}=${wrong}` }, { Authorization: `Bearer ${studio.token.slice(1)}` }]) {
      await expectRefused(await anonymous.get("/api/studio", { headers }), 401, "E_UNAUTHORIZED");
    }
    await expectRefused(await anonymous.get(`/?token=${wrong}`), 401, "E_UNAUTHORIZED");
    // a cookie named for another studio's port is not this one's
    await expectRefused(await anonymous.get("/api/studio", { headers: { Cookie: `lora_gguf_studio_1=${studio.token}` } }), 401, "E_UNAUTHORIZED");
  });

  it("accepts the token as Authorization: Bearer, X-Studio-Token and the cookie", async () => {
    const cookie = `lora_gguf_studio_${studio.address.port}`;
    for (const headers of <Record<string, string>[]>[{ Authorization: `Bearer ${studio.token}` }, { "X-Studio-Token": studio.token }, { Cookie: `${cookie}=${studio.token}` }]) {
      const response = await anonymous.get("/api/studio", { headers });
      expect(response.status).toBe(200);
      expect((await response.json()).workspace).toBe(workspace);
    }
  });

  it("?token= on a page sets the HttpOnly SameSite=Strict cookie and goes on to the same address without the token", async () => {
    const response = await anonymous.get(`/api/models?token=${studio.token}&depth=2`);
    expect(response.status).toBe(200);
    const setCookie = response.headers.get("set-cookie")!;
    expect(setCookie).toMatch(new RegExp(`^lora_gguf_studio_${studio.address.port}=${studio.token};`));
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Path=\//);
    const page = await response.text();
    expect(page).toContain('<meta http-equiv="refresh" content="0;url=/api/models?depth=2">');
    expect(page).not.toContain(studio.token);
    // the cookie alone then opens the index page
    const index = await anonymous.get("/", { headers: { Cookie: setCookie.split(";")[0] } });
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await index.text()).toMatch(/lora-gguf studio/);
    // the address it goes on to names no other host
    expect(await (await anonymous.get(`//evil.example/x?token=${studio.token}`)).text()).toContain('content="0;url=/evil.example/x"');
  });

  it("serves pages from the package's studio/ folder only", async () => {
    const index = await client.get("/");
    expect(index.status).toBe(200);
    expect(await index.text()).toMatch(/<title>lora-gguf studio<\/title>/);
    for (const outside of ["/package.json", "/%2e%2e/package.json", "/..%2fpackage.json", "/src/index.ts"]) {
      await expectRefused(await client.get(outside), 404, "E_INPUT_NOT_FOUND");
    }
  });

  it("serves the listed vendor files (uPlot) and nothing else of node_modules", async () => {
    const script = await client.get("/vendor/uPlot.iife.min.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await script.text()).toMatch(/uPlot/);
    const style = await client.get("/vendor/uPlot.min.css");
    expect(style.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await anonymous.get("/vendor/uPlot.iife.min.js")).status).toBe(401);
    for (const unlisted of ["/vendor/uPlot.esm.js", "/vendor/../package.json", "/node_modules/uplot/dist/uPlot.iife.min.js", "/node_modules/uplot/package.json"]) {
      await expectRefused(await client.get(unlisted), 404, "E_INPUT_NOT_FOUND");
    }
  });

  it("forbids framing and keeps the address out of Referer on every response", async () => {
    for (const response of [await client.get("/"), await client.get("/api/studio"), await anonymous.get("/api/studio")]) {
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(response.headers.get("referrer-policy")).toBe("no-referrer");
      expect(response.headers.get("content-security-policy")).toMatch(/frame-ancestors 'none'/);
    }
  });

  it("a second studio on a port in use is refused with E_INVALID_OPTION, naming --port", async () => {
    const failure = await startStudio({ workspace, port: studio.address.port }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: "E_INVALID_OPTION" });
    expect((failure as Error).message).toBe(`studio: port ${studio.address.port} on 127.0.0.1 is in use; choose another with --port (port: 0 picks a free one)`);
  });
});

describe("studio workspace paths", () => {
  const outsidePaths = () => ["../elsewhere/secret.jsonl", "/etc/passwd", path.join(elsewhere, "secret.jsonl"), "escape/secret.jsonl", "linked.jsonl", "models/../../elsewhere/secret.jsonl"];

  it("reading: ../, absolute paths outside and symbolic links out are refused with E_INVALID_OPTION", async () => {
    for (const requested of outsidePaths()) {
      await expectRefused(await client.get(`/api/data?path=${encodeURIComponent(requested)}`), 400, "E_INVALID_OPTION", /is outside the studio's workspace/);
    }
    await expectRefused(await client.get(`/api/data?path=linked.jsonl`), 400, "E_INVALID_OPTION", /a symbolic link leads out of it/);
  });

  it("reading: a path inside (relative, absolute, through a link that stays inside, with .. that stays inside) is read", async () => {
    for (const requested of ["data.jsonl", path.join(workspace, "data.jsonl"), "inside.jsonl", "models/../data.jsonl"]) {
      const body = await client.getJson(`/api/data?path=${encodeURIComponent(requested)}`);
      expect(body).toMatchObject({ format: "messages", rowCount: 16, usableRecords: 16, badRows: [] });
    }
  });

  it("reading: a missing file inside is E_INPUT_NOT_FOUND (404)", async () => {
    await expectRefused(await client.get("/api/data?path=missing.jsonl"), 404, "E_INPUT_NOT_FOUND", /missing\.jsonl does not exist in the workspace/);
  });

  it("writing: outputs outside, through a linked directory, or through a link to nothing are refused, and no job starts", async () => {
    const outputs = ["../out.gguf", "/tmp/out.gguf", path.join(elsewhere, "out.gguf"), "escape/out.gguf", "escape/new/dir/out.gguf", "dangling.gguf"];
    for (const output of outputs) {
      await expectRefused(await client.post("/api/quantize", { input: "models/tiny.gguf", output, type: "q8_0" }), 400, "E_INVALID_OPTION", /is outside the studio's workspace/);
    }
    await expectRefused(await client.post("/api/quantize", { input: "escape/secret.jsonl", output: "q.gguf", type: "q8_0" }), 400, "E_INVALID_OPTION", /is outside/);
    await expectRefused(await client.post("/api/train", { options: { model: "models/tiny.gguf", data: "data.jsonl", output: "../adapter.gguf" } }), 400, "E_INVALID_OPTION", /output "..\/adapter.gguf" is outside/);
    await expectRefused(await client.post("/api/train", { options: { model: "/etc/passwd", data: "data.jsonl", output: "adapter.gguf" } }), 400, "E_INVALID_OPTION", /model "\/etc\/passwd" is outside/);
    expect(studio.jobs.list()).toEqual([]);
  });

  it("the model list leaves out files reached through links out of the workspace", async () => {
    writeFileSync(path.join(elsewhere, "hidden.gguf"), "not listed");
    const { models } = await client.getJson("/api/models");
    expect(models.map((model: { path: string }) => model.path)).toEqual(["models/tiny.gguf"]);
  });
});

describe("studio bad requests", () => {
  it("a body that is not JSON, not an object, or has unknown fields is E_INVALID_OPTION (400); the studio goes on serving", async () => {
    await expectRefused(await client.post("/api/quantize", "{not json"), 400, "E_INVALID_OPTION", /the request body is not JSON/);
    await expectRefused(await client.post("/api/quantize", "[1, 2]"), 400, "E_INVALID_OPTION", /the request body must be a JSON object/);
    await expectRefused(await client.post("/api/quantize", { input: "models/tiny.gguf", output: "q.gguf", type: "q8_0", colour: "red" }), 400, "E_INVALID_OPTION", /unknown option "colour"/);
    await expectRefused(await client.get("/api/data?path=data.jsonl&colour=red"), 400, "E_INVALID_OPTION", /unknown option "colour"/);
    await expectRefused(await client.get("/api/jobs/no-such-job"), 404, "E_INVALID_OPTION", /there is no job no-such-job/);
    await expectRefused(await client.get("/api/nothing-here"), 404, "E_INPUT_NOT_FOUND");
    expect((await client.getJson("/api/studio")).workspace).toBe(workspace);
    expect(logged).toEqual([]);
  });
});
