/**
 * The error thrown for malformed protobuf wire data. `offset` is the byte offset (into the buffer that was being
 * read) at which the problem was found, so callers can report it or wrap it in their own error type.
 */
export class WireFormatError extends Error {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`malformed protobuf at byte ${offset}: ${message}`);
    this.name = 'WireFormatError';
    this.offset = offset;
  }
}
