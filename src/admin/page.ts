/** @internal The admin page, a single self-contained HTML document (no CDN, no external fonts). */
export function adminPage(basePath: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>runhooks admin</title></head><body><main><h1>runhooks</h1><p>API base: ${basePath}</p></main></body></html>`;
}
