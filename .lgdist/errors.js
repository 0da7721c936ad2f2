export class LoraGgufError extends Error {
    code;
    constructor(code, message, options) {
        super(message, options);
        this.name = "LoraGgufError";
        this.code = code;
    }
}
export function isLoraGgufError(value, code) {
    return value instanceof LoraGgufError && (code === undefined || value.code === code);
}
//# sourceMappingURL=errors.js.map