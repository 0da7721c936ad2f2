// `npm run test:long`: the end-to-end runs too long for `npm test` (trainings to convergence on real
// vocabularies, a 100k-row dataset), with the same settings.
import { defineConfig } from "vitest/config";

import { LONG_TESTS, sharedTestSettings } from "./vitest.config.js";

export default defineConfig({ test: { ...sharedTestSettings, include: [LONG_TESTS] } });
