// Requests to the studio's HTTP API (src/studio/README.md). The access token is in a cookie the
// first page load set, so requests need nothing but the same origin. A failure is thrown as a
// StudioApiError with the API's { code, message }.

export class StudioApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    /** The API's error code (E_INVALID_OPTION, ...); null for an unexpected error. */
    this.code = code;
  }
}

async function answer(response) {
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new StudioApiError(response.status, null, `the studio answered ${response.status} with something other than JSON: ${text.slice(0, 200)}`);
  }
  if (!response.ok) throw new StudioApiError(response.status, body.error?.code ?? null, body.error?.message ?? `HTTP ${response.status}`);
  return body;
}

/** GET `path` (with `query`'s non-empty values), as JSON. */
export async function getJson(path, query = {}) {
  const parameters = new URLSearchParams(Object.entries(query).filter(([, value]) => value !== undefined && value !== ""));
  const search = parameters.toString();
  const address = search === "" ? path : `${path}?${search}`;
  return answer(await fetch(address, { credentials: "same-origin" }));
}

/** POST `body` as JSON to `path`, as JSON. */
export async function postJson(path, body = {}) {
  return answer(await fetch(path, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }));
}

/** An error as one line: its code, then what the API said. */
export function describeError(error) {
  if (error instanceof StudioApiError) return error.code ? `${error.code}: ${error.message}` : error.message;
  return error instanceof Error ? error.message : String(error);
}
