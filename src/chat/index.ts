export { builtInChatTemplates, type BuiltInChatTemplateName } from "./built-in-templates.js";
export { ChatTemplate, compileChatTemplate, type TemplateMessage, type TemplateVariables } from "./chat-template.js";
export { readChatTemplateFromGguf } from "./gguf-chat-template.js";
export {
  renderConversation,
  renderPrompt,
  type RenderableConversation,
  type RenderConversationOptions,
  type RenderedConversation,
  type RenderedSegment,
  type SpanMethod,
} from "./render-conversation.js";
