import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, logFormatFrom, type LogFormat } from '../../src/shared/logger.js';

function capture(format: LogFormat) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk).trimEnd());
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', format, stream }) };
}

describe('log lines', () => {
  it('carry the syslog priority journald files them under (journal format): <3> error, <4> warn, <6> info, <7> debug', () => {
    const { lines, logger } = capture('journal');
    logger.error('e');
    logger.warn('w');
    logger.info('i');
    logger.debug('d');
    expect(lines.map((l) => l.slice(0, 3))).toEqual(['<3>', '<4>', '<6>', '<7>']);
    expect(JSON.parse(lines[0]?.slice(3) ?? '')).toMatchObject({ level: 'error', message: 'e' });
  });

  it.each(['json', 'journal', 'pretty'] as const)('keep secrets out in the %s format', (format) => {
    const { lines, logger } = capture(format);
    logger.child({ component: 'partpay' }).warn('token request failed', { clientSecret: 'hush-hush', clientId: 'demo' });
    expect(lines.join('\n')).not.toContain('hush-hush');
    expect(lines.join('\n')).toContain('demo');
  });

  it('read as one line for a person in the pretty format', () => {
    const { lines, logger } = capture('pretty');
    logger.child({ component: 'partpay' }).warn('token request failed', { clientId: 'demo', reason: 'invalid client' });
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}partpay: token request failed clientId=demo reason="invalid client"$/);
  });

  it('take their format from --log-format, else journal under systemd, pretty on a terminal, json otherwise', () => {
    expect(logFormatFrom(['--log-format', 'json'], { JOURNAL_STREAM: '8:1' }, true)).toBe('json');
    expect(logFormatFrom(['--log-format=pretty'], {}, false)).toBe('pretty');
    expect(logFormatFrom([], { JOURNAL_STREAM: '8:1' }, true)).toBe('journal');
    expect(logFormatFrom([], {}, true)).toBe('pretty');
    expect(logFormatFrom([], {}, false)).toBe('json');
    expect(() => logFormatFrom(['--log-format', 'xml'], {}, false)).toThrow(/--log-format must be one of json, journal, pretty/);
  });
});
