export {
  formatResponseEvent,
  newResponseId,
  type ResponseContext,
  ResponsesStreamTranslator,
  responseShell,
  toResponse,
  toResponseUsage,
} from "./from-chat";
export {
  parseResponsesRequest,
  type ResponsesInputItem,
  type ResponsesRequest,
  responsesRequestSchema,
} from "./schema";
export { toChatRequest } from "./to-chat";
