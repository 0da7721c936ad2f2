// One conversion in its own process, so that its peak RSS is its own: prints JSON.
import { convert } from "../dist/convert/convert.js";
import { peakResidentBytes } from "../dist/train/peak-resident-memory.js";

const [input, output] = process.argv.slice(2);
const started = performance.now();
const result = await convert(input, output, { force: true });
console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, peakRssBytes: peakResidentBytes(), outputBytes: result.outputBytes }));
