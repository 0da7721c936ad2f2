// Training text that fills whole windows, for the benches that need full contexts.
import { writeFileSync } from "node:fs";

import { SeededRandom } from "../dist/seeded-random.js";

/**
 * Plain-text rows ({ "text" }) of seeded random common words: each word with its leading space is
 * about one token of the Llama 3 and Qwen2 BPE vocabularies, so 1.5 words per context position
 * overflow the window.
 */
export function writeFullWindowText(file, { rows, wordsPerRow }) {
  const words = ("the of and to in is that for it as was with be by on not he this are or his from at which but have an they you " +
    "were her she there one all we their been has when who will more no if out so said what up its about into than them can only " +
    "other new some could time these two may then do first any like now my such make over our even most me state after also made " +
    "many did must before back see through way where get much go well your know should down work year because come people just").split(" ");
  const random = new SeededRandom(9);
  const lines = [];
  for (let row = 0; row < rows; row++) {
    const text = Array.from({ length: wordsPerRow }, () => words[Math.floor(random.nextFloat() * words.length)]).join(" ");
    lines.push(JSON.stringify({ text }));
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
}
