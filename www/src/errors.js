// Errors that say what failed to load, from where, and what fixes it.

const HINT = "If a bundler or a server moved digitscope's files, serve the package's folder as it is "
  + 'and pass its URL as the baseUrl option (the base-url attribute of <digit-detector>); '
  + 'see "Bundlers" in the package README.';

/** `url` (relative to the page) as the URL of a folder: with a trailing slash. */
export function packageUrl(url) {
  const resolved = new URL(url, globalThis.location?.href);
  if (!resolved.pathname.endsWith('/')) resolved.pathname += '/';
  return resolved;
}

/**
 * An Error for `what` (e.g. "the detector worker") that could not be loaded from `url`: the HTTP
 * status, or the MIME type when it is not `expected` (a substring, e.g. "javascript" or
 * "application/wasm"), or else `cause`; then the hint.
 */
export async function loadFailure(what, url, expected, cause) {
  let detail;
  try {
    const response = await fetch(url, { cache: 'no-store' });
    const type = response.headers.get('content-type') ?? 'no Content-Type';
    if (!response.ok) detail = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    else if (expected && !type.includes(expected)) detail = `it is served as ${type}, not ${expected}`;
    else detail = cause ? String(cause?.message ?? cause) : 'it was served but did not run';
  } catch (e) {
    detail = `the request failed (${e?.message ?? e})`;
  }
  return new Error(`${what} could not be loaded from ${url}: ${detail}. ${HINT}`);
}
