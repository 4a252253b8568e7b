import { createLineLogger } from '../src/line-logger';

function capture(level: string, meta: Record<string, unknown> = {}) {
  const lines: string[] = [];
  return { logger: createLineLogger(level, meta, (line) => lines.push(line)), lines };
}

describe('line logger (send workers)', () => {
  it('writes one JSON record per line with level, message, timestamp and the default fields', () => {
    const { logger, lines } = capture('info', { worker: 'send', accountId: 'a1' });
    logger.info('claimed', { rows: 3 });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ level: 'info', message: 'claimed', worker: 'send', accountId: 'a1', rows: 3, timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it('redacts secret fields, URL passwords and keeps errors readable, like the server logger', () => {
    const { logger, lines } = capture('info');
    logger.error('smtp://u:pw@host refused', { password: 'hunter2', url: 'postgres://app:s3cret@db/x', error: new TypeError('bad') });
    const text = lines.join('');
    expect(text).not.toMatch(/hunter2|s3cret|:pw@/);
    expect(JSON.parse(text)).toMatchObject({ message: 'smtp://u:[redacted]@host refused', password: '[redacted]', error: { name: 'TypeError', message: 'bad' } });
  });

  it('drops records below its level and writes nothing when silent', () => {
    const warn = capture('warn');
    warn.logger.info('not shown');
    warn.logger.debug('not shown');
    warn.logger.warn('shown');
    expect(warn.lines.map((l) => JSON.parse(l).message)).toEqual(['shown']);
    const silent = capture('silent');
    silent.logger.error('not shown');
    expect(silent.lines).toEqual([]);
  });
});
