import { LoraGgufError } from "../errors.js";
import type { AtomicOutputFile } from "./atomic-output-file.js";

/** What both tensor file formats (GGUF, safetensors) declare about a tensor before its data. */
export interface DeclaredTensorData {
  name: string;
  /** Bytes the tensor's data must have. */
  byteLength: number;
}

/**
 * The write discipline GGUF and safetensors share: a header written first with every tensor's
 * offset, then each tensor's data in declared order, checked for order and length; any error
 * deletes the temporary file, `finish()` renames it into place. Subclasses say what they call
 * themselves in messages and what goes after each tensor (GGUF's alignment padding).
 */
export abstract class OrderedTensorFileWriter {
  private nextTensor = 0;
  private state: "open" | "finished" | "failed" = "open";

  protected constructor(
    protected readonly output: AtomicOutputFile,
    private readonly declared: readonly DeclaredTensorData[],
    private readonly label: string,
  ) {}

  get path(): string {
    return this.output.targetPath;
  }

  /** Writes the data of the next declared tensor; `data` is viewed as raw little-endian bytes. */
  async writeTensorData(name: string, data: ArrayBufferView): Promise<void> {
    this.requireOpen();
    await this.guard(async () => {
      const expected = this.declared[this.nextTensor];
      if (expected === undefined) {
        throw new LoraGgufError("E_INVALID_OPTION", `${this.label}: data for "${name}" written after all ${this.declared.length} declared tensors`);
      }
      if (name !== expected.name) {
        throw new LoraGgufError("E_INVALID_OPTION", `${this.label}: data for "${name}" written out of order: the next declared tensor is "${expected.name}"`);
      }
      if (data.byteLength !== expected.byteLength) {
        throw new LoraGgufError("E_INVALID_OPTION", `${this.label}: tensor "${name}" data is ${data.byteLength} bytes but ${this.describe(this.nextTensor)} needs ${expected.byteLength}`);
      }
      await this.output.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      await this.afterTensor(this.nextTensor);
      this.nextTensor++;
    });
  }

  /** Checks every declared tensor was written, then moves the file into place. */
  async finish(): Promise<void> {
    this.requireOpen();
    await this.guard(async () => {
      const missing = this.declared.slice(this.nextTensor).map((tensor) => tensor.name);
      if (missing.length > 0) {
        throw new LoraGgufError("E_INVALID_OPTION", `${this.label} finished before the data of ${missing.length} tensor(s) was written: ${missing.slice(0, 5).join(", ")}`);
      }
      await this.output.commit();
    });
    this.state = "finished";
  }

  /** Gives up on the file and deletes the temporary output. Safe to call at any time. */
  async abort(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "failed";
    await this.output.discard();
  }

  /** The shape of declared tensor `index`, for messages. */
  protected abstract describe(index: number): string;

  /** Runs after tensor `index`'s data is written. */
  protected async afterTensor(_index: number): Promise<void> {}

  protected async guard(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  private requireOpen(): void {
    if (this.state !== "open") {
      throw new LoraGgufError("E_INVALID_OPTION", `${this.label} for ${this.path} is already ${this.state}`);
    }
  }
}
