import { asStoreUnavailable, isConnectionFailure, StoreUnavailableError } from './storeUnavailable.js';

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe('telling "PostgreSQL is not there" from a failed query', () => {
  it('given a refused or cut connection, a shutdown or a server starting up, when classified, then it is unavailability', () => {
    for (const error of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('connection failure', '08006'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], ''),
    ]) {
      expect(isConnectionFailure(error)).toBe(true);
      expect(asStoreUnavailable(error)).toBeInstanceOf(StoreUnavailableError);
    }
  });

  it('given a query error or a domain error, when classified, then it passes through unchanged', () => {
    for (const error of [withCode('duplicate key value violates unique constraint', '23505'), withCode('relation "x" does not exist', '42P01'), new TypeError('x is undefined'), 'text']) {
      expect(isConnectionFailure(error)).toBe(false);
      expect(asStoreUnavailable(error)).toBe(error);
    }
  });

  it('names PostgreSQL and the reason, and carries a code callers switch on', () => {
    const error = asStoreUnavailable(new AggregateError([withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')], '')) as StoreUnavailableError;
    expect(error).toMatchObject({ name: 'StoreUnavailableError', code: 'STORE_UNAVAILABLE' });
    expect(error.message).toBe('PostgreSQL is unreachable (connect ECONNREFUSED 127.0.0.1:5432)');
  });
});
