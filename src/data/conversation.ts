// What a dataset file turns into: records in one shape, whatever the file's format, each carrying
// where it came from so that later stages (templating, tokenizing) can still name the line.

/** Where a record starts: the file as the caller named it and a 1-based line number. */
export interface RecordSource {
  file: string;
  line: number;
  /** 0-based position of the record in a JSON array file; absent for JSONL and CSV. */
  index?: number;
}

export type ChatRole = "user" | "assistant";

export interface ChatTurn {
  role: ChatRole;
  content: string;
  /** An assistant turn's reasoning before its answer (messages data's `reasoning_content` or `thinking`). */
  reasoning?: string;
}

/** A chat for supervised fine-tuning: turns alternate user/assistant, start with user and end with assistant. */
export interface ChatConversation {
  source: RecordSource;
  system?: string;
  turns: ChatTurn[];
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
