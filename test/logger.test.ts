import { Writable } from 'node:stream';
import winston from 'winston';
import { createLogger, redactUrlPasswords } from '../src/logger';

function capture(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger('info');
  logger.clear();
  logger.add(new winston.transports.Stream({ stream: new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }) }));
  return { logger, lines };
}

describe('logger', () => {
  it('redacts fields that hold secrets and passwords inside URLs', () => {
    const { logger, lines } = capture();
    logger.info('connecting', { password: 'hunter2', refreshToken: 'tok', url: 'postgres://app:s3cret@db:5432/x', error: new Error('smtp://u:pw@host failed') });
    const text = lines.join('');
    expect(text).not.toMatch(/hunter2|"tok"|s3cret|:pw@/);
    expect(JSON.parse(text)).toMatchObject({ password: '[redacted]', refreshToken: '[redacted]', url: 'postgres://app:[redacted]@db:5432/x' });
  });

  it('keeps the message and stack of errors passed as fields', () => {
    const { logger, lines } = capture();
    logger.error('failed', { error: new TypeError('bad thing') });
    expect(JSON.parse(lines.join('')).error).toMatchObject({ name: 'TypeError', message: 'bad thing', stack: expect.stringContaining('TypeError') });
  });

  it('leaves URLs without passwords alone', () => {
    expect(redactUrlPasswords('see https://example.com/a?b=c and postgres://u@h/db')).toBe('see https://example.com/a?b=c and postgres://u@h/db');
  });
});
