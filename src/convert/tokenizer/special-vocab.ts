// Special token ids, add_bos/add_eos flags, chat templates and normalizer flags, read the way
// gguf-py's SpecialVocab reads them (gguf-py/gguf/vocab.py): tokenizer_config.json first, then
// tokenizer.json's post-processor, then config.json.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { LoraGgufError } from "../../errors.js";
import { arrayEntry, boolEntry, stringEntry, uint32Entry } from "../../gguf/metadata-entries.js";
import { GgufValueType, type GgufMetadataEntry } from "../../gguf/value-types.js";
import { isJsonObject, readJsonObject, type HfTokenizerDir, type JsonObject } from "./hf-tokenizer-files.js";

type SpecialTokenType = "bos" | "eos" | "unk" | "sep" | "pad" | "cls" | "mask" | "eot" | "eom";

/** GGUF key of each special token id; cls has none (gguf-py skips it). */
const ID_KEYS: Partial<Record<SpecialTokenType, string>> = {
  bos: "tokenizer.ggml.bos_token_id",
  eos: "tokenizer.ggml.eos_token_id",
  unk: "tokenizer.ggml.unknown_token_id",
  // sic: llama.cpp's key
  sep: "tokenizer.ggml.seperator_token_id",
  pad: "tokenizer.ggml.padding_token_id",
  mask: "tokenizer.ggml.mask_token_id",
  eot: "tokenizer.ggml.eot_token_id",
  eom: "tokenizer.ggml.eom_token_id",
};

/** GGUF key of each add_<type>_token flag; llama.cpp reads these three only. */
const ADD_KEYS: Partial<Record<SpecialTokenType, string>> = {
  bos: "tokenizer.ggml.add_bos_token",
  eos: "tokenizer.ggml.add_eos_token",
  sep: "tokenizer.ggml.add_sep_token",
};

export interface SpecialVocab {
  /** Ids by type, in the order they were found (the order they are written in). */
  ids: Map<SpecialTokenType, number>;
  /** add_<type>_token flags by type. */
  add: Map<SpecialTokenType, boolean>;
  chatTemplate: string | ChatTemplateChoice[] | undefined;
  normalizerLowercase: boolean | undefined;
  normalizerStripAccents: boolean | undefined;
}

export interface ChatTemplateChoice {
  name: string;
  template: string;
}

/**
 * Reads the special vocabulary. Ids at or past `vocabSize` are dropped, and so are negative ones
 * (config.json's pad_token_id: -1 means none). Where every other source leaves eos unset,
 * generation_config.json's eos_token_id (its first, when a list) is taken; gguf-py does not read
 * that file, so this only fills a gap and never changes what llama.cpp's converter would write.
 */
export async function readSpecialVocab(files: HfTokenizerDir, vocabSize: number): Promise<SpecialVocab> {
  const state = new SpecialVocabReader(vocabSize);
  await state.readTokenizerFiles(files);
  state.readModelConfig(files.modelConfig);
  if (!state.ids.has("eos") && files.generationConfig) {
    const eos = files.generationConfig.eos_token_id;
    state.setId("eos", Array.isArray(eos) ? eos[0] : eos);
  }
  return {
    ids: state.ids,
    add: state.add,
    chatTemplate: state.chatTemplate,
    normalizerLowercase: state.normalizerLowercase,
    normalizerStripAccents: state.normalizerStripAccents,
  };
}

/** The GGUF entries for a special vocabulary, in gguf-py's order. */
export function specialVocabEntries(vocab: SpecialVocab): GgufMetadataEntry[] {
  const entries: GgufMetadataEntry[] = [];
  for (const [type, id] of vocab.ids) {
    const key = ID_KEYS[type];
    if (key !== undefined) entries.push(uint32Entry(key, id));
  }
  for (const [type, value] of vocab.add) {
    const key = ADD_KEYS[type];
    if (key !== undefined) entries.push(boolEntry(key, value));
  }
  entries.push(...chatTemplateEntries(vocab.chatTemplate));
  if (vocab.normalizerLowercase !== undefined) entries.push(boolEntry("tokenizer.ggml.normalizer.lowercase", vocab.normalizerLowercase));
  if (vocab.normalizerStripAccents !== undefined) {
    entries.push(boolEntry("tokenizer.ggml.normalizer.strip_accents", vocab.normalizerStripAccents));
  }
  return entries;
}

/**
 * tokenizer.chat_template, plus for a list of named templates tokenizer.chat_template.<name> and
 * the tokenizer.chat_templates list of those names (names reduced to [A-Za-z0-9_], as gguf-py does).
 */
function chatTemplateEntries(template: SpecialVocab["chatTemplate"]): GgufMetadataEntry[] {
  if (template === undefined) return [];
  if (typeof template === "string") return [stringEntry("tokenizer.chat_template", template)];
  const entries: GgufMetadataEntry[] = [];
  const names: string[] = [];
  let defaultTemplate: string | undefined;
  for (const choice of template) {
    const name = choice.name.replace(/[^A-Za-z0-9]/g, "_");
    if (name === "") continue;
    if (name === "default") {
      defaultTemplate = choice.template;
    } else {
      if (!names.includes(name)) names.push(name);
      entries.push(stringEntry(`tokenizer.chat_template.${name}`, choice.template));
    }
  }
  if (names.length > 0) entries.push(arrayEntry("tokenizer.chat_templates", GgufValueType.STRING, names));
  if (defaultTemplate !== undefined) entries.push(stringEntry("tokenizer.chat_template", defaultTemplate));
  return entries;
}

class SpecialVocabReader {
  readonly ids = new Map<SpecialTokenType, number>();
  readonly add = new Map<SpecialTokenType, boolean>();
  chatTemplate: SpecialVocab["chatTemplate"];
  normalizerLowercase: boolean | undefined;
  normalizerStripAccents: boolean | undefined;
  private readonly types: SpecialTokenType[] = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"];

  constructor(private readonly vocabSize: number) {}

  /** The first id found for a type stands. */
  setId(type: SpecialTokenType, id: unknown): void {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0 || id >= this.vocabSize) return;
    if (!this.ids.has(type)) this.ids.set(type, id);
  }

  async readTokenizerFiles(files: HfTokenizerDir): Promise<void> {
    const { tokenizer } = files;
    // an empty tokenizer_config.json counts as none, as in gguf-py
    const tokenizerConfig = files.tokenizerConfig && Object.keys(files.tokenizerConfig).length > 0 ? files.tokenizerConfig : undefined;
    // without tokenizer.json (a tokenizer.model alone) gguf-py reads no normalizer, post-processor or added tokens
    if (tokenizer?.normalizer) this.readNormalizer(tokenizer.normalizer);

    // Token texts by type, from tokenizer_config.json; the post-processor may fill or replace some.
    const names = new Map<SpecialTokenType, string>();
    if (tokenizerConfig) {
      for (const type of this.types) {
        const content = tokenContent(tokenizerConfig[`${type}_token`]);
        if (content !== undefined) names.set(type, content);
      }
      if (!names.has("bos") && names.has("cls")) names.set("bos", names.get("cls")!);
      if (!names.has("eos") && names.has("sep")) names.set("eos", names.get("sep")!);
    }
    if (tokenizer?.postProcessor) this.readPostProcessor(tokenizer.postProcessor, names, tokenizerConfig !== undefined);
    if (!tokenizerConfig) return;

    this.chatTemplate = await readChatTemplate(files.dir, tokenizerConfig);
    for (const type of this.types) {
      const addFlag = tokenizerConfig[`add_${type}_token`];
      if (typeof addFlag === "boolean") this.add.set(type, addFlag);
      const content = names.get(type);
      if (content === undefined) continue;
      // by content among the added tokens only, as gguf-py looks them up
      this.setId(type, tokenizer?.addedTokens.find((token) => token.content === content)?.id);
    }
  }

  readModelConfig(config: JsonObject | undefined): void {
    if (!config) return;
    const textConfig = isJsonObject(config.text_config) ? config.text_config : undefined;
    for (const type of this.types) {
      this.setId(type, config[`${type}_token_id`] ?? textConfig?.[`${type}_token_id`]);
    }
  }

  private readNormalizer(normalizer: JsonObject): void {
    switch (normalizer.type) {
      case "Lowercase":
        this.normalizerLowercase = true;
        break;
      case "StripAccents":
        this.normalizerStripAccents = true;
        break;
      case "BertNormalizer":
        if (typeof normalizer.lowercase === "boolean") this.normalizerLowercase = normalizer.lowercase;
        if (typeof normalizer.strip_accents === "boolean") this.normalizerStripAccents = normalizer.strip_accents;
        break;
      case "Sequence":
        for (const child of Array.isArray(normalizer.normalizers) ? normalizer.normalizers : []) {
          if (isJsonObject(child)) this.readNormalizer(child);
        }
        break;
    }
  }

  /**
   * Whether BOS / EOS / SEP are added, from RobertaProcessing or a TemplateProcessing's leading and
   * trailing special tokens. Like gguf-py, this reads simple templates only: a leading token that
   * is neither bos nor cls gives add_bos false, and a trailing one other than eos becomes eos, the
   * old eos moving to eot (or eom).
   */
  private readPostProcessor(postProcessor: JsonObject, names: Map<SpecialTokenType, string>, hasConfig: boolean): void {
    const processors = Array.isArray(postProcessor.processors) ? postProcessor.processors : [postProcessor];
    const specialId = (item: unknown): string | undefined => {
      const special = isJsonObject(item) && isJsonObject(item.SpecialToken) ? item.SpecialToken.id : undefined;
      return typeof special === "string" && special !== "" ? special : undefined;
    };
    const sequenceId = (item: unknown): unknown => (isJsonObject(item) && isJsonObject(item.Sequence) ? item.Sequence.id : undefined);

    for (const processor of processors) {
      if (!isJsonObject(processor)) continue;
      if (processor.type === "RobertaProcessing") {
        this.add.set("bos", true).set("eos", true).set("sep", true);
        if (hasConfig && !names.has("cls")) {
          const cls = Array.isArray(processor.cls) ? processor.cls[0] : names.get("bos");
          if (typeof cls === "string") names.set("cls", cls);
        }
        if (hasConfig && !names.has("sep")) {
          const sep = Array.isArray(processor.sep) ? processor.sep[0] : names.get("eos");
          if (typeof sep === "string") names.set("sep", sep);
        }
        continue;
      }
      if (processor.type !== "TemplateProcessing") continue;

      const single = Array.isArray(processor.single) ? processor.single : [];
      const pair = Array.isArray(processor.pair) ? processor.pair : [];
      let first: string | undefined;
      let last: string | undefined;
      if (single.length > 1) {
        first = specialId(single[0]);
        if (first !== undefined) {
          if (hasConfig && first !== names.get("bos") && first !== names.get("cls")) {
            if (!names.has("bos")) names.set("bos", first);
            if (!names.has("cls")) names.set("cls", first);
          }
          this.add.set("bos", !hasConfig || first === names.get("bos") || first === names.get("cls"));
        }
        last = specialId(single[single.length - 1]);
        if (last !== undefined) {
          if (hasConfig && last !== names.get("eos")) {
            const previousEos = names.get("eos");
            for (const fallback of ["eot", "eom"] as const) {
              if (this.types.includes(fallback)) continue;
              this.types.push(fallback);
              if (previousEos !== undefined) names.set(fallback, previousEos);
              break;
            }
            names.set("eos", last);
          }
          this.add.set("eos", true);
        }
      }
      if (pair.length === 0) continue;
      // A [sep] [eos] B: whether a separator goes between the two sequences
      const start = first !== undefined && specialId(pair[0]) === first ? 1 : 0;
      const end = last !== undefined && specialId(pair[pair.length - 1]) === last ? pair.length - 1 : pair.length;
      const middle = pair.slice(start, end);
      if (middle.length < 3 || sequenceId(middle[0]) !== "A" || sequenceId(middle[middle.length - 1]) !== "B") continue;
      const between = middle.slice(1, -1);
      const separators = [names.get("sep"), names.get("eos")];
      let addSep = false;
      const firstBetween = specialId(between[0]);
      if (firstBetween !== undefined && separators.includes(firstBetween) && last === undefined) addSep = true;
      if (between.length === 2) {
        const secondBetween = specialId(between[1]);
        if (secondBetween !== undefined && separators.includes(secondBetween)) addSep = true;
      }
      this.add.set("sep", addSep);
      if (addSep && hasConfig && !names.has("sep") && names.has("eos")) names.set("sep", names.get("eos")!);
    }
  }
}

/** A tokenizer_config token entry: "<s>" or {"content": "<s>", ...} (older AddedToken form). */
function tokenContent(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (isJsonObject(entry) && typeof entry.content === "string") return entry.content;
  return undefined;
}

/**
 * tokenizer_config.json's chat_template (a string, or a list of {name, template}); when the key is
 * absent, chat_template.jinja (with additional_chat_templates/*.jinja as named alternatives), else
 * chat_template.json's chat_template.
 */
async function readChatTemplate(dir: string, tokenizerConfig: JsonObject): Promise<SpecialVocab["chatTemplate"]> {
  const value = "chat_template" in tokenizerConfig ? tokenizerConfig.chat_template : await chatTemplateFromFiles(dir);
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    return value.flatMap((choice) =>
      isJsonObject(choice) && typeof choice.name === "string" && typeof choice.template === "string"
        ? [{ name: choice.name, template: choice.template }]
        : [],
    );
  }
  // {name: template}, which some tokenizer_config.json files hold; gguf-py ignores anything else
  if (isJsonObject(value)) {
    return Object.entries(value).flatMap(([name, template]) => (typeof template === "string" ? [{ name, template }] : []));
  }
  return undefined;
}

async function chatTemplateFromFiles(dir: string): Promise<unknown> {
  const jinja = await readTextIfPresent(path.join(dir, "chat_template.jinja"));
  if (jinja !== undefined) {
    const extraDir = path.join(dir, "additional_chat_templates");
    const extras = (await readdir(extraDir).catch(() => [] as string[])).filter((name) => name.endsWith(".jinja")).sort();
    if (extras.length === 0) return jinja;
    const choices: ChatTemplateChoice[] = [{ name: "default", template: jinja }];
    for (const file of extras) {
      choices.push({ name: file.slice(0, -".jinja".length), template: (await readTextIfPresent(path.join(extraDir, file)))! });
    }
    return choices;
  }
  const json = await readJsonObject(path.join(dir, "chat_template.json"), "E_BAD_TOKENIZER");
  return json?.chat_template;
}

async function readTextIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new LoraGgufError("E_INPUT_NOT_FOUND", `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}
