export { isPlainText, type ChatConversation, type ChatRole, type ChatTurn, type Conversation, type PlainText, type RecordSource } from "./conversation.js";
export type { DatasetColumns } from "./dataset-columns.js";
export { describeDatasetProblem, type DatasetProblem } from "./dataset-problem.js";
export { DATASET_FILE_EXTENSIONS } from "./dataset-file-type.js";
export { detectDatasetFormat } from "./detect-dataset-format.js";
export { loadDataset, type LoadDatasetOptions, type LoadedDataset } from "./load-dataset.js";
export { DATASET_FORMATS, type DatasetFormat } from "./record-format.js";
