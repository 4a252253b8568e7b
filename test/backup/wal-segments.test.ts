/**
 * The WAL segment files a physical backup must carry: from the one holding its start LSN to
 * the one holding the last byte before its stop LSN, named as Postgres names them.
 */
import { parseLsn, walSegmentNames } from '../../src/backup/physical-backup';

const MB16 = 16n * 1024n * 1024n;

describe('WAL segments of a backup', () => {
  it('reads an LSN as Postgres prints it', () => {
    expect(parseLsn('0/2000028')).toBe(0x2000028n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(() => parseLsn('nonsense')).toThrow('not an LSN');
  });

  it('names the one segment of a backup that starts and stops inside it', () => {
    expect(walSegmentNames(1, parseLsn('0/2000028'), parseLsn('0/2000120'), MB16)).toEqual(['000000010000000000000002']);
  });

  it('leaves out the next segment when the stop LSN is exactly its first byte', () => {
    expect(walSegmentNames(1, parseLsn('0/2000028'), parseLsn('0/3000000'), MB16)).toEqual(['000000010000000000000002']);
  });

  it('carries over into the next log id and keeps the timeline', () => {
    expect(walSegmentNames(3, parseLsn('0/FF000100'), parseLsn('1/1000010'), MB16)).toEqual(['0000000300000000000000FF', '000000030000000100000000', '000000030000000100000001']);
  });

  it('counts segments of another size', () => {
    const mb64 = 64n * 1024n * 1024n;
    expect(walSegmentNames(1, parseLsn('0/4000000'), parseLsn('0/C000001'), mb64)).toEqual(['000000010000000000000001', '000000010000000000000002', '000000010000000000000003']);
  });
});
