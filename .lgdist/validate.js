// Option checks shared by every public function, so that messages read the same everywhere
// ("quantize: threads must be an integer from 1 to 1024, got 0").
import { LoraGgufError } from "./errors.js";
export function requireOptionsObject(where, options) {
    if (options === undefined)
        return {};
    if (options === null || typeof options !== "object" || Array.isArray(options)) {
        throw invalid(where, `options must be an object, got ${describe(options)}`);
    }
    return options;
}
/** Rejects misspelled option names instead of ignoring them (as better-sqlite3 does). */
export function rejectUnknownOptions(where, options, known) {
    for (const key of Object.keys(options)) {
        if (!known.includes(key) && options[key] !== undefined) {
            throw invalid(where, `unknown option "${key}"; known options: ${known.join(", ")}`);
        }
    }
}
export function requireString(where, name, value) {
    if (typeof value !== "string" || value.length === 0) {
        throw invalid(where, `${name} must be a non-empty string, got ${describe(value)}`);
    }
    return value;
}
export function optionalInteger(where, name, value, min, max) {
    if (value === undefined)
        return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        throw invalid(where, `${name} must be an integer from ${min} to ${max}, got ${describe(value)}`);
    }
    return value;
}
export function optionalBoolean(where, name, value) {
    if (value === undefined)
        return undefined;
    if (typeof value !== "boolean")
        throw invalid(where, `${name} must be a boolean, got ${describe(value)}`);
    return value;
}
export function optionalFunction(where, name, value) {
    if (value === undefined)
        return undefined;
    if (typeof value !== "function")
        throw invalid(where, `${name} must be a function, got ${describe(value)}`);
    return value;
}
export function optionalSignal(where, value) {
    if (value === undefined)
        return undefined;
    if (!(value instanceof AbortSignal))
        throw invalid(where, `signal must be an AbortSignal, got ${describe(value)}`);
    return value;
}
function invalid(where, message) {
    return new LoraGgufError("E_INVALID_OPTION", `${where}: ${message}`);
}
function describe(value) {
    if (typeof value === "string")
        return JSON.stringify(value);
    if (value === null)
        return "null";
    if (Array.isArray(value))
        return "an array";
    if (typeof value === "object")
        return "an object";
    return `${typeof value} ${String(value)}`;
}
//# sourceMappingURL=validate.js.map