/**
 * A JSON value from a checkpoint file, quoted briefly for an error message. Never throws: a value
 * nested too deeply for JSON.stringify (or String) is named by its type only.
 */
export function describeJson(value: unknown): string {
  if (value === undefined) return "nothing";
  // JSON.parse reads 1e400 as Infinity, which JSON.stringify would show as null
  if (typeof value === "number") return String(value);
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    return Array.isArray(value) ? "a deeply nested array" : "a deeply nested object";
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
