// What a dataset file turns into: records in one shape, whatever the file's format, each carrying
// where it came from so that later stages (templating, tokenizing) can still name the line.

/** Where a record starts: the file as the caller named it and a 1-based line number. */
export interface RecordSource {
  file: string;
  line: number;
  /** 0-based position of the record in a JSON array file; absent for JSONL and CSV. */
  index?: number;
}

/** `tool` is a tool's result, given to the model after an assistant turn that called tools. */
export type ChatRole = "user" | "assistant" | "tool";

/** A function call an assistant turn makes (OpenAI's tool_calls[].function). */
export interface ToolCall {
  name: string;
  /** The arguments as an object: templates write them with tojson. */
  arguments: Record<string, unknown>;
  /** The call's id, where the data gives one (tool results refer to it). */
  id?: string;
}

export interface ChatTurn {
  role: ChatRole;
  /** The text; may be empty for an assistant turn that only calls tools. */
  content: string;
  /** An assistant turn's reasoning before its answer (messages data's `reasoning_content` or `thinking`). */
  reasoning?: string;
  /** An assistant turn's tool calls, trained like its text. */
  toolCalls?: ToolCall[];
  /** A tool result's call id and function name, where the data gives them. */
  toolCallId?: string;
  name?: string;
}

/**
 * A chat for supervised fine-tuning: starts with a user turn and ends with an assistant turn; a user
 * turn is answered by the assistant, an assistant turn that calls tools by their results (tool turns),
 * and tool results by the assistant.
 */
export interface ChatConversation {
  source: RecordSource;
  system?: string;
  turns: ChatTurn[];
  /** The tool definitions the conversation may call (OpenAI function schemas), passed to the template as `tools`. */
  tools?: unknown[];
}

/** A plain-text record (continued pre-training style): the whole text is trained on. */
export interface PlainText {
  source: RecordSource;
  text: string;
}

export type Conversation = ChatConversation | PlainText;

export function isPlainText(conversation: Conversation): conversation is PlainText {
  return "text" in conversation;
}
