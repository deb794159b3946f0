import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Which tenderbridge this is: the package version, the commit it was built from, the Node.js running it. */
export interface BuildInfo {
  version: string;
  /** The git commit of the build (from `dist/build-info.json`, written by `npm run build`); null when unknown. */
  commit: string | null;
  node: string;
}

/**
 * Reads the build's identity from the installed tree: `package.json`'s version and the commit
 * recorded at build time. Never fails: an unreadable file gives `0.0.0` or a null commit.
 * @example readBuildInfo('/opt/tenderbridge') // { version: '0.2.0', commit: '3f2a9c1…', node: 'v20.20.2' }
 */
export function readBuildInfo(appRoot: string): BuildInfo {
  const json = (file: string): Record<string, unknown> | null => {
    try {
      return JSON.parse(readFileSync(join(appRoot, file), 'utf8')) as Record<string, unknown>;
    } catch {
      return null;
    }
  };
  const pkg = json('package.json');
  const built = json(join('dist', 'build-info.json'));
  const commit = typeof built?.['commit'] === 'string' && /^[0-9a-f]{7,40}$/.test(built['commit']) ? built['commit'] : null;
  return { version: typeof pkg?.['version'] === 'string' ? pkg['version'] : '0.0.0', commit, node: process.version };
}

/** `0.2.0 (commit 3f2a9c1)`, or `0.2.0` without a known commit. */
export function describeBuild(info: BuildInfo): string {
  return info.commit ? `${info.version} (commit ${info.commit.slice(0, 7)})` : info.version;
}
