import { writeFileSync } from "node:fs";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { detectDatasetFormat, loadDataset, type LoadDatasetOptions } from "../src/data/index.js";
import { isLoraGgufError } from "../src/errors.js";
import { makeTempDir } from "./helpers/temp-dir.js";

const temp = makeTempDir("dataset");
afterAll(() => temp.cleanup());

let fixtureCount = 0;
/** Writes `content` to a fresh file with the given extension and returns its path. */
function fixture(extension: string, content: string | Buffer): string {
  const file = path.join(temp.dir, `data-${++fixtureCount}${extension}`);
  writeFileSync(file, content);
  return file;
}

const jsonl = (...records: unknown[]): string => records.map((record) => JSON.stringify(record)).join("\n") + "\n";

async function loadError(file: string, options?: LoadDatasetOptions): Promise<{ code: string; message: string }> {
  const error = await loadDataset(file, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isLoraGgufError(error)) throw new Error(`expected a LoraGgufError, got ${String(error)}`);
  return { code: error.code, message: error.message };
}

describe("loadDataset: formats from JSON Lines", () => {
  it("text: one record per line, blank lines skipped but counted", async () => {
    const file = fixture(".jsonl", '{"text": "first"}\n\n{"text": "second\\nline"}\n');
    const dataset = await loadDataset(file);
    expect(dataset).toEqual({
      format: "text",
      conversations: [
        { source: { file, line: 1 }, text: "first" },
        { source: { file, line: 3 }, text: "second\nline" },
      ],
      problems: [],
      rowCount: 2,
    });
  });

  it("alpaca: instruction and input joined by one newline, system and history kept", async () => {
    const file = fixture(
      ".jsonl",
      jsonl(
        { instruction: "Translate to French.", input: "Good morning", output: "Bonjour" },
        { instruction: "Say hi.", input: "", output: "Hi!" },
        {
          instruction: "And now?",
          output: "Still here.",
          system: "You are kind.",
          history: [
            ["Hello", "Hi there"],
            ["How are you?", "Fine."],
          ],
        },
      ),
    );
    const dataset = await loadDataset(file);
    expect(dataset.format).toBe("alpaca");
    expect(dataset.conversations).toEqual([
      {
        source: { file, line: 1 },
        turns: [
          { role: "user", content: "Translate to French.\nGood morning" },
          { role: "assistant", content: "Bonjour" },
        ],
      },
      {
        source: { file, line: 2 },
        turns: [
          { role: "user", content: "Say hi." },
          { role: "assistant", content: "Hi!" },
        ],
      },
      {
        source: { file, line: 3 },
        system: "You are kind.",
        turns: [
          { role: "user", content: "Hello" },
          { role: "assistant", content: "Hi there" },
          { role: "user", content: "How are you?" },
          { role: "assistant", content: "Fine." },
          { role: "user", content: "And now?" },
          { role: "assistant", content: "Still here." },
        ],
      },
    ]);
  });

  it("sharegpt: human/user → user, gpt/assistant/model → assistant, a leading system message or a system field", async () => {
    const file = fixture(
      ".jsonl",
      jsonl(
        {
          conversations: [
            { from: "system", value: "Be brief." },
            { from: "human", value: "Hi" },
            { from: "gpt", value: "Hello" },
            { from: "user", value: "Bye" },
            { from: "model", value: "Goodbye" },
          ],
        },
        { system: "From the field.", conversations: [{ from: "human", value: "Q" }, { from: "assistant", value: "A" }] },
      ),
    );
    const dataset = await loadDataset(file);
    expect(dataset.format).toBe("sharegpt");
    expect(dataset.conversations).toEqual([
      {
        source: { file, line: 1 },
        system: "Be brief.",
        turns: [
          { role: "user", content: "Hi" },
          { role: "assistant", content: "Hello" },
          { role: "user", content: "Bye" },
          { role: "assistant", content: "Goodbye" },
        ],
      },
      {
        source: { file, line: 2 },
        system: "From the field.",
        turns: [
          { role: "user", content: "Q" },
          { role: "assistant", content: "A" },
        ],
      },
    ]);
  });

  it("messages: OpenAI / Hugging Face role and content", async () => {
    const file = fixture(
      ".jsonl",
      jsonl({
        messages: [
          { role: "system", content: "You are terse." },
          { role: "user", content: "2+2?" },
          { role: "assistant", content: "4" },
        ],
      }),
    );
    const dataset = await loadDataset(file);
    expect(dataset.format).toBe("messages");
    expect(dataset.conversations).toEqual([
      {
        source: { file, line: 1 },
        system: "You are terse.",
        turns: [
          { role: "user", content: "2+2?" },
          { role: "assistant", content: "4" },
        ],
      },
    ]);
  });

  it(".ndjson, CRLF line ends and a BOM", async () => {
    const file = fixture(".ndjson", '\uFEFF{"text": "a"}\r\n{"text": "b"}\r\n');
    const dataset = await loadDataset(file);
    expect(dataset.conversations).toEqual([
      { source: { file, line: 1 }, text: "a" },
      { source: { file, line: 2 }, text: "b" },
    ]);
  });

  it("a .json file holding JSON Lines (as Hugging Face datasets writes them) is read as JSON Lines", async () => {
    const file = fixture(".json", jsonl({ text: "a" }, { text: "b" }));
    expect((await loadDataset(file)).conversations.map((c) => c.source.line)).toEqual([1, 2]);
  });
});

describe("loadDataset: JSON arrays", () => {
  it("each record's line and array index, pretty-printed", async () => {
    const records = [
      { messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello" }] },
      { messages: [{ role: "user", content: "Bye, [really]" }, { role: "assistant", content: "Bye \"now\" {}" }] },
    ];
    const file = fixture(".json", JSON.stringify(records, null, 2));
    const dataset = await loadDataset(file);
    expect(dataset.format).toBe("messages");
    expect(dataset.conversations.map((c) => c.source)).toEqual([
      { file, line: 2, index: 0 },
      { file, line: 14, index: 1 },
    ]);
    expect(dataset.conversations[1]).toMatchObject({ turns: [{ content: "Bye, [really]" }, { content: 'Bye "now" {}' }] });
  });

  it("alpaca and text arrays", async () => {
    const alpaca = fixture(".json", '[{"instruction": "Add.", "input": "1 2", "output": "3"}]');
    expect((await loadDataset(alpaca)).conversations).toEqual([
      {
        source: { file: alpaca, line: 1, index: 0 },
        turns: [
          { role: "user", content: "Add.\n1 2" },
          { role: "assistant", content: "3" },
        ],
      },
    ]);
    const text = fixture(".json", '[\n  {"text": "a"},\n  {"text": "b"}\n]\n');
    expect((await loadDataset(text)).conversations).toEqual([
      { source: { file: text, line: 2, index: 0 }, text: "a" },
      { source: { file: text, line: 3, index: 1 }, text: "b" },
    ]);
  });

  it("a syntax error in one element is that record's problem", async () => {
    const file = fixture(".json", '[\n  {"text": "a"},\n  {"text": },\n  {"text": "c"}\n]');
    expect(await loadError(file)).toEqual({
      code: "E_BAD_DATASET",
      message: `${file}:3: element 1: invalid JSON: Unexpected token '}'`,
    });
    const dataset = await loadDataset(file, { onBadRow: "skip" });
    expect(dataset.conversations.map((c) => c.source)).toEqual([
      { file, line: 2, index: 0 },
      { file, line: 4, index: 2 },
    ]);
    expect(dataset.problems).toEqual([{ file, line: 3, index: 1, message: "invalid JSON: Unexpected token '}'" }]);
    expect(dataset.rowCount).toBe(3);
  });

  it("an array that is not closed, a trailing comma, or an object instead of an array are clear errors", async () => {
    const unclosed = fixture(".json", '[\n  {"text": "a"},\n  {"text": "b"\n');
    expect(await loadError(unclosed)).toEqual({
      code: "E_BAD_DATASET",
      message: `${unclosed}:3: invalid JSON: the array is not closed (a missing "]", or an unterminated string or object)`,
    });
    const trailingComma = fixture(".json", '[{"text": "a"},\n]');
    expect(await loadError(trailingComma)).toEqual({
      code: "E_BAD_DATASET",
      message: `${trailingComma}:2: invalid JSON: a comma with no array element after it`,
    });
    const wrapped = fixture(".json", JSON.stringify({ data: [{ text: "a" }] }, null, 2));
    expect(await loadError(wrapped)).toEqual({
      code: "E_BAD_DATASET",
      message: `${wrapped}:1: the file holds a JSON object spread over several lines; a JSON dataset must be an array of records ([{...}, ...]) or one object per line (JSON Lines)`,
    });
    const scalar = fixture(".json", '"just a string"');
    expect(await loadError(scalar)).toEqual({
      code: "E_BAD_DATASET",
      message: `${scalar}:1: expected a JSON array of records or one JSON object per line, found "\\""`,
    });
  });
});

describe("loadDataset: CSV", () => {
  it("alpaca with a BOM, quoted commas, newlines and doubled quotes; each record's first line", async () => {
    const csv = [
      "\uFEFFinstruction,input,output",
      'Summarize.,"Apples, pears, and plums.",Fruit.',
      '"Quote him.",,"He said ""hi"".',
      'Second line too"',
      'Plain,,"multi',
      "",
      'line"',
      "",
      "Last,,End",
    ].join("\n");
    const file = fixture(".csv", csv);
    const dataset = await loadDataset(file);
    expect(dataset.format).toBe("alpaca");
    expect(dataset.conversations).toEqual([
      {
        source: { file, line: 2 },
        turns: [
          { role: "user", content: "Summarize.\nApples, pears, and plums." },
          { role: "assistant", content: "Fruit." },
        ],
      },
      {
        source: { file, line: 3 },
        turns: [
          { role: "user", content: "Quote him." },
          { role: "assistant", content: 'He said "hi".\nSecond line too' },
        ],
      },
      {
        source: { file, line: 5 },
        turns: [
          { role: "user", content: "Plain" },
          { role: "assistant", content: "multi\n\nline" },
        ],
      },
      {
        source: { file, line: 9 },
        turns: [
          { role: "user", content: "Last" },
          { role: "assistant", content: "End" },
        ],
      },
    ]);
  });

  it("CRLF line ends (also inside quoted fields) and non-ASCII text keep line numbers right", async () => {
    const file = fixture(".csv", 'text\r\n"né\r\n🙂, two"\r\n\r\nthird\r\n');
    const dataset = await loadDataset(file);
    expect(dataset.conversations).toEqual([
      { source: { file, line: 2 }, text: "né\r\n🙂, two" },
      { source: { file, line: 5 }, text: "third" },
    ]);
  });

  it("a text column; extra columns are ignored", async () => {
    const file = fixture(".csv", "id,text\n1,hello world\n2,\"a, b\"\n");
    const dataset = await loadDataset(file);
    expect(dataset.format).toBe("text");
    expect(dataset.conversations).toEqual([
      { source: { file, line: 2 }, text: "hello world" },
      { source: { file, line: 3 }, text: "a, b" },
    ]);
  });

  it("TSV", async () => {
    const file = fixture(".tsv", "instruction\toutput\nPing\tPong\n");
    expect((await loadDataset(file)).conversations).toEqual([
      {
        source: { file, line: 2 },
        turns: [
          { role: "user", content: "Ping" },
          { role: "assistant", content: "Pong" },
        ],
      },
    ]);
  });

  it("a row with the wrong number of fields is a bad row; a quoting error is fatal, with its line", async () => {
    const file = fixture(".csv", "text,id\nok,1\nshort\n\"multi\nline\",2,extra\nfine,4\n");
    expect(await loadError(file)).toEqual({
      code: "E_BAD_DATASET",
      message: `${file}:3: the row has 1 fields but the header has 2`,
    });
    const dataset = await loadDataset(file, { onBadRow: "skip" });
    expect(dataset.conversations.map((c) => c.source.line)).toEqual([2, 6]);
    expect(dataset.problems).toEqual([
      { file, line: 3, message: "the row has 1 fields but the header has 2" },
      { file, line: 4, message: "the row has 3 fields but the header has 2" },
    ]);

    const badQuote = fixture(".csv", 'text,id\r\n"a\r\nb",1\r\n\r\n"bad"x,2\r\nok,3\r\n');
    expect(await loadError(badQuote, { onBadRow: "skip" })).toEqual({
      code: "E_BAD_DATASET",
      message: `${badQuote}:5: malformed CSV: Invalid Closing Quote: got "x" instead of delimiter, record delimiter, trimable character (if activated) or comment`,
    });
  });

  it("a header naming a column twice", async () => {
    const file = fixture(".csv", "text,text\na,b\n");
    expect(await loadError(file)).toEqual({
      code: "E_BAD_DATASET",
      message: `${file}:1: the CSV header names the column "text" twice`,
    });
  });
});

describe("detectDatasetFormat", () => {
  it("recognises each format by its fields", () => {
    expect(detectDatasetFormat([{ text: "a" }])).toBe("text");
    expect(detectDatasetFormat([{ instruction: "a", output: "b" }])).toBe("alpaca");
    expect(detectDatasetFormat([{ instruction: "a" }])).toBe("alpaca");
    expect(detectDatasetFormat([{ conversations: [] }])).toBe("sharegpt");
    expect(detectDatasetFormat([{ messages: [] }])).toBe("messages");
  });

  it("chat fields win over a text field; records without known fields are passed over", () => {
    expect(detectDatasetFormat([{ messages: [], text: "rendered" }])).toBe("messages");
    expect(detectDatasetFormat([null, { id: 1 }, { text: "a" }])).toBe("text");
  });

  it("uses the names columns gives", () => {
    expect(detectDatasetFormat([{ prompt: "a", completion: "b" }], { instruction: "prompt", output: "completion" })).toBe("alpaca");
    // "output" is now the text, so it no longer marks alpaca
    expect(detectDatasetFormat([{ output: "a" }], { text: "output" })).toBe("text");
  });

  it("mixed formats and unknown layouts throw E_BAD_DATASET", () => {
    expect(() => detectDatasetFormat([{ text: "a" }, { id: 2 }, { messages: [] }])).toThrow(
      "mixed dataset formats: record 2 is messages but record 0 is text; use one format per file",
    );
    expect(() => detectDatasetFormat([{ id: 1 }])).toThrow(
      'no record has a known dataset format: expected "text" (text), "instruction" and "output" (alpaca), "conversations" (sharegpt) or "messages" (messages)',
    );
  });
});

describe("loadDataset: format option and columns", () => {
  it("format overrides detection", async () => {
    const file = fixture(".jsonl", jsonl({ instruction: "Q", output: "A", text: "Q A" }));
    expect((await loadDataset(file)).format).toBe("alpaca");
    const asText = await loadDataset(file, { format: "text" });
    expect(asText.format).toBe("text");
    expect(asText.conversations).toEqual([{ source: { file, line: 1 }, text: "Q A" }]);
  });

  it("with an explicit format, a record without its fields is a bad row", async () => {
    const file = fixture(".jsonl", jsonl({ text: "a" }));
    expect(await loadError(file, { format: "messages" })).toEqual({
      code: "E_BAD_DATASET",
      message: `${file}:1: missing "messages"`,
    });
  });

  it("columns maps the file's field names", async () => {
    const file = fixture(".jsonl", jsonl({ prompt: "Q", completion: "A", sys: "S" }));
    const dataset = await loadDataset(file, { columns: { instruction: "prompt", output: "completion", system: "sys" } });
    expect(dataset.conversations).toEqual([
      {
        source: { file, line: 1 },
        system: "S",
        turns: [
          { role: "user", content: "Q" },
          { role: "assistant", content: "A" },
        ],
      },
    ]);
    const missing = fixture(".jsonl", jsonl({ prompt: "Q" }));
    expect(await loadError(missing, { columns: { instruction: "prompt", output: "completion" } })).toEqual({
      code: "E_BAD_DATASET",
      message: `${missing}:1: missing "completion"`,
    });
  });
});

describe("loadDataset: bad rows", () => {
  const badRows: [unknown, string][] = [
    [{ instruction: "Q" }, 'missing "output"'],
    [{ instruction: "Q", output: 42 }, '"output" must be a string, got number 42'],
    [{ instruction: "  ", output: "A" }, '"instruction" is empty'],
    [{ instruction: "Q", output: "A", history: [["only one"]] }, '"history"[0] must be a [user, assistant] pair, got an array'],
    [[1, 2], "a record must be a JSON object, got an array"],
    [{ id: 7 }, 'no known dataset format (fields "id"): expected "text" (text), "instruction" and "output" (alpaca), "conversations" (sharegpt) or "messages" (messages)'],
  ];

  it("onBadRow error (the default) throws at the first, naming file:line", async () => {
    const file = fixture(".jsonl", ['{"instruction": "ok", "output": "fine"}', "", '{"instruction": "Q", "output": 42}', "{broken"].join("\n"));
    expect(await loadError(file)).toEqual({ code: "E_BAD_DATASET", message: `${file}:3: "output" must be a string, got number 42` });
  });

  it("onBadRow skip returns every problem with its line, in file order, and the good records", async () => {
    const lines = ['{"instruction": "first", "output": "good"}', "{broken", ...badRows.map(([record]) => JSON.stringify(record)), '{"instruction": "last", "output": "good"}'];
    const file = fixture(".jsonl", lines.join("\n"));
    const dataset = await loadDataset(file, { onBadRow: "skip" });
    expect(dataset.format).toBe("alpaca");
    expect(dataset.conversations.map((c) => c.source.line)).toEqual([1, lines.length]);
    expect(dataset.rowCount).toBe(lines.length);
    expect(dataset.problems).toEqual([
      { file, line: 2, message: "invalid JSON: Expected property name or '}' in JSON at position 1" },
      ...badRows.map(([, message], index) => ({ file, line: index + 3, message })),
    ]);
  });

  const chatProblems: [unknown, string][] = [
    [{ messages: [{ role: "user", content: "Q" }] }, "the conversation has no assistant turn"],
    [
      { messages: [{ role: "user", content: "Q" }, { role: "assistant", content: "A" }, { role: "user", content: "Q2" }] },
      "the conversation ends with a user turn; the last turn must be the assistant's",
    ],
    [{ messages: [{ role: "user", content: "Q" }, { role: "assistant", content: "" }] }, '"messages"[1] has empty content'],
    [{ messages: [{ role: "user", content: "Q" }, { role: "developer", content: "{}" }] }, '"messages"[1]: unknown role "developer"; expected "system", "user", "assistant" or "tool"'],
    [{ messages: [{ role: "assistant", content: "A" }] }, '"messages"[0]: the conversation starts with an assistant turn; it must start with a user turn'],
    [
      { messages: [{ role: "user", content: "Q" }, { role: "user", content: "Q again" }, { role: "assistant", content: "A" }] },
      '"messages"[1]: two user turns in a row; turns must alternate user/assistant',
    ],
    [
      { messages: [{ role: "user", content: "Q" }, { role: "system", content: "late" }, { role: "assistant", content: "A" }] },
      '"messages"[1]: a system message is only allowed first',
    ],
    [{ messages: [{ role: "user", content: ["part"] }, { role: "assistant", content: "A" }] }, '"messages"[0].content must be a string, got an array'],
    [{ messages: [] }, '"messages" is empty'],
    [{ messages: "hi" }, '"messages" must be an array of messages, got the string "hi"'],
    [{ messages: [{ role: "user" }, { role: "assistant", content: "A" }] }, 'missing "messages"[0].content'],
  ];

  it("messages: no assistant turn, ending with the user, empty content, unknown roles, ...", async () => {
    const file = fixture(".jsonl", jsonl(...chatProblems.map(([record]) => record), { messages: [{ role: "user", content: "Q" }, { role: "assistant", content: "A" }] }));
    const dataset = await loadDataset(file, { onBadRow: "skip" });
    expect(dataset.problems).toEqual(chatProblems.map(([, message], index) => ({ file, line: index + 1, message })));
    expect(dataset.conversations).toHaveLength(1);
  });

  it("sharegpt: unknown speakers and missing values", async () => {
    const file = fixture(
      ".jsonl",
      jsonl(
        { conversations: [{ from: "human", value: "Q" }, { from: "bot", value: "{}" }] },
        { conversations: [{ from: "human", value: "Q" }, { from: "gpt" }] },
        { conversations: [{ from: "human", value: "Q" }, { from: "gpt", value: "" }] },
        { conversations: [{ from: "human", value: "Q" }, { from: "gpt", value: "A" }] },
      ),
    );
    const dataset = await loadDataset(file, { onBadRow: "skip" });
    expect(dataset.problems).toEqual([
      {
        file,
        line: 1,
        message: '"conversations"[1]: unknown speaker "bot"; expected "human" or "user", "gpt", "assistant" or "model", "function_call", "observation", or "system"',
      },
      { file, line: 2, message: 'missing "conversations"[1].value' },
      { file, line: 3, message: '"conversations"[1] has empty content' },
    ]);
    expect(dataset.conversations).toHaveLength(1);
  });

  it("mixed formats are an error naming the line, whatever onBadRow says", async () => {
    const file = fixture(".jsonl", jsonl({ instruction: "Q", output: "A" }, { text: "t" }));
    expect(await loadError(file, { onBadRow: "skip" })).toEqual({
      code: "E_BAD_DATASET",
      message: `${file}:2: mixed dataset formats: this record is text but the one at line 1 is alpaca; use one format per file`,
    });
  });
});

describe("loadDataset: empty files, options and missing files", () => {
  it("an empty or blank file, a header-only CSV, an empty array and a file of bad rows have no usable record", async () => {
    const empty = fixture(".jsonl", "");
    expect(await loadError(empty)).toEqual({ code: "E_BAD_DATASET", message: `${empty}: the file is empty` });
    const blank = fixture(".jsonl", "\n  \n\n");
    expect(await loadError(blank)).toEqual({ code: "E_BAD_DATASET", message: `${blank}: the file is empty` });
    const emptyCsv = fixture(".csv", "");
    expect(await loadError(emptyCsv)).toEqual({ code: "E_BAD_DATASET", message: `${emptyCsv}: the dataset has no records` });
    const headerOnly = fixture(".csv", "text\n");
    expect(await loadError(headerOnly)).toEqual({ code: "E_BAD_DATASET", message: `${headerOnly}: the dataset has no records` });
    const emptyArray = fixture(".json", "[ ]");
    expect(await loadError(emptyArray)).toEqual({ code: "E_BAD_DATASET", message: `${emptyArray}: the dataset has no records` });
    const allBad = fixture(".jsonl", jsonl({ text: "" }, { text: 1 }));
    expect(await loadError(allBad, { onBadRow: "skip" })).toEqual({
      code: "E_BAD_DATASET",
      message: `${allBad}: the dataset has no usable records; all 2 are bad, the first: ${allBad}:1: "text" is empty`,
    });
  });

  it("bad options are E_INVALID_OPTION with uniform messages", async () => {
    const file = fixture(".jsonl", jsonl({ text: "a" }));
    expect(await loadError(file, { format: "chatml" as never })).toEqual({
      code: "E_INVALID_OPTION",
      message: 'loadDataset: format must be one of "auto", "text", "alpaca", "sharegpt", "messages", got "chatml"',
    });
    expect(await loadError(file, { onBadRow: "ignore" as never })).toEqual({
      code: "E_INVALID_OPTION",
      message: 'loadDataset: onBadRow must be one of "skip", "error", got "ignore"',
    });
    expect(await loadError(file, { formt: "text" } as never)).toEqual({
      code: "E_INVALID_OPTION",
      message: 'loadDataset: unknown option "formt"; known options: format, onBadRow, columns',
    });
    expect(await loadError(file, { columns: { prompt: "q" } as never })).toEqual({
      code: "E_INVALID_OPTION",
      message: 'loadDataset: columns: unknown option "prompt"; known options: text, instruction, input, output, history, system, conversations, messages',
    });
    expect(await loadError(file, { columns: { instruction: "q", input: "q" } })).toEqual({
      code: "E_INVALID_OPTION",
      message: 'loadDataset: columns.instruction and columns.input both read the field "q"',
    });
  });

  it("a missing file is E_INPUT_NOT_FOUND; an unknown extension must look like JSON", async () => {
    const missing = path.join(temp.dir, "nope.jsonl");
    expect(await loadError(missing)).toEqual({ code: "E_INPUT_NOT_FOUND", message: `dataset file not found: ${missing}` });
    expect(await loadError(temp.dir)).toEqual({ code: "E_INPUT_NOT_FOUND", message: `${temp.dir} is not a regular file` });
    const txt = fixture(".txt", "hello\n");
    expect(await loadError(txt)).toEqual({
      code: "E_BAD_DATASET",
      message: `${txt}: cannot tell the dataset's file type: name it .jsonl, .json, .csv or .tsv`,
    });
    const jsonlInTxt = fixture(".txt", jsonl({ text: "a" }));
    expect((await loadDataset(jsonlInTxt)).format).toBe("text");
  });
});

describe("loadDataset: size", () => {
  it("100k JSON Lines records load in under 3 s", async () => {
    const rowCount = 100_000;
    const lines: string[] = [];
    for (let i = 0; i < rowCount; i++) {
      lines.push(JSON.stringify({ messages: [{ role: "user", content: `question ${i}` }, { role: "assistant", content: `answer ${i}` }] }));
    }
    const file = fixture(".jsonl", lines.join("\n") + "\n");
    const started = performance.now();
    const dataset = await loadDataset(file);
    const elapsedMs = performance.now() - started;
    expect(dataset.rowCount).toBe(rowCount);
    expect(dataset.conversations).toHaveLength(rowCount);
    expect(dataset.conversations[rowCount - 1].source.line).toBe(rowCount);
    console.log(`loadDataset: ${rowCount} JSONL records in ${elapsedMs.toFixed(0)} ms`);
    expect(elapsedMs).toBeLessThan(3000);
  });
});
