/** PostgreSQL type OIDs both SQL adapters parse themselves. */
export const INT8_OID = 20;
export const XID8_OID = 5069;

/** 64-bit integers and transaction ids stay decimal strings; the row mappers turn them into bigint. */
export const keepDecimalString = (value: string): string => value;
