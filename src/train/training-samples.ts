import { renderConversation, type ChatTemplate, type SpanMethod } from "../chat/index.js";
import { isPlainText, type Conversation, type RecordSource } from "../data/index.js";
import type { NativeTokenizer } from "../native.js";

/** One tokenized example: `targets[i]` says whether tokens[i] is something the model must learn to produce. */
export interface TrainingSample {
  tokens: Int32Array;
  targets: Uint8Array;
  source: RecordSource;
  /** How a chat record's response spans were found; absent for plain text and trainOnPrompt. */
  spanMethod?: SpanMethod;
}

/** Chat samples by how their spans were found (renderConversation): recorded in training.json and shown by preview. */
export function countSpanMethods(samples: readonly TrainingSample[]): Record<SpanMethod, number> {
  const counts: Record<SpanMethod, number> = { prefix: 0, search: 0 };
  for (const sample of samples) if (sample.spanMethod !== undefined) counts[sample.spanMethod]++;
  return counts;
}

export interface SampleOptions {
  /** Chat template for chat records; undefined renders chat records without one (an error for chat data). */
  template?: string | ChatTemplate;
  trainOnPrompt: boolean;
  /** Extra chat template variables (enable_thinking). */
  templateVariables?: Record<string, unknown>;
}

const TOKENIZE_BATCH = 512;

/**
 * Renders conversations (chat template, loss mask) and tokenizes them on the tokenizer's native
 * thread. The whole rendered text is tokenized at once, exactly as a prompt is at inference (a
 * SentencePiece vocabulary would add a space prefix to every separately tokenized piece); each
 * segment boundary is then located by tokenizing the text up to it, which for a boundary that a
 * token straddles gives the tokens before it. Special-token text in the template (<|im_start|>,
 * </s>, ...) becomes its special token.
 */
export async function tokenizeConversations(conversations: readonly Conversation[], tokenizer: NativeTokenizer, options: SampleOptions): Promise<TrainingSample[]> {
  const [bosText, eosText] = await tokenizer.pieces(Int32Array.of(Math.max(tokenizer.bos, 0), Math.max(tokenizer.eos, 0)));
  const samples: TrainingSample[] = [];
  for (let start = 0; start < conversations.length; start += TOKENIZE_BATCH) {
    const batch = conversations.slice(start, start + TOKENIZE_BATCH);
    const rendered = batch.map((conversation) =>
      renderConversation(conversation, {
        template: isPlainText(conversation) ? undefined : options.template,
        bosToken: tokenizer.bos >= 0 ? bosText : "",
        eosToken: eosText,
        trainOnPrompt: options.trainOnPrompt,
        templateVariables: options.templateVariables,
      }),
    );
    // per conversation: the full text, then the text up to each inner segment boundary
    const texts: string[] = [];
    for (const conversation of rendered) {
      texts.push(conversation.text);
      let offset = 0;
      for (const segment of conversation.segments.slice(0, -1)) {
        offset += segment.text.length;
        texts.push(conversation.text.slice(0, offset));
      }
    }
    const tokenized = await tokenizer.tokenize(texts, true);
    let next = 0;
    rendered.forEach((conversation, index) => {
      const full = tokenized[next++];
      const boundaries = conversation.segments.slice(0, -1).map(() => commonPrefixLength(full, tokenized[next++]));
      const sample = markTargets(full, conversation.segments, boundaries, tokenizer, batch[index].source);
      samples.push(conversation.spanMethod === undefined ? sample : { ...sample, spanMethod: conversation.spanMethod });
    });
  }
  return samples;
}

function commonPrefixLength(full: Int32Array, prefix: Int32Array): number {
  let length = 0;
  while (length < prefix.length && length < full.length && prefix[length] === full[length]) length++;
  return length;
}

function markTargets(
  full: Int32Array,
  segments: readonly { trained: boolean }[],
  boundaries: readonly number[],
  tokenizer: NativeTokenizer,
  source: RecordSource,
): TrainingSample {
  // the vocabulary asks for BOS in front (llama, mistral) unless the template wrote it already
  const prependBos = tokenizer.addBos && tokenizer.bos >= 0 && full[0] !== tokenizer.bos;
  const shift = prependBos ? 1 : 0;
  const tokens = new Int32Array(full.length + shift);
  if (prependBos) tokens[0] = tokenizer.bos;
  tokens.set(full, shift);
  const targets = new Uint8Array(tokens.length);
  const edges = [0, ...boundaries, full.length];
  segments.forEach((segment, index) => {
    if (segment.trained) targets.fill(1, edges[index] + shift, edges[index + 1] + shift);
  });
  return { tokens, targets, source };
}
