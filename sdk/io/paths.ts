/** Path helpers that work on plain strings, so modules that browsers load need no node:path. */

/** Folder part of a path ('.' when there is none), splitting on '/' and '\\'. */
export function folderOf(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  if (cut < 0) return '.';
  return cut === 0 ? path.slice(0, 1) : path.slice(0, cut);
}

/** Last component of a path. */
export function fileNameOf(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

/**
 * Returns a temporary name in the folder of `path`, so the final rename stays on one
 * file system and is atomic. The random part keeps two writers apart.
 */
export function tempPathFor(path: string): string {
  const random = Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0');
  const folder = folderOf(path);
  const prefix = folder === '.' && !path.startsWith('./') ? '' : folder.endsWith('/') || folder.endsWith('\\') ? folder : `${folder}/`;
  return `${prefix}.${fileNameOf(path)}.${random}.tmp`;
}

/** Turns a file:// URL into a path and leaves other strings alone. */
export function filePathOf(destination: string): string {
  if (!destination.startsWith('file:')) return destination;
  const url = new URL(destination);
  const path = decodeURIComponent(url.pathname);
  // Windows file URLs look like file:///C:/dir/file; the leading slash goes.
  return /^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path;
}
