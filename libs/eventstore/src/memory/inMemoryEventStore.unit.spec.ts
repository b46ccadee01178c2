import { runClosedStoreContract, runEventStoreContract } from '../contract/eventStoreContract.js';
import { createInMemoryEventStore } from './createInMemoryEventStore.js';

runEventStoreContract('in-memory', async () => {
  const store = createInMemoryEventStore();
  return { store, teardown: () => store.close() };
});

runClosedStoreContract('in-memory', async () => createInMemoryEventStore());
