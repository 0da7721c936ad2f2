// Strict parsers for flag values: "abc", "", "1e3x" or "0x10" are usage errors that name the flag
// (commander prefixes "option '--rank <n>' argument 'abc' is invalid."), never NaN or a silent 0.
import { InvalidArgumentError } from "commander";

const integerPattern = /^[+-]?\d+$/;
const decimalPattern = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** An integer of at least `min`; upper bounds are the API's to check. */
export function integerValue(min: number): (value: string) => number {
  return (value) => {
    const number = integerPattern.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(number) || number < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return number;
  };
}

/** A finite decimal number of at least `min` (2e-4, 0.1, 3). */
export function numberValue(min: number): (value: string) => number {
  return (value) => {
    const number = decimalPattern.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isFinite(number) || number < min) throw new InvalidArgumentError(`expected a number >= ${min}`);
    return number;
  };
}

/** A layer count or "all" (--gpu-layers). */
export function layerCountValue(value: string): number | "all" {
  if (value.trim() === "all") return "all";
  const number = integerPattern.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number < 0) throw new InvalidArgumentError(`expected a number of layers (0 or more) or "all"`);
  return number;
}

/** Block indices and ranges: "0-3,8" gives [0, 1, 2, 3, 8]. */
export function layerListValue(value: string): number[] {
  const layers = new Set<number>();
  for (const part of value.split(",").map((item) => item.trim())) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new InvalidArgumentError(`expected block indices and ranges like 0-3,8; "${part}" is neither`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new InvalidArgumentError(`the range ${part} runs backwards`);
    if (last > 65_535) throw new InvalidArgumentError(`block index ${last} is past any model's block count`);
    for (let layer = first; layer <= last; layer++) layers.add(layer);
  }
  return [...layers].sort((a, b) => a - b);
}
