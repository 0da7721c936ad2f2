import { getLlama } from "node-llama-cpp";
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
for (const file of ["/tmp/tiny-f32.gguf", "/tmp/tiny-f16.gguf"]) {
  const model = await llama.loadModel({ modelPath: file });
  console.log(file, "vocab", model.tokenizer ? "ok" : "none", "n_params", model.trainContextSize);
  const tokens = model.tokenize("Hello world, this is a test.");
  console.log("tokens", tokens.length, tokens.slice(0, 10), model.detokenize(tokens));
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  for (const prompt of ["Hello world", "The quick brown fox"]) {
    const seq = ctx.getSequence();
    const toks = model.tokenize(prompt);
    const it = seq.evaluateWithMetadata(toks, { probabilities: true }, { temperature: 0 });
    const { value } = await it.next();
    const probs = [...value.probabilities.values()];
    const max = Math.max(...probs);
    const entropy = -probs.reduce((a, p) => a + (p > 0 ? p * Math.log(p) : 0), 0);
    console.log(prompt, "next", value.token, JSON.stringify(model.detokenize([value.token])), "maxP", max.toFixed(4), "entropy", entropy.toFixed(2), "uniform entropy", Math.log(probs.length).toFixed(2), "n", probs.length);
    await it.return();
    seq.dispose();
  }
  await ctx.dispose();
  await model.dispose();
}
