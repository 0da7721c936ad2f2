// tokenizer.ggml.scores for a SentencePiece-style tokenizer.json, which keeps SentencePiece's ids
// but not its scores. llama.cpp's "llama" vocabulary merges the adjacent pair whose joined text is
// the highest-scored token (ties: the leftmost); Hugging Face's BPE merges the pair listed first in
// model.merges. The scores below order every merge result as model.merges does, so both merge alike.

/** Where pieces SentencePiece scored by hand start (Llama 2's "▁▁" has exactly this score). */
const HAND_SCORED_TOP = -1e9;
/** Steps between those pieces; float32 resolves 64 at 1e9 and 128 up to 2^31. */
const HAND_SCORED_STEP = 1000;

/**
 * Scores of the NORMAL tokens, by id.
 *
 * SentencePiece's BPE trainer scores its i-th learned piece -i and keeps the pieces in that order
 * (bpe_model_trainer.cc), after the control, unknown and byte pieces; transformers' converter keeps
 * those ids and lists the merges by the score of their result, best first (generate_merges in
 * convert_slow_tokenizer.py). So a NORMAL token's score is minus its index among the NORMAL tokens,
 * which gives back the tokenizer.model's scores. Pieces that model.merges reaches only after that
 * order breaks off (Llama 2's "▁▁", Mistral's runs of "▁", which their tokenizer.model scores -1e9)
 * are scored from -1e9 down, in model.merges order, so that they keep merging last and in order.
 *
 * @param normalIds NORMAL token ids, ascending.
 * @param mergeResults ids of model.merges' results, in model.merges order (repeats allowed).
 */
export function sentencePieceScores(normalIds: readonly number[], mergeResults: Iterable<number>): Map<number, number> {
  const scores = new Map<number, number>();
  normalIds.forEach((id, index) => scores.set(id, -index));

  const firstMerged: number[] = [];
  const seen = new Set<number>();
  for (const id of mergeResults) {
    if (seen.has(id) || !scores.has(id)) continue;
    seen.add(id);
    firstMerged.push(id);
  }
  let ordered = 1;
  while (ordered < firstMerged.length && firstMerged[ordered] > firstMerged[ordered - 1]) ordered++;
  firstMerged.slice(ordered).forEach((id, index) => scores.set(id, HAND_SCORED_TOP - index * HAND_SCORED_STEP));
  return scores;
}
