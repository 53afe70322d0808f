import { randomUUID } from 'node:crypto';
import { NewCallbackRequest } from '../../src/store/callback-store';

/** A press-1 request as the store receives it, with the fields a test cares about overridden. */
export function callbackRequest(over: Partial<NewCallbackRequest> = {}): NewCallbackRequest {
  return {
    id: randomUUID(),
    queueId: 'support',
    customerNumber: '+15551234567',
    customerName: 'Alice',
    language: 'en',
    priority: 0,
    arrivedAt: new Date('2026-11-24T10:00:00Z'),
    maxAttempts: 3,
    sourceChannelId: 'chan-1',
    ...over,
  };
}
