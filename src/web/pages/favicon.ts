/**
 * The favicon: a white "tb" on the console's accent blue, as SVG. Served at `/favicon.svg`
 * and at `/favicon.ico` (browsers ask for that path by themselves; they take SVG from it).
 */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b4f9c"/><text x="16" y="22" text-anchor="middle" font-family="system-ui, sans-serif" font-size="16" font-weight="700" fill="#fff">tb</text></svg>
`;
