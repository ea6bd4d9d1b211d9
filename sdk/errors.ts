/** Base class of every error the SDK raises on purpose, so callers can tell them from bugs. */
export class QnnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor or array has a shape the operation cannot accept. */
export class ShapeError extends QnnError {}

/** A file (IDX, .qnn) is truncated, foreign or inconsistent. Carries the file and byte offset when known. */
export class FileFormatError extends QnnError {
  constructor(
    message: string,
    readonly file: string,
    readonly offset?: number,
  ) {
    super(offset === undefined ? `${file}: ${message}` : `${file}: ${message} (at byte offset ${offset})`);
  }
}
