// Requests to a studio on 127.0.0.1 (never anywhere else), with its token, and its job events read
// as server-sent events.
import { expect } from "vitest";

export interface StudioEvent {
  id: string;
  event: string;
  data: Record<string, unknown> & { seq: number; type: string };
}

export interface StudioClient {
  origin: string;
  get(path: string, init?: RequestInit): Promise<Response>;
  post(path: string, body: unknown, init?: RequestInit): Promise<Response>;
  /** GET and POST that expect `status` and return the JSON body. */
  getJson(path: string, status?: number): Promise<any>;
  postJson(path: string, body: unknown, status?: number): Promise<any>;
  /** A job's events, as they come; breaking out of the loop closes the connection. */
  events(jobId: string, init?: RequestInit): AsyncGenerator<StudioEvent>;
}

export function studioClient(address: { address: string; port: number }, token: string | undefined): StudioClient {
  expect(address.address).toBe("127.0.0.1");
  const origin = `http://127.0.0.1:${address.port}`;
  const headers = (init?: RequestInit) => ({ ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }), ...(init?.headers as Record<string, string> | undefined) });
  const get = (path: string, init?: RequestInit) => fetch(`${origin}${path}`, { ...init, headers: headers(init) });
  const post = (path: string, body: unknown, init?: RequestInit) =>
    fetch(`${origin}${path}`, { method: "POST", ...init, headers: { "Content-Type": "application/json", ...headers(init) }, body: typeof body === "string" ? body : JSON.stringify(body) });
  const json = async (response: Response, status: number) => {
    const text = await response.text();
    expect(response.status, text).toBe(status);
    return JSON.parse(text);
  };
  return {
    origin,
    get,
    post,
    getJson: async (path, status = 200) => json(await get(path), status),
    postJson: async (path, body, status = 200) => json(await post(path, body), status),
    async *events(jobId, init) {
      const response = await get(`/api/jobs/${jobId}/events`, init);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      yield* readServerSentEvents(response);
    },
  };
}

async function* readServerSentEvents(response: Response): AsyncGenerator<StudioEvent> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split("\n")) {
          const colon = line.indexOf(":");
          if (colon > 0) fields[line.slice(0, colon)] = (fields[line.slice(0, colon)] ?? "") + line.slice(colon + 1).replace(/^ /, "");
        }
        if (fields.data !== undefined) yield { id: fields.id, event: fields.event, data: JSON.parse(fields.data) };
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
