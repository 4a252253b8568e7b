// mailauth 4.x ships no types for this module (lib/dmarc/get-dmarc-record.js).
declare module 'mailauth/lib/dmarc/get-dmarc-record' {
  type DmarcRecord = { rr: string; isOrgRecord: boolean; p?: string; sp?: string; adkim?: string; aspf?: string; rua?: string; pct?: number } & Record<string, unknown>;
  function getDmarcRecord(domain: string, resolver: (name: string, rrtype: string) => Promise<unknown>): Promise<DmarcRecord | false>;
  export = getDmarcRecord;
}
