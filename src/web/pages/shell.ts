/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON for a `<script type="application/json">` block (never executed; `<` escaped so it cannot close the element). */
export function jsonBlock(id: string, value: unknown): string {
  return `<script type="application/json" id="${escapeHtml(id)}">${JSON.stringify(value).replace(/</g, '\\u003c')}</script>`;
}

/**
 * The HTML shell of every page: one stylesheet and one script from our own origin (the CSP
 * forbids inline code), a skip link, and a polite live region for status announcements.
 */
export function pageShell(opts: { title: string; heading: string; nav: string; body: string; script: string; extraHead?: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/terminal/assets/app.css">
${opts.extraHead ?? ''}
<script type="module" src="${escapeHtml(opts.script)}"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><span class="brand">tenderbridge</span><h1>${escapeHtml(opts.heading)}</h1><nav aria-label="Pages">${opts.nav}</nav></header>
<main id="main" tabindex="-1">
${opts.body}
</main>
</body>
</html>`;
}
